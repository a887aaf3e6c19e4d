/* The .boxlite archive format (box_archive.h): libarchive for tar and zstd,
 * every decision about what a member may be taken here. */
#include "box_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "qcow2.h"

#define IO_CHUNK (256 * 1024)

static int is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static char *opt_str(json_t *o, const char *key, int *bad)
{
	json_t *v = json_object_get(o, key);
	char *s;

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || !(s = strdup(json_string_value(v)))) {
		*bad = 1;
		return NULL;
	}
	return s;
}

int bx_archive_manifest_parse(const char *text, size_t len, struct bx_archive_manifest *m, struct bx_error *err)
{
	json_error_t je;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *v;
	const char *sum;
	int bad = 0, rc = 0;

	memset(m, 0, sizeof(*m));
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return bx_err(err, -EINVAL, "the archive's manifest is not a JSON object%s%s", o ? "" : ": ",
			      o ? "" : je.text);
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		rc = bx_err(err, -EINVAL, "the archive's manifest has no format version");
		goto out;
	}
	if (json_integer_value(v) > BX_ARCHIVE_VERSION) {
		rc = bx_err(err, -ENOTSUP, "the archive's format version %lld is newer than this boxlite reads (%d): upgrade boxlite",
			    (long long)json_integer_value(v), BX_ARCHIVE_VERSION);
		goto out;
	}
	m->version = (int)json_integer_value(v);
	m->box_name = opt_str(o, "box_name", &bad);
	m->image = opt_str(o, "image", &bad);
	m->image_digest = opt_str(o, "image_digest", &bad);
	if (bad || !m->image || !m->image[0]) {
		rc = bx_err(err, -EINVAL, "the archive's manifest has a bad or missing field (image, box_name, image_digest)");
		goto out;
	}
	v = json_object_get(o, "box_options");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v)) {
			rc = bx_err(err, -EINVAL, "the archive's manifest: box_options is not an object");
			goto out;
		}
		m->box_options = json_incref(v);
	}
	v = json_object_get(o, "container_disk_checksum");
	sum = json_is_string(v) ? json_string_value(v) : "";
	if (v && !json_is_string(v) && !json_is_null(v)) {
		rc = bx_err(err, -EINVAL, "the archive's manifest: container_disk_checksum is not a string");
		goto out;
	}
	if (sum[0]) { /* "" means not checked, as in the reference */
		if (strncmp(sum, "sha256:", 7) || !is_hex64(sum + 7)) {
			rc = bx_err(err, -EINVAL, "the archive's manifest: container_disk_checksum is not sha256:<64 hex>");
			goto out;
		}
		memcpy(m->disk_sha256, sum + 7, 65);
	}
	v = json_object_get(o, "checkpoint_checksum");
	if (v && !json_is_null(v)) {
		sum = json_is_string(v) ? json_string_value(v) : "";
		if (strncmp(sum, "sha256:", 7) || !is_hex64(sum + 7)) {
			rc = bx_err(err, -EINVAL, "the archive's manifest: checkpoint_checksum is not sha256:<64 hex>");
			goto out;
		}
		memcpy(m->state_sha256, sum + 7, 65);
	}
out:
	json_decref(o);
	if (rc < 0)
		bx_archive_manifest_free(m);
	return rc;
}

void bx_archive_manifest_free(struct bx_archive_manifest *m)
{
	free(m->box_name);
	free(m->image);
	free(m->image_digest);
	json_decref(m->box_options);
	memset(m, 0, sizeof(*m));
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int bx_archive_check_disk(int fd, uint64_t *size, struct bx_error *err)
{
	unsigned char h[104];
	uint32_t version, cluster_bits;
	uint64_t incompat = 0;

	if (pread(fd, h, sizeof(h), 0) < 72 || memcmp(h, "QFI\xfb", 4))
		return bx_err(err, -EINVAL, "the archive's disk is not a qcow2 image");
	version = be32(h + 4);
	cluster_bits = be32(h + 20);
	*size = be64(h + 24);
	if (version != 2 && version != 3)
		return bx_err(err, -EINVAL, "the archive's disk is qcow2 version %u (2 or 3 expected)", version);
	if (be64(h + 8) || be32(h + 16))
		return bx_err(err, -EINVAL, "the archive's disk names a backing file: refused (a disk must be whole)");
	if (cluster_bits < 9 || cluster_bits > 21)
		return bx_err(err, -EINVAL, "the archive's disk has a bad cluster size (2^%u)", cluster_bits);
	if (*size == 0 || *size > BX_QCOW2_MAX_SIZE)
		return bx_err(err, -EINVAL, "the archive's disk has a virtual size out of range");
	if (be32(h + 32))
		return bx_err(err, -ENOTSUP, "the archive's disk is encrypted");
	if (version == 3) {
		incompat = be64(h + 72);
		if (incompat & 2)
			return bx_err(err, -EINVAL, "the archive's disk is marked corrupt");
		if (incompat & 4)
			return bx_err(err, -EINVAL, "the archive's disk keeps its data in another file: refused");
		if (incompat & ~(uint64_t)0x1b)
			return bx_err(err, -ENOTSUP, "the archive's disk uses a qcow2 feature this boxlite does not know");
	}
	return 0;
}

struct archive *bx_archive_reader_new(void)
{
	struct archive *a = archive_read_new();

	if (a && (archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
		  archive_read_support_filter_none(a) != ARCHIVE_OK || archive_read_support_format_tar(a) != ARCHIVE_OK)) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Member names as tar writers spell them: "name" or "./name". */
static const char *member_name(struct archive_entry *ent)
{
	const char *n = archive_entry_pathname(ent);
	if (!n)
		return "";
	return !strncmp(n, "./", 2) ? n + 2 : n;
}

static int all_zero(const unsigned char *p, size_t n)
{
	return n && p[0] == 0 && !memcmp(p, p + 1, n - 1);
}

/* Copies the current member into fd (holes where it is zero) and hashes it. */
static int read_member(struct archive *a, int fd, int64_t size, unsigned char md[32], struct bx_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(IO_CHUNK);
	int64_t total = 0;
	unsigned int mdlen = 0;
	int rc = 0;

	if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = bx_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, IO_CHUNK);
		if (n == 0)
			break;
		if (n < 0) {
			rc = bx_err(err, -EINVAL, "the archive is damaged or cut short: %s", archive_error_string(a));
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if (all_zero(buf, (size_t)n)) {
			if (lseek(fd, n, SEEK_CUR) < 0) {
				rc = bx_err_sys(err, -errno, "writing the member");
				goto out;
			}
		} else {
			for (la_ssize_t off = 0; off < n;) {
				ssize_t w = write(fd, buf + off, (size_t)(n - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					rc = bx_err_sys(err, w < 0 ? -errno : -EIO, "writing the disk");
					goto out;
				}
				off += w;
			}
		}
		total += n;
	}
	if (total != size) {
		rc = bx_err(err, -EINVAL, "the archive is cut short: a member has %lld of %lld bytes", (long long)total,
			    (long long)size);
		goto out;
	}
	if (ftruncate(fd, total) < 0) {
		rc = bx_err_sys(err, -errno, "writing the disk");
		goto out;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

static int read_manifest(struct archive *a, int64_t size, struct bx_archive_manifest *m, struct bx_error *err)
{
	char *text;
	int64_t got = 0;
	int rc;

	if (size > BX_ARCHIVE_MANIFEST_MAX)
		return bx_err(err, -EINVAL, "the archive's manifest is over %d bytes", BX_ARCHIVE_MANIFEST_MAX);
	if (!(text = malloc((size_t)size + 1)))
		return bx_err(err, -ENOMEM, "out of memory");
	while (got < size) {
		la_ssize_t n = archive_read_data(a, text + got, (size_t)(size - got));
		if (n <= 0) {
			free(text);
			return bx_err(err, -EINVAL, "the archive is damaged or cut short in its manifest%s%s",
				      n < 0 ? ": " : "", n < 0 ? archive_error_string(a) : "");
		}
		got += n;
	}
	rc = bx_archive_manifest_parse(text, (size_t)size, m, err);
	free(text);
	return rc;
}

static int hex_is(const unsigned char md[32], const char *want)
{
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return !strcmp(hex, want);
}

/* A member written under dirfd by its fixed name (never overwritten). */
static int read_file_member(struct archive *a, int dirfd, const char *name, int64_t size, int *fd,
			    unsigned char md[32], struct bx_error *err)
{
	if ((*fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return bx_err_sys(err, -errno, "creating the imported %s", name);
	return read_member(a, *fd, size, md, err);
}

int bx_archive_read(struct archive *a, int dirfd, struct bx_archive_manifest *m, struct bx_error *err)
{
	unsigned char md[32], smd[32];
	int have_manifest = 0, have_disk = 0, have_state = 0, fd = -1, sfd = -1, rc = 0, r;
	struct archive_entry *ent;
	uint64_t size;

	memset(m, 0, sizeof(*m));
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = member_name(ent);
		int64_t esize = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : -1;

		if (archive_entry_filetype(ent) == AE_IFDIR && (!name[0] || !strcmp(name, ".")))
			continue; /* "./" of an archive made with tar -C DIR . */
		if (archive_entry_filetype(ent) != AE_IFREG || esize < 0) {
			rc = bx_err(err, -EINVAL, "the archive holds \"%.200s\", which is not a regular file: refused", name);
			goto fail;
		}
		if (!strcmp(name, BX_ARCHIVE_MANIFEST) && !have_manifest) {
			have_manifest = 1;
			if ((rc = read_manifest(a, esize, m, err)) < 0)
				goto fail;
		} else if (!strcmp(name, BX_ARCHIVE_DISK) && !have_disk) {
			have_disk = 1;
			if ((rc = read_file_member(a, dirfd, BX_ARCHIVE_DISK, esize, &fd, md, err)) < 0)
				goto fail;
		} else if (!strcmp(name, BX_ARCHIVE_STATE) && !have_state) {
			have_state = 1;
			if ((rc = read_file_member(a, dirfd, BX_ARCHIVE_STATE, esize, &sfd, smd, err)) < 0)
				goto fail;
		} else if (!strcmp(name, "guest-rootfs.qcow2")) {
			continue; /* the reference's own guest rootfs: ours is built in */
		} else {
			rc = bx_err(err, -EINVAL, "the archive holds an unexpected member \"%.200s\": refused", name);
			goto fail;
		}
	}
	if (r != ARCHIVE_EOF) {
		rc = bx_err(err, -EINVAL, "the archive is damaged or cut short: %s",
			    archive_error_string(a) ? archive_error_string(a) : "unreadable");
		goto fail;
	}
	if (!have_manifest || !have_disk) {
		rc = bx_err(err, -EINVAL, "the archive has no %s: not a .boxlite archive", have_manifest ? BX_ARCHIVE_DISK : BX_ARCHIVE_MANIFEST);
		goto fail;
	}
	if (m->disk_sha256[0] && !hex_is(md, m->disk_sha256)) {
		rc = bx_err(err, -EINVAL, "the archive's disk does not match its checksum (tampered or damaged)");
		goto fail;
	}
	/* A checkpoint is QEMU's to parse: only one the manifest vouches for. */
	if (have_state && (!m->state_sha256[0] || !hex_is(smd, m->state_sha256))) {
		rc = bx_err(err, -EINVAL, "the archive's checkpoint does not match its checksum (tampered or damaged)");
		goto fail;
	}
	if ((rc = bx_archive_check_disk(fd, &size, err)) < 0)
		goto fail;
	m->has_state = have_state;
	close(fd);
	if (sfd >= 0)
		close(sfd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (sfd >= 0)
		close(sfd);
	if (have_disk)
		unlinkat(dirfd, BX_ARCHIVE_DISK, 0);
	if (have_state)
		unlinkat(dirfd, BX_ARCHIVE_STATE, 0);
	bx_archive_manifest_free(m);
	return rc;
}

static int member_header(struct archive *a, const char *name, int64_t size, struct bx_error *err)
{
	struct archive_entry *ent = archive_entry_new();
	int rc = 0;

	if (!ent)
		return bx_err(err, -ENOMEM, "out of memory");
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, size);
	archive_entry_set_mtime(ent, time(NULL), 0);
	if (archive_write_header(a, ent) != ARCHIVE_OK)
		rc = bx_err(err, -EIO, "writing the archive: %s", archive_error_string(a));
	archive_entry_free(ent);
	return rc;
}

/* A file member, hashed as it is written (one read of the file). */
static int write_file(struct archive *a, const char *name, const char *path, char hex[65], struct bx_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(IO_CHUNK), md[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned int mdlen;
	struct stat st;
	int64_t size;
	int rc;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = bx_err_sys(err, -errno, "%s", path);
		goto out;
	}
	size = st.st_size;
	if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = bx_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = member_header(a, name, size, err)) < 0)
		goto out;
	for (int64_t done = 0; done < size;) {
		ssize_t n = read(fd, buf, IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = bx_err(err, n < 0 ? -errno : -EIO, "reading %s: %s", path, n < 0 ? strerror(errno) : "it shrank");
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if (archive_write_data(a, buf, (size_t)n) != n) {
			rc = bx_err(err, -EIO, "writing the archive: %s", archive_error_string(a));
			goto out;
		}
		done += n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

int bx_archive_write(int fd, const char *disk_path, const char *state_path,
		     char *(*manifest)(void *ud, const char *disk_sha256, const char *state_sha256), void *ud,
		     struct bx_error *err)
{
	struct archive *a = archive_write_new();
	char sum[65], ssum[65], *text = NULL;
	int rc;

	if (!a)
		return bx_err(err, -ENOMEM, "out of memory");
	/* zstd level 3 and pax headers, as the reference writes them; 1 MiB
	 * writes (libarchive's default 10 KiB: 25 k syscalls a GiB), no
	 * padding after the end. */
	if (archive_write_set_bytes_per_block(a, 1 << 20) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK || archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, NULL, "compression-level", "3") != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		rc = bx_err(err, -EIO, "starting the archive: %s", archive_error_string(a));
		goto out;
	}
	if ((rc = write_file(a, BX_ARCHIVE_DISK, disk_path, sum, err)) < 0 ||
	    (state_path && (rc = write_file(a, BX_ARCHIVE_STATE, state_path, ssum, err)) < 0))
		goto out;
	if (!(text = manifest(ud, sum, state_path ? ssum : NULL))) {
		rc = bx_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = member_header(a, BX_ARCHIVE_MANIFEST, (int64_t)strlen(text), err)) < 0)
		goto out;
	if (archive_write_data(a, text, strlen(text)) != (la_ssize_t)strlen(text) || archive_write_close(a) != ARCHIVE_OK)
		rc = bx_err(err, -EIO, "writing the archive: %s", archive_error_string(a));
out:
	free(text);
	archive_write_free(a);
	return rc;
}
