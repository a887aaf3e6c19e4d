/* A fresh qcow2 v3 overlay, written directly (QEMU's docs/interop/qcow2.txt).
 *
 * Layout, in 64 KiB clusters:
 *   0  header (104 bytes), header extensions (backing file format, end),
 *      backing file name
 *   1  refcount table: one entry, the refcount block below
 *   2  refcount block: 16-bit refcounts, 1 for clusters 0..2+L1
 *   3  L1 table (as many clusters as it needs; all zero: nothing allocated,
 *      every read goes to the backing file)
 * Everything after the header cluster's contents and the two refcount
 * entries is zero, so the file is written sparse. */
#include "qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

#define QCOW2_VERSION 3u
#define QCOW2_HEADER_LEN 104u
#define QCOW2_EXT_BACKING_FMT 0xe2792acau
#define QCOW2_EXT_END 0u
#define QCOW2_REFCOUNT_ORDER 4u /* 16-bit refcounts */
#define QCOW2_BACKING_FMT_MAX 16u

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int write_all_at(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int bx_qcow2_create_overlay(const char *path, const char *backing, const char *backing_fmt, uint64_t size,
			    struct bx_error *err)
{
	const uint64_t cluster = 1ull << BX_QCOW2_CLUSTER_BITS;
	const uint64_t l2_entries = cluster / 8;
	size_t name_len = strlen(backing), fmt_len = strlen(backing_fmt), ext_len;
	uint64_t l1_entries, l1_clusters, n_clusters, name_off;
	_cleanup_free_ uint8_t *head = NULL;
	uint8_t entry[8], *p;
	int fd, rc;

	if (!name_len || name_len > BX_QCOW2_BACKING_NAME_MAX)
		return bx_err(err, -ENAMETOOLONG, "qcow2: backing file name of %zu bytes (1..%u)", name_len,
			      BX_QCOW2_BACKING_NAME_MAX);
	if (!fmt_len || fmt_len > QCOW2_BACKING_FMT_MAX)
		return bx_err(err, -EINVAL, "qcow2: bad backing file format '%s'", backing_fmt);
	if (size == 0 || size > BX_QCOW2_MAX_SIZE)
		return bx_err(err, -EINVAL, "qcow2: virtual size %llu out of range (1..%llu bytes)",
			      (unsigned long long)size, (unsigned long long)BX_QCOW2_MAX_SIZE);
	size = (size + 511) & ~511ull;
	/* One L1 entry per L2 table; one L2 table maps l2_entries clusters. */
	l1_entries = (size + cluster * l2_entries - 1) / (cluster * l2_entries);
	l1_clusters = (l1_entries * 8 + cluster - 1) / cluster;
	n_clusters = 3 + l1_clusters;
	/* One refcount block (cluster / 2 entries) covers every cluster here. */
	if (n_clusters > cluster / 2)
		return bx_err(err, -EINVAL, "qcow2: virtual size too large");

	/* The header cluster: header, extensions, then the backing file name. */
	ext_len = 8 + ((fmt_len + 7) & ~(size_t)7) + 8;
	name_off = QCOW2_HEADER_LEN + ext_len;
	head = calloc(1, cluster);
	if (!head)
		return bx_err(err, -ENOMEM, "out of memory");
	p = head;
	memcpy(p, "QFI\xfb", 4);
	put32(p + 4, QCOW2_VERSION);
	put64(p + 8, name_off);                  /* backing_file_offset */
	put32(p + 16, (uint32_t)name_len);       /* backing_file_size */
	put32(p + 20, BX_QCOW2_CLUSTER_BITS);
	put64(p + 24, size);
	put32(p + 32, 0);                        /* crypt_method: none */
	put32(p + 36, (uint32_t)l1_entries);     /* l1_size */
	put64(p + 40, 3 * cluster);              /* l1_table_offset */
	put64(p + 48, 1 * cluster);              /* refcount_table_offset */
	put32(p + 56, 1);                        /* refcount_table_clusters */
	put32(p + 60, 0);                        /* nb_snapshots */
	put64(p + 64, 0);                        /* snapshots_offset */
	put64(p + 72, 0);                        /* incompatible_features */
	put64(p + 80, 0);                        /* compatible_features */
	put64(p + 88, 0);                        /* autoclear_features */
	put32(p + 96, QCOW2_REFCOUNT_ORDER);
	put32(p + 100, QCOW2_HEADER_LEN);
	p += QCOW2_HEADER_LEN;
	put32(p, QCOW2_EXT_BACKING_FMT);
	put32(p + 4, (uint32_t)fmt_len);
	memcpy(p + 8, backing_fmt, fmt_len);     /* padded with zeros to 8 */
	p += 8 + ((fmt_len + 7) & ~(size_t)7);
	put32(p, QCOW2_EXT_END);
	put32(p + 4, 0);
	memcpy(head + name_off, backing, name_len);

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return bx_err_sys(err, -errno, "creating %s", path);
	rc = write_all_at(fd, head, name_off + name_len, 0);
	/* Refcount table entry 0: the refcount block in cluster 2. */
	put64(entry, 2 * cluster);
	if (rc == 0)
		rc = write_all_at(fd, entry, 8, 1 * cluster);
	/* The refcount block: the header, the two refcount clusters, the L1. */
	memset(head, 0, cluster);
	for (uint64_t i = 0; i < n_clusters; i++)
		put16(head + 2 * i, 1);
	if (rc == 0)
		rc = write_all_at(fd, head, 2 * n_clusters, 2 * cluster);
	if (rc == 0 && ftruncate(fd, (off_t)(n_clusters * cluster)) < 0)
		rc = -errno;
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		unlink(path);
		return bx_err_sys(err, rc, "writing %s", path);
	}
	return 0;
}

static uint64_t be64_at(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int bx_qcow2_read_header(const char *path, uint64_t *size, char *backing, size_t backing_size, struct bx_error *err)
{
	unsigned char h[32];
	uint64_t off;
	uint32_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return bx_err_sys(err, -errno, "%s", path);
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, "QFI\xfb", 4)) {
		rc = bx_err(err, -EINVAL, "%s is not a qcow2 image", path);
		goto out;
	}
	off = be64_at(h + 8);
	len = (uint32_t)h[16] << 24 | (uint32_t)h[17] << 16 | (uint32_t)h[18] << 8 | h[19];
	*size = be64_at(h + 24);
	if (backing_size)
		backing[0] = 0;
	if (off && len) {
		if (len >= backing_size || len > BX_QCOW2_BACKING_NAME_MAX) {
			rc = bx_err(err, -ENAMETOOLONG, "%s: backing file name too long", path);
			goto out;
		}
		if (pread(fd, backing, len, (off_t)off) != (ssize_t)len) {
			rc = bx_err(err, -EIO, "%s: reading its backing file name", path);
			goto out;
		}
		backing[len] = 0;
	}
out:
	close(fd);
	return rc;
}

int bx_qcow2_walk(const char *top, int (*visit)(void *ud, const char *file, int is_qcow2), void *ud,
		  struct bx_error *err)
{
	char cur[PATH_MAX], next[PATH_MAX];
	uint64_t size;
	int rc = bx_qcow2_read_header(top, &size, next, sizeof(next), err);

	if (rc < 0)
		return rc;
	for (int depth = 0; next[0] && depth < BX_QCOW2_MAX_CHAIN; depth++) {
		int qcow2;
		snprintf(cur, sizeof(cur), "%s", next);
		qcow2 = bx_qcow2_read_header(cur, &size, next, sizeof(next), NULL) == 0;
		if (!qcow2)
			next[0] = 0;
		if ((rc = visit(ud, cur, qcow2)) != 0)
			return rc;
	}
	return 0;
}
