/* images/refs: list and remove, with garbage collection of unshared blobs. */
#include "image_refs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "disk.h"
#include "fsutil.h"
#include "gc_lock.h"
#include "image_store.h"

int bx_image_ref_unescape(const char *name, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = name; *p; p++) {
		char c = *p;
		if (c == '%') {
			unsigned v;
			if (sscanf(p + 1, "%2X", &v) != 1 || !p[1] || !p[2])
				return -EINVAL;
			c = (char)v;
			p += 2;
		}
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		out[n++] = c;
	}
	out[n] = '\0';
	return n ? 0 : -EINVAL;
}

static int read_record(int refs_fd, const char *name, char digest[BX_DIGEST_MAX], struct stat *st)
{
	char buf[BX_DIGEST_MAX + 8];
	_cleanup_close_ int fd = openat(refs_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t k;

	if (fd < 0)
		return -errno;
	k = read(fd, buf, sizeof(buf) - 1);
	if (k < 0)
		return -errno;
	buf[k] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (bx_digest_parse(buf, NULL, NULL) < 0)
		return -EINVAL;
	if (st && fstat(fd, st) < 0)
		return -errno;
	strcpy(digest, buf);
	return 0;
}

/* Parses a stored manifest blob. */
int bx_image_stored_manifest(int blobs_fd, const char *digest, struct bx_oci_manifest *m)
{
	_cleanup_close_ int fd = openat(blobs_fd, digest + 7, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t off = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size > (off_t)BX_OCI_MANIFEST_MAX || !(buf = malloc((size_t)st.st_size + 1)))
		return -EINVAL;
	while (off < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + off, (size_t)st.st_size - off);
		if (k <= 0)
			return -EIO;
		off += (size_t)k;
	}
	buf[off] = '\0';
	return bx_oci_manifest_parse(buf, off, m, NULL);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct bx_image_ref_entry *)a)->ref, ((const struct bx_image_ref_entry *)b)->ref);
}

void bx_image_refs_free(struct bx_image_ref_entry *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].ref);
	free(e);
}

int bx_image_refs_list(const char *home, struct bx_image_ref_entry **out, size_t *n, struct bx_error *err)
{
	char path[PATH_MAX];
	_cleanup_close_ int refs_fd = -1, blobs_fd = -1;
	struct bx_image_ref_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	DIR *d;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	bx_path_fmt(path, sizeof(path), "%s/images/refs", home);
	refs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (refs_fd < 0)
		return errno == ENOENT ? 0 : bx_err_sys(err, -errno, "opening %s", path);
	bx_path_fmt(path, sizeof(path), "%s/images/blobs/sha256", home);
	blobs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fdopendir(dup(refs_fd));
	if (!d)
		return bx_err_sys(err, -errno, "reading images/refs");
	while ((de = readdir(d))) {
		struct bx_image_ref_entry e = { 0 };
		struct bx_oci_manifest m = { 0 };
		char ref[BX_IMAGE_REF_MAX + 1];
		struct stat st;

		if (de->d_name[0] == '.' || bx_image_ref_unescape(de->d_name, ref, sizeof(ref)) < 0)
			continue;
		if (read_record(refs_fd, de->d_name, e.digest, &st) < 0)
			continue;
		e.created = st.st_mtime;
		if (blobs_fd >= 0 && bx_image_stored_manifest(blobs_fd, e.digest, &m) == 0) {
			for (size_t i = 0; i < m.n_layers; i++)
				e.size += (uint64_t)m.layers[i].size;
			bx_oci_manifest_free(&m);
		}
		if (cnt == cap) {
			struct bx_image_ref_entry *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		if (!(e.ref = strdup(ref)))
			goto oom;
		v[cnt++] = e;
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_entry);
	*out = v;
	*n = cnt;
	return 0;
oom:
	closedir(d);
	bx_image_refs_free(v, cnt);
	return bx_err(err, -ENOMEM, "out of memory");
}

static int is_base(void *ud, const char *file, int is_qcow2)
{
	return !strcmp(file, ud);
}

/* Names a box whose disk (or one of its snapshots) is built on base, or
 * returns false. */
bool bx_image_base_in_use(const char *home, const char *base, char *box, size_t size)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;
	bool used = false;

	bx_path_fmt(path, sizeof(path), "%s/boxes", home);
	d = opendir(path);
	if (!d)
		return false;
	while (!used && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		bx_path_fmt(path, sizeof(path), "%s/boxes/%s", home, de->d_name);
		/* its disk, or one of its snapshots, stands on base */
		if (bx_disk_walk_box(path, is_base, (void *)base) > 0) {
			snprintf(box, size, "%s", de->d_name);
			used = true;
		}
	}
	closedir(d);
	return used;
}

int bx_image_refs_remove(const char *home, const char *ref, struct bx_error *err)
{
	int gc_fd = bx_image_gc_lock(home, 1, err), rc;

	if (gc_fd < 0)
		return gc_fd;
	rc = bx_image_refs_remove_locked(home, ref, err);
	close(gc_fd);
	return rc;
}

int bx_image_refs_remove_locked(const char *home, const char *ref, struct bx_error *err)
{
	struct bx_image_ref_entry *all = NULL;
	struct bx_oci_manifest m = { 0 }, other = { 0 };
	char escaped[NAME_MAX + 1], digest[BX_DIGEST_MAX], path[PATH_MAX], base[PATH_MAX], legacy[PATH_MAX];
	char box[NAME_MAX + 1], chain[BX_DIGEST_MAX] = "", other_chain[BX_DIGEST_MAX];
	_cleanup_close_ int refs_fd = -1, blobs_fd = -1, bases_fd = -1;
	size_t n = 0;
	bool manifest_shared = false, base_shared = false, have_manifest;
	int rc;

	rc = bx_image_ref_escape(ref, escaped, sizeof(escaped), err);
	if (rc < 0)
		return rc;
	bx_path_fmt(path, sizeof(path), "%s/images/refs", home);
	refs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bx_path_fmt(path, sizeof(path), "%s/images/blobs/sha256", home);
	blobs_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bx_path_fmt(path, sizeof(path), "%s/images/bases", home);
	bases_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (refs_fd < 0 || read_record(refs_fd, escaped, digest, NULL) < 0)
		return bx_err(err, -ENOENT, "image '%s' not found", ref);

	/* The root disk is keyed by the layer chain (older homes: by the manifest). */
	have_manifest = blobs_fd >= 0 && bx_image_stored_manifest(blobs_fd, digest, &m) == 0;
	if (have_manifest && bx_image_chain_id(&m, chain) < 0)
		return bx_err(err, -ENOMEM, "out of memory");
	{
		char cwd[PATH_MAX], root[PATH_MAX];
		if (home[0] == '/')
			bx_path_fmt(root, sizeof(root), "%s/images/bases", home);
		else
			bx_path_fmt(root, sizeof(root), "%s/%s/images/bases", getcwd(cwd, sizeof(cwd)) ? cwd : ".",
				    home);
		bx_path_fmt(legacy, sizeof(legacy), "%s/%s.ext4", root, digest + 7);
		bx_path_fmt(base, sizeof(base), "%s/%s.ext4", root, chain[0] ? chain + 7 : digest + 7);
	}
	rc = bx_image_refs_list(home, &all, &n, err);
	if (rc < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(all[i].ref, ref))
			continue;
		if (!strcmp(all[i].digest, digest)) {
			manifest_shared = base_shared = true;
		} else if (chain[0] && !base_shared && bx_image_stored_manifest(blobs_fd, all[i].digest, &other) == 0) {
			base_shared = bx_image_chain_id(&other, other_chain) == 0 && !strcmp(other_chain, chain);
			bx_oci_manifest_free(&other);
		}
	}
	if (!base_shared &&
	    (bx_image_base_in_use(home, base, box, sizeof(box)) || bx_image_base_in_use(home, legacy, box, sizeof(box)))) {
		bx_oci_manifest_free(&m);
		bx_image_refs_free(all, n);
		return bx_err(err, -EBUSY, "image '%s' is used by box %s (remove the box first)", ref, box);
	}
	if (unlinkat(refs_fd, escaped, 0) < 0) {
		rc = bx_err_sys(err, -errno, "removing images/refs/%s", escaped);
		goto done;
	}
	bx_fsync_dir(refs_fd, "images/refs", NULL);
	if (manifest_shared || !have_manifest)
		goto done;
	/* Delete this image's blobs unless another image lists them. */
	for (size_t k = 0; k < m.n_layers + 1; k++) {
		const char *dg = k < m.n_layers ? m.layers[k].digest : m.config.digest;
		bool shared = false;
		for (size_t i = 0; i < n && !shared; i++) {
			if (!strcmp(all[i].ref, ref) || bx_image_stored_manifest(blobs_fd, all[i].digest, &other) < 0)
				continue;
			shared = !strcmp(other.config.digest, dg);
			for (size_t j = 0; j < other.n_layers && !shared; j++)
				shared = !strcmp(other.layers[j].digest, dg);
			bx_oci_manifest_free(&other);
		}
		if (!shared)
			unlinkat(blobs_fd, dg + 7, 0);
	}
	unlinkat(blobs_fd, digest + 7, 0);
	if (bases_fd >= 0) {
		char name[NAME_MAX + 1];
		/* an older home's disk keyed by this manifest, unless a box uses it */
		if (!bx_image_base_in_use(home, legacy, box, sizeof(box))) {
			snprintf(name, sizeof(name), "%s.ext4", digest + 7);
			unlinkat(bases_fd, name, 0);
			snprintf(name, sizeof(name), ".%s.lock", digest + 7);
			unlinkat(bases_fd, name, 0);
		}
		if (!base_shared) {
			snprintf(name, sizeof(name), "%s.ext4", chain + 7);
			unlinkat(bases_fd, name, 0);
			snprintf(name, sizeof(name), ".%s.lock", chain + 7);
			unlinkat(bases_fd, name, 0);
		}
	}
	rc = 0;
done:
	bx_oci_manifest_free(&m);
	bx_image_refs_free(all, n);
	return rc;
}
