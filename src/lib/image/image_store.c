/* The home's image store: verified blobs, refs, and one ext4 base per image. */
#include "image_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "gc_lock.h"

/* Open handles on the store's directories for one operation. */
struct store {
	char images[PATH_MAX]; /* <home>/images */
	int images_fd, blobs_fd, refs_fd, bases_fd, tmp_fd;
	/* This operation's work dir under images/tmp (locked while open). */
	char work[PATH_MAX];
	char work_name[NAME_MAX + 1];
	int work_fd;
};

static void store_close(struct store *s)
{
	if (s->work_fd >= 0) {
		bx_rm_rf_at(s->tmp_fd, s->work_name, NULL);
		close(s->work_fd); /* drops the flock */
	}
	if (s->images_fd >= 0)
		close(s->images_fd);
	if (s->blobs_fd >= 0)
		close(s->blobs_fd);
	if (s->refs_fd >= 0)
		close(s->refs_fd);
	if (s->bases_fd >= 0)
		close(s->bases_fd);
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	s->images_fd = s->blobs_fd = s->refs_fd = s->bases_fd = s->tmp_fd = s->work_fd = -1;
}

static int open_dir(int at, const char *name, const char *what, struct bx_error *err)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return bx_err_sys(err, -errno, "opening %s", what);
	return fd;
}

/* Opens (creating when create is set) <home>/images and its subdirectories. */
static int store_open(struct store *s, const char *home, bool create, struct bx_error *err)
{
	static const char *const subdirs[] = { "blobs/sha256", "refs", "bases", "tmp" };
	char path[PATH_MAX];
	size_t i;
	int r;

	s->images_fd = s->blobs_fd = s->refs_fd = s->bases_fd = s->tmp_fd = s->work_fd = -1;
	if (!home || !*home)
		return bx_err(err, -EINVAL, "no boxlite home");
	/* Absolute, so base paths stay valid for processes with another cwd (the shim). */
	if (home[0] == '/') {
		r = bx_path_fmt(s->images, sizeof(s->images) - 200, "%s/images", home);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return bx_err_sys(err, -errno, "resolving home %s", home);
		r = bx_path_fmt(s->images, sizeof(s->images) - 200, "%s/%s/images", cwd, home);
	}
	if (r < 0)
		return bx_err(err, -ENAMETOOLONG, "home path too long: %s", home);
	if (create) {
		/* The home itself is private; what is under images/ is world-readable. */
		r = bx_mkdir_p(home, 0700, err);
		if (r < 0)
			return r;
		for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
			bx_path_fmt(path, sizeof(path), "%s/%s", s->images, subdirs[i]);
			r = bx_mkdir_p(path, 0755, err);
			if (r < 0)
				return r;
		}
	}
	s->images_fd = open(s->images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->images_fd < 0)
		return errno == ENOENT && !create ? -ENOENT : bx_err_sys(err, -errno, "opening %s", s->images);
	if ((s->blobs_fd = open_dir(s->images_fd, "blobs/sha256", "images/blobs/sha256", err)) < 0)
		return s->blobs_fd;
	if ((s->refs_fd = open_dir(s->images_fd, "refs", "images/refs", err)) < 0)
		return s->refs_fd;
	if ((s->bases_fd = open_dir(s->images_fd, "bases", "images/bases", err)) < 0)
		return s->bases_fd;
	if ((s->tmp_fd = open_dir(s->images_fd, "tmp", "images/tmp", err)) < 0)
		return s->tmp_fd;
	return 0;
}

/* Removes work dirs of imports that died (their flock is free). */
static void sweep_stale_work_dirs(struct store *s)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(s->tmp_fd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		int wfd;

		if (de->d_name[0] == '.')
			continue; /* ".", "..", and dirs not yet locked by their creator */
		wfd = openat(s->tmp_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (wfd < 0)
			continue;
		if (flock(wfd, LOCK_EX | LOCK_NB) == 0)
			bx_rm_rf_at(s->tmp_fd, de->d_name, NULL);
		close(wfd);
	}
	closedir(d);
}

/* Creates this operation's work dir, locked before it becomes visible to sweepers. */
static int store_make_work_dir(struct store *s, struct bx_error *err)
{
	char tmpl[PATH_MAX];
	char *made;
	const char *base;

	sweep_stale_work_dirs(s);
	bx_path_fmt(tmpl, sizeof(tmpl), "%s/tmp/.new.XXXXXX", s->images);
	made = mkdtemp(tmpl);
	if (!made)
		return bx_err_sys(err, -errno, "creating a work dir in %s/tmp", s->images);
	base = strrchr(made, '/') + 1;
	s->work_fd = openat(s->tmp_fd, base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->work_fd < 0 || flock(s->work_fd, LOCK_EX) < 0) {
		int r = -errno;
		unlinkat(s->tmp_fd, base, AT_REMOVEDIR);
		return bx_err_sys(err, r, "locking %s", made);
	}
	snprintf(s->work_name, sizeof(s->work_name), "import%s", base + 4); /* ".new.XXXXXX" -> "import.XXXXXX" */
	if (renameat(s->tmp_fd, base, s->tmp_fd, s->work_name) < 0) {
		int r = -errno;
		unlinkat(s->tmp_fd, base, AT_REMOVEDIR);
		close(s->work_fd);
		s->work_fd = -1;
		return bx_err_sys(err, r, "creating a work dir in %s/tmp", s->images);
	}
	bx_path_fmt(s->work, sizeof(s->work), "%s/tmp/%s", s->images, s->work_name);
	return 0;
}

int bx_image_ref_escape(const char *ref, char *out, size_t out_size, struct bx_error *err)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0, i;

	if (!ref || !*ref)
		return bx_err(err, -EINVAL, "empty image reference");
	if (strlen(ref) > BX_IMAGE_REF_MAX)
		return bx_err(err, -EINVAL, "image reference too long (over %d bytes)", BX_IMAGE_REF_MAX);
	for (i = 0; ref[i]; i++) {
		unsigned char c = (unsigned char)ref[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			    c == '-' || (c == '.' && i > 0);

		if (c <= 0x20 || c >= 0x7f)
			return bx_err(err, -EINVAL, "image reference '%.100s' has a non-printable byte", ref);
		if (n + (keep ? 1 : 3) + 1 > out_size || n + (keep ? 1 : 3) > NAME_MAX)
			return bx_err(err, -ENAMETOOLONG, "image reference '%.100s' is too long", ref);
		if (keep) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return 0;
}

void bx_image_free(struct bx_image *img)
{
	if (!img)
		return;
	free(img->base_path);
	bx_oci_strv_free(img->env);
	bx_oci_strv_free(img->entrypoint);
	bx_oci_strv_free(img->cmd);
	free(img->workdir);
	free(img->user);
	memset(img, 0, sizeof(*img));
}

int bx_image_chain_id(const struct bx_oci_manifest *m, char out[BX_DIGEST_MAX])
{
	/* "boxlite-base-v1\n" then each layer digest and "\n", in order; the
	 * version string changes whenever the disk builder's output would. */
	size_t len = 16 + m->n_layers * (BX_DIGEST_MAX + 1), off;
	_cleanup_free_ char *buf = malloc(len);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, "boxlite-base-v1\n", 16);
	off = 16;
	for (size_t i = 0; i < m->n_layers; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s\n", m->layers[i].digest);
	bx_sha256_digest(buf, off, out);
	return 0;
}

/* Moves the config's runtime fields and the base path into out. */
static int fill_image(struct store *s, const char *manifest_digest, const char *chain, struct bx_oci_config *cfg,
		      struct bx_image *out, struct bx_error *err)
{
	struct bx_image img = { 0 };

	strcpy(img.digest, manifest_digest);
	if (asprintf(&img.base_path, "%s/bases/%s.ext4", s->images, chain + 7) < 0)
		return bx_err(err, -ENOMEM, "out of memory");
	img.env = TAKE_PTR(cfg->env);
	img.entrypoint = TAKE_PTR(cfg->entrypoint);
	img.cmd = TAKE_PTR(cfg->cmd);
	img.workdir = TAKE_PTR(cfg->workdir);
	img.user = TAKE_PTR(cfg->user);
	*out = img;
	return 0;
}

/* Writes an in-memory blob (already verified) into the work dir as <hex>. */
static int stage_bytes(struct store *s, const char *digest, const char *data, size_t len, struct bx_error *err)
{
	char hex[BX_DIGEST_HEX_LEN + 1];
	_cleanup_close_ int fd = -1;
	size_t off = 0;
	int r;

	r = bx_digest_parse(digest, hex, err);
	if (r < 0)
		return r;
	if (faccessat(s->blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	fd = openat(s->work_fd, hex, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return bx_err_sys(err, -errno, "staging blob %s", digest);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bx_err_sys(err, -errno, "staging blob %s", digest);
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		return bx_err_sys(err, -errno, "staging blob %s", digest);
	return 0;
}

/* Copies a layer blob from the layout into the work dir, verifying it. */
static int stage_layer(struct store *s, int layout_fd, const char *layout_dir, const struct bx_oci_descriptor *d,
		       struct bx_error *err)
{
	char hex[BX_DIGEST_HEX_LEN + 1];
	_cleanup_close_ int src = -1, dst = -1;
	int r;

	r = bx_digest_parse(d->digest, hex, err);
	if (r < 0)
		return r;
	if (faccessat(s->blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
	    faccessat(s->work_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0; /* stored earlier (verified then), or listed twice */
	src = bx_oci_blob_open(layout_fd, layout_dir, d, err);
	if (src < 0)
		return src;
	dst = openat(s->work_fd, hex, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (dst < 0)
		return bx_err_sys(err, -errno, "staging blob %s", d->digest);
	r = bx_oci_blob_copy_verified(src, dst, d, layout_dir, err);
	if (r < 0)
		return r;
	if (fsync(dst) < 0)
		return bx_err_sys(err, -errno, "staging blob %s", d->digest);
	return 0;
}

/* Moves every staged blob (work dir entries named by 64 hex digits) into blobs/. */
static int commit_staged(struct store *s, struct bx_error *err)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(s->work_fd), r = 0;
	bool moved = false;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return bx_err_sys(err, -errno, "reading %s", s->work);
	}
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != BX_DIGEST_HEX_LEN ||
		    strspn(de->d_name, "0123456789abcdef") != BX_DIGEST_HEX_LEN)
			continue;
		if (renameat(s->work_fd, de->d_name, s->blobs_fd, de->d_name) < 0) {
			r = bx_err_sys(err, -errno, "storing blob sha256:%s", de->d_name);
			break;
		}
		moved = true;
	}
	closedir(d);
	if (r == 0 && moved)
		r = bx_fsync_dir(s->blobs_fd, "images/blobs/sha256", err);
	return r;
}

/* Builds bases/<chain hex>.ext4 from the stored layers unless it exists;
 * one builder at a time per base (others wait, then find it built). A base
 * an older home keyed by the manifest digest is adopted by a hard link. */
static int ensure_base(struct store *s, const char *manifest_digest, const char *chain,
		       const struct bx_oci_manifest *m, unsigned flags, struct bx_rootfs_stats *stats,
		       struct bx_error *err)
{
	const char *hex = chain + 7;
	char base_name[NAME_MAX + 1], lock_name[NAME_MAX + 1], tmp_path[PATH_MAX], legacy[NAME_MAX + 1];
	_cleanup_free_ char **layers = NULL;
	_cleanup_free_ char *paths = NULL;
	_cleanup_close_ int lock_fd = -1, img_fd = -1;
	size_t i;
	int r;

	snprintf(base_name, sizeof(base_name), "%s.ext4", hex);
	snprintf(lock_name, sizeof(lock_name), ".%s.lock", hex);
	if (faccessat(s->bases_fd, base_name, F_OK, 0) == 0)
		return 0;
	lock_fd = openat(s->bases_fd, lock_name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lock_fd < 0)
		return bx_err_sys(err, -errno, "creating images/bases/%s", lock_name);
	while (flock(lock_fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return bx_err_sys(err, -errno, "locking images/bases/%s", lock_name);
	}
	if (faccessat(s->bases_fd, base_name, F_OK, 0) == 0)
		return 0; /* a concurrent import built it */
	snprintf(legacy, sizeof(legacy), "%s.ext4", manifest_digest + 7);
	if (linkat(s->bases_fd, legacy, s->bases_fd, base_name, 0) == 0)
		return bx_fsync_dir(s->bases_fd, "images/bases", err);

	layers = calloc(m->n_layers + 1, sizeof(*layers));
	paths = malloc((m->n_layers + 1) * PATH_MAX);
	if (!layers || !paths)
		return bx_err(err, -ENOMEM, "out of memory");
	for (i = 0; i < m->n_layers; i++) {
		layers[i] = paths + i * PATH_MAX;
		bx_path_fmt(layers[i], PATH_MAX, "%s/blobs/sha256/%s", s->images, m->layers[i].digest + 7);
		if (faccessat(s->blobs_fd, m->layers[i].digest + 7, R_OK, 0) < 0)
			return bx_err_sys(err, -errno, "image %s: layer blob %s is missing from the store",
					  manifest_digest, m->layers[i].digest);
	}
	bx_path_fmt(tmp_path, sizeof(tmp_path), "%s/base.ext4", s->work);
	r = bx_rootfs_build_ext4((const char *const *)layers, m->n_layers, s->work, tmp_path, flags, stats, err);
	if (r < 0)
		return bx_err_wrap(err, r, "building the root disk of %s", manifest_digest);
	img_fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
	if (img_fd < 0 || fsync(img_fd) < 0 || fchmod(img_fd, 0444) < 0)
		return bx_err_sys(err, -errno, "syncing %s", tmp_path);
	if (renameat(s->work_fd, "base.ext4", s->bases_fd, base_name) < 0)
		return bx_err_sys(err, -errno, "storing images/bases/%s", base_name);
	return bx_fsync_dir(s->bases_fd, "images/bases", err);
}

int bx_image_import_layout_ex(const char *home, const char *layout_dir, const char *tag, const char *ref,
			      unsigned flags, struct bx_image *out, struct bx_rootfs_stats *stats,
			      struct bx_error *err)
{
	struct store s;
	struct bx_oci_image img = { 0 };
	char escaped[NAME_MAX + 1], record[BX_DIGEST_MAX + 1], chain[BX_DIGEST_MAX];
	_cleanup_close_ int layout_fd = -1, gc_fd = -1;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if (stats)
		memset(stats, 0, sizeof(*stats));
	r = bx_image_ref_escape(ref, escaped, sizeof(escaped), err);
	if (r < 0)
		return r;
	r = store_open(&s, home, true, err);
	if (r < 0)
		goto out;
	r = gc_fd = bx_image_gc_lock(home, 0, err);
	if (r < 0)
		goto out;
	r = bx_oci_layout_open_image(layout_dir, tag, &img, err);
	if (r < 0)
		goto out;
	layout_fd = open(layout_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (layout_fd < 0) {
		r = bx_err_sys(err, -errno, "opening %s", layout_dir);
		goto out;
	}
	if (bx_image_chain_id(&img.manifest, chain) < 0) {
		r = bx_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = store_make_work_dir(&s, err);
	if (r < 0)
		goto out;

	/* Stage and verify everything first, so a bad blob leaves nothing in blobs/. */
	if (img.index_json)
		r = stage_bytes(&s, img.index_digest, img.index_json, img.index_len, err);
	if (r >= 0)
		r = stage_bytes(&s, img.manifest_digest, img.manifest_json, img.manifest_len, err);
	if (r >= 0)
		r = stage_bytes(&s, img.manifest.config.digest, img.config_json, img.config_len, err);
	for (i = 0; r >= 0 && i < img.manifest.n_layers; i++)
		r = stage_layer(&s, layout_fd, layout_dir, &img.manifest.layers[i], err);
	if (r >= 0)
		r = commit_staged(&s, err);
	if (r >= 0)
		r = ensure_base(&s, img.manifest_digest, chain, &img.manifest, flags, stats, err);
	if (r < 0)
		goto out;
	snprintf(record, sizeof(record), "%s\n", img.manifest_digest);
	r = bx_write_file_atomic(s.refs_fd, escaped, record, strlen(record), 0644, err);
	if (r >= 0)
		r = fill_image(&s, img.manifest_digest, chain, &img.config, out, err);
out:
	if (r < 0)
		bx_err_wrap(err, r, "importing %s from %s", ref, layout_dir);
	bx_oci_image_free(&img);
	store_close(&s);
	return r;
}

int bx_image_import_layout(const char *home, const char *layout_dir, const char *tag, const char *ref,
			   struct bx_image *out, struct bx_error *err)
{
	return bx_image_import_layout_ex(home, layout_dir, tag, ref, 0, out, NULL, err);
}

/* Reads a stored blob, re-verifying its digest. */
static int read_stored_blob(struct store *s, const char *digest, size_t max, char **data, size_t *len,
			    struct bx_error *err)
{
	struct bx_oci_descriptor d = { 0 };
	struct stat st;

	snprintf(d.digest, sizeof(d.digest), "%s", digest);
	if (fstatat(s->blobs_fd, digest + 7, &st, 0) < 0)
		return bx_err_sys(err, -errno, "image store: blob %s", digest);
	d.size = st.st_size;
	return bx_oci_blob_read(s->images_fd, s->images, &d, max, data, len, err);
}

int bx_image_lookup(const char *home, const char *ref, struct bx_image *out, struct bx_error *err)
{
	struct store s;
	struct bx_oci_manifest m = { 0 };
	struct bx_oci_config cfg = { 0 };
	_cleanup_free_ char *manifest = NULL, *config = NULL;
	char escaped[NAME_MAX + 1], record[BX_DIGEST_MAX + 8], base_name[NAME_MAX + 1], chain[BX_DIGEST_MAX];
	_cleanup_close_ int fd = -1, gc_fd = -1;
	size_t mlen, clen;
	ssize_t n;
	int r;

	memset(out, 0, sizeof(*out));
	r = bx_image_ref_escape(ref, escaped, sizeof(escaped), err);
	if (r < 0)
		return r;
	r = store_open(&s, home, false, err);
	if (r == -ENOENT) {
		r = bx_err(err, -ENOENT, "image '%s' not found", ref);
		goto out;
	}
	if (r < 0)
		goto out;
	fd = openat(s.refs_fd, escaped, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = errno == ENOENT ? bx_err(err, -ENOENT, "image '%s' not found", ref)
				    : bx_err_sys(err, -errno, "reading images/refs/%s", escaped);
		goto out;
	}
	n = read(fd, record, sizeof(record) - 1);
	if (n < 0) {
		r = bx_err_sys(err, -errno, "reading images/refs/%s", escaped);
		goto out;
	}
	record[n] = '\0';
	record[strcspn(record, "\n")] = '\0';
	r = bx_digest_parse(record, NULL, err);
	if (r < 0) {
		bx_err_wrap(err, r, "images/refs/%s", escaped);
		goto out;
	}
	r = read_stored_blob(&s, record, BX_OCI_MANIFEST_MAX, &manifest, &mlen, err);
	if (r >= 0)
		r = bx_oci_manifest_parse(manifest, mlen, &m, err);
	if (r >= 0)
		r = read_stored_blob(&s, m.config.digest, BX_OCI_CONFIG_MAX, &config, &clen, err);
	if (r >= 0)
		r = bx_oci_config_parse(config, clen, &cfg, err);
	if (r >= 0 && bx_image_chain_id(&m, chain) < 0)
		r = bx_err(err, -ENOMEM, "out of memory");
	if (r < 0)
		goto out;
	snprintf(base_name, sizeof(base_name), "%s.ext4", chain + 7);
	if (faccessat(s.bases_fd, base_name, F_OK, 0) < 0) {
		r = gc_fd = bx_image_gc_lock(home, 0, err);
		if (r >= 0)
			r = store_make_work_dir(&s, err);
		if (r >= 0)
			r = ensure_base(&s, record, chain, &m, 0, NULL, err);
		if (r < 0)
			goto out;
	}
	r = fill_image(&s, record, chain, &cfg, out, err);
out:
	if (r < 0 && r != -ENOENT)
		bx_err_wrap(err, r, "image '%s'", ref);
	bx_oci_manifest_free(&m);
	bx_oci_config_free(&cfg);
	store_close(&s);
	return r;
}
