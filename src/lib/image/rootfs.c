/* Layers → directory tree → ext4 image (mke2fs -d, debugfs fix-ups when rootless). */
#include "rootfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "scratch.h"
#include "tar_path.h"

#define SYMLINK_HOPS_MAX 40
#define READ_BLOCK (128 * 1024)
#define BLOCK 4096ull
#define MIB (1024ull * 1024ull)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- recorded metadata (rootless) ---- */

struct xattr_rec {
	char *name;
	void *value;
	size_t size;
};

struct meta_rec {
	char *path; /* resolved, relative to the tree root */
	uid_t uid;
	gid_t gid;
	mode_t mode; /* with the file type bits */
	dev_t rdev;
	int64_t mtime; /* devices only (others keep theirs through mke2fs) */
	bool device;   /* not on disk: debugfs creates it */
	bool dead;   /* removed by a later whiteout or replacement */
	struct xattr_rec *xattrs;
	size_t n_xattrs;
};

struct bx_rootfs_meta {
	bool rootless;
	bool have_root; /* the layers carried an entry for "/" */
	mode_t root_mode;
	uid_t root_uid;
	gid_t root_gid;
	struct meta_rec *v;
	size_t n, cap;
	size_t *slots; /* open addressing: record index + 1, 0 = empty */
	size_t n_slots;
};

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* Slot holding path's newest record, or the empty slot where it would go. */
static size_t meta_slot(const struct bx_rootfs_meta *m, const char *path)
{
	size_t i;

	for (i = hash_path(path) & (m->n_slots - 1); m->slots[i]; i = (i + 1) & (m->n_slots - 1)) {
		if (!strcmp(m->v[m->slots[i] - 1].path, path))
			break;
	}
	return i;
}

/* Newest record for path, or NULL. */
static struct meta_rec *meta_find(const struct bx_rootfs_meta *m, const char *path)
{
	size_t i;

	if (!m || !m->n_slots)
		return NULL;
	i = meta_slot(m, path);
	return m->slots[i] ? &m->v[m->slots[i] - 1] : NULL;
}

static void xattrs_free(struct xattr_rec *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(x[i].name);
		free(x[i].value);
	}
	free(x);
}

void bx_rootfs_meta_free(struct bx_rootfs_meta *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->v[i].path);
		xattrs_free(m->v[i].xattrs, m->v[i].n_xattrs);
	}
	free(m->v);
	free(m->slots);
	free(m);
}

static int meta_grow(struct bx_rootfs_meta *m)
{
	size_t i;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct meta_rec *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	if ((m->n + 1) * 2 > m->n_slots) {
		size_t n_slots = m->n_slots ? m->n_slots * 2 : 2048;
		size_t *slots = calloc(n_slots, sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		free(m->slots);
		m->slots = slots;
		m->n_slots = n_slots;
		/* Re-insert newest records only (later ones overwrite earlier). */
		for (i = 0; i < m->n; i++)
			m->slots[meta_slot(m, m->v[i].path)] = i + 1;
	}
	return 0;
}

/* Adds rec (taking its allocations); an older record for the path dies. */
static int meta_add(struct bx_rootfs_meta *m, struct meta_rec *rec)
{
	struct meta_rec *old;
	size_t slot;

	if (meta_grow(m) < 0)
		return -ENOMEM;
	old = meta_find(m, rec->path);
	if (old)
		old->dead = true;
	m->v[m->n] = *rec;
	slot = meta_slot(m, rec->path);
	m->slots[slot] = m->n + 1;
	m->n++;
	memset(rec, 0, sizeof(*rec));
	return 0;
}

/* Marks the record of path (when self) and of everything under it dead. */
static void meta_kill(struct bx_rootfs_meta *m, const char *path, bool self)
{
	size_t len = strlen(path), i;
	struct meta_rec *r;

	if (!m || !m->rootless)
		return;
	if (self && (r = meta_find(m, path)))
		r->dead = true;
	for (i = 0; i < m->n; i++) {
		const char *p = m->v[i].path;
		if (len == 0 || (!strncmp(p, path, len) && p[len] == '/'))
			m->v[i].dead = true;
	}
}

/* ---- paths inside the tree (the worker's cwd) ---- */

static int path_join(char *out, size_t size, const char *dir, const char *name)
{
	int n = *dir ? snprintf(out, size, "%s/%s", dir, name) : snprintf(out, size, "%s", name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void split_path(const char *path, char dir[PATH_MAX], const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;

	if (n >= PATH_MAX)
		n = PATH_MAX - 1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	*base = slash ? slash + 1 : path;
}

/* Opens dir (relative to the tree) without following any symlink; -ENOENT
 * or -ENOTDIR when it is not a real directory of the tree. */
static int open_dir_literal(const char *dir)
{
	char buf[PATH_MAX];
	char *save = NULL, *c;
	int fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%s", dir);
	for (c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (next < 0)
			return e == ELOOP ? -ENOTDIR : -e;
		fd = next;
	}
	return fd;
}

struct unpack {
	const char *const *layers;
	const int *layer_fds;
	size_t n_layers;
	int tree_fd;
	unsigned flags;
	struct bx_rootfs_meta *meta;
	size_t layer;  /* current layer (for messages) */
	int r;
	struct bx_error err;
};

/* Resolves norm's directory part inside the tree the way the guest will see
 * it: symlinks are followed, absolute targets start at the tree root, and a
 * symlink leading above the root is refused. Components that do not exist
 * yet are kept literally (the extractor creates them). The result, with the
 * final component appended unresolved, has no symlink in its directory part. */
static int resolve_in_tree(struct unpack *u, const char *norm, char *out, size_t out_size)
{
	char pending[2 * PATH_MAX], res[PATH_MAX], cand[PATH_MAX], target[PATH_MAX], dir[PATH_MAX];
	char via[PATH_MAX] = "";
	const char *base;
	size_t rl = 0;
	bool missing = false;
	int hops = 0;

	split_path(norm, dir, &base);
	snprintf(pending, sizeof(pending), "%s", dir);
	res[0] = '\0';
	while (pending[0]) {
		char comp[NAME_MAX + 1];
		char *slash = strchr(pending, '/');
		size_t cl = slash ? (size_t)(slash - pending) : strlen(pending);
		struct stat st;

		if (cl > NAME_MAX)
			return bx_err(&u->err, -ENAMETOOLONG, "layer %zu: entry '%s': component too long", u->layer,
				      norm);
		memcpy(comp, pending, cl);
		comp[cl] = '\0';
		memmove(pending, slash ? slash + 1 : pending + cl, strlen(slash ? slash + 1 : pending + cl) + 1);
		if (cl == 0 || !strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			char *last;
			if (rl == 0)
				return bx_err(&u->err, -EINVAL,
					      "layer %zu: entry '%s' passes through symlink '%s' which points outside the root",
					      u->layer, norm, via);
			last = strrchr(res, '/');
			rl = last ? (size_t)(last - res) : 0;
			res[rl] = '\0';
			continue;
		}
		if (path_join(cand, sizeof(cand), res, comp) < 0)
			return bx_err(&u->err, -ENAMETOOLONG, "layer %zu: entry '%s': path too long", u->layer, norm);
		if (!missing && fstatat(AT_FDCWD, cand, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return bx_err_sys(&u->err, -errno, "layer %zu: entry '%s'", u->layer, norm);
			missing = true;
		}
		if (!missing && S_ISLNK(st.st_mode)) {
			ssize_t tl;
			char rest[2 * PATH_MAX];

			if (++hops > SYMLINK_HOPS_MAX)
				return bx_err(&u->err, -ELOOP, "layer %zu: entry '%s': too many symlinks", u->layer, norm);
			tl = readlinkat(AT_FDCWD, cand, target, sizeof(target) - 1);
			if (tl < 0)
				return bx_err_sys(&u->err, -errno, "layer %zu: entry '%s'", u->layer, norm);
			target[tl] = '\0';
			bx_path_fmt(via, sizeof(via), "/%s", cand);
			if (target[0] == '/') {
				rl = 0;
				res[0] = '\0';
			}
			if (snprintf(rest, sizeof(rest), "%s/%s", target, pending) >= (int)sizeof(pending))
				return bx_err(&u->err, -ENAMETOOLONG, "layer %zu: entry '%s': path too long", u->layer,
					      norm);
			memcpy(pending, rest, strlen(rest) + 1);
			continue;
		}
		if (!missing && !S_ISDIR(st.st_mode))
			return bx_err(&u->err, -ENOTDIR, "layer %zu: entry '%s': '/%s' is not a directory", u->layer,
				      norm, cand);
		memcpy(res, cand, strlen(cand) + 1);
		rl = strlen(res);
	}
	if (path_join(out, out_size, res, base) < 0 || strlen(out) > BX_ROOTFS_PATH_MAX)
		return bx_err(&u->err, -ENAMETOOLONG, "layer %zu: entry '%s': path too long", u->layer, norm);
	return 0;
}

static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t i;

	snprintf(buf, sizeof(buf), "%s", path);
	for (i = 0; buf[i]; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = '/';
	}
	return 0;
}

static void closedir_p(DIR **d)
{
	if (*d)
		closedir(*d);
}

static void archive_read_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static void archive_write_freep(struct archive **a)
{
	if (*a)
		archive_write_free(*a);
}

static int layer_open(struct unpack *u, struct archive **out)
{
	struct archive *a;
	int fd = u->layer_fds[u->layer];

	*out = NULL;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return bx_err_sys(&u->err, -errno, "layer %zu (%s)", u->layer, u->layers[u->layer]);
	a = archive_read_new();
	if (!a)
		return bx_err(&u->err, -ENOMEM, "out of memory");
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open_fd(a, fd, READ_BLOCK) != ARCHIVE_OK) {
		int r = bx_err(&u->err, -EINVAL, "layer %zu (%s): %s", u->layer, u->layers[u->layer],
			       archive_error_string(a));
		archive_read_free(a);
		return r;
	}
	*out = a;
	return 0;
}

static int next_header(struct unpack *u, struct archive *a, struct archive_entry **e)
{
	int r = archive_read_next_header(a, e);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
		return 1;
	return bx_err(&u->err, -EINVAL, "layer %zu (%s): %s", u->layer, u->layers[u->layer], archive_error_string(a));
}

struct whiteout {
	enum bx_whiteout kind;
	char *target;
};

/* Pass 1: collect the layer's whiteouts and apply them to the tree so far. */
static int apply_whiteouts(struct unpack *u)
{
	__attribute__((cleanup(archive_read_freep))) struct archive *a = NULL;
	struct archive_entry *e;
	struct whiteout *wh = NULL;
	size_t n = 0, cap = 0, i;
	char norm[PATH_MAX], target[PATH_MAX];
	int r;

	r = layer_open(u, &a);
	if (r < 0)
		return r;
	while ((r = next_header(u, a, &e)) > 0) {
		enum bx_whiteout kind;

		r = bx_tarpath_normalize(archive_entry_pathname(e), norm, BX_ROOTFS_PATH_MAX + 1, &u->err);
		if (r >= 0)
			r = bx_tarpath_whiteout(norm, target, sizeof(target), &kind, &u->err);
		if (r < 0) {
			bx_err_wrap(&u->err, r, "layer %zu (%s)", u->layer, u->layers[u->layer]);
			break;
		}
		if (kind != BX_WHITEOUT_FILE && kind != BX_WHITEOUT_OPAQUE)
			continue;
		if (n == cap) {
			struct whiteout *v = realloc(wh, (cap = cap ? cap * 2 : 64) * sizeof(*v));
			if (!v) {
				r = bx_err(&u->err, -ENOMEM, "out of memory");
				break;
			}
			wh = v;
		}
		wh[n].kind = kind;
		if (!(wh[n].target = strdup(target))) {
			r = bx_err(&u->err, -ENOMEM, "out of memory");
			break;
		}
		n++;
	}

	for (i = 0; r >= 0 && i < n; i++) {
		char dir[PATH_MAX];
		const char *base;
		_cleanup_close_ int dfd = -1;

		if (wh[i].kind == BX_WHITEOUT_FILE) {
			split_path(wh[i].target, dir, &base);
			meta_kill(u->meta, wh[i].target, true);
			dfd = open_dir_literal(dir);
			if (dfd >= 0)
				r = bx_rm_rf_at(dfd, base, &u->err);
		} else {
			__attribute__((cleanup(closedir_p))) DIR *d = NULL;
			struct dirent *de;

			meta_kill(u->meta, wh[i].target, false);
			dfd = open_dir_literal(wh[i].target);
			if (dfd < 0)
				continue;
			d = fdopendir(dup(dfd));
			if (!d) {
				r = bx_err_sys(&u->err, -errno, "layer %zu: opaque dir '%s'", u->layer, wh[i].target);
				break;
			}
			while (r >= 0 && (de = readdir(d))) {
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
					r = bx_rm_rf_at(dfd, de->d_name, &u->err);
			}
		}
	}
	for (i = 0; i < n; i++)
		free(wh[i].target);
	free(wh);
	return r < 0 ? r : 0;
}

static bool xattr_settable_rootless(const char *name)
{
	return !strncmp(name, "user.", 5) || !strncmp(name, "system.posix_acl_", 17);
}

/* Rootless: keeps the xattrs an unprivileged user can set on the entry and
 * moves the others (security.*, trusted.*) into rec for debugfs. */
static int split_xattrs(struct archive_entry *e, struct meta_rec *rec)
{
	struct xattr_rec *keep = NULL, *all;
	size_t n = (size_t)archive_entry_xattr_reset(e), i, n_keep = 0;
	const char *name;
	const void *value;
	size_t size;
	int r = 0;

	if (n == 0)
		return 0;
	all = calloc(n, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < n && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK; i++) {
		all[i].name = strdup(name);
		all[i].value = malloc(size ? size : 1);
		all[i].size = size;
		if (!all[i].name || !all[i].value) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(all[i].value, value, size);
	}
	n = i;
	archive_entry_xattr_clear(e);
	for (i = 0; i < n; i++) {
		if (xattr_settable_rootless(all[i].name)) {
			archive_entry_xattr_add_entry(e, all[i].name, all[i].value, all[i].size);
			continue;
		}
		if (!keep && !(keep = calloc(n, sizeof(*keep)))) {
			r = -ENOMEM;
			goto out;
		}
		keep[n_keep++] = all[i];
		memset(&all[i], 0, sizeof(all[i]));
	}
	rec->xattrs = keep;
	rec->n_xattrs = n_keep;
	keep = NULL;
out:
	xattrs_free(all, n);
	free(keep);
	return r;
}

static int copy_data(struct unpack *u, struct archive *a, struct archive *w, const char *norm)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		if (archive_write_data_block(w, buf, size, off) < ARCHIVE_OK)
			return bx_err(&u->err, -EIO, "layer %zu: writing '%s': %s", u->layer, norm,
				      archive_error_string(w));
	}
	if (r != ARCHIVE_EOF)
		return bx_err(&u->err, -EINVAL, "layer %zu: reading '%s': %s", u->layer, norm, archive_error_string(a));
	return 0;
}

static int extract_entry(struct unpack *u, struct archive *a, struct archive *w, struct archive_entry *e)
{
	char norm[PATH_MAX], wh[PATH_MAX], dst[PATH_MAX], link[PATH_MAX];
	struct bx_rootfs_meta *m = u->meta;
	mode_t type = archive_entry_filetype(e);
	const char *hl = archive_entry_hardlink(e);
	struct meta_rec rec = { 0 };
	enum bx_whiteout kind;
	struct stat st;
	int r;

	r = bx_tarpath_normalize(archive_entry_pathname(e), norm, BX_ROOTFS_PATH_MAX + 1, &u->err);
	if (r >= 0)
		r = bx_tarpath_whiteout(norm, wh, sizeof(wh), &kind, &u->err);
	if (r < 0)
		return bx_err_wrap(&u->err, r, "layer %zu (%s)", u->layer, u->layers[u->layer]);
	if (kind != BX_WHITEOUT_NONE || type == AE_IFSOCK)
		return 0;

	if (!*norm) { /* the root directory itself */
		if (hl || type != AE_IFDIR)
			return bx_err(&u->err, -EINVAL, "layer %zu: root entry is not a directory", u->layer);
		m->have_root = true;
		m->root_mode = archive_entry_perm(e) & 07777;
		m->root_uid = archive_entry_uid(e);
		m->root_gid = archive_entry_gid(e);
		if (fchmod(u->tree_fd, m->rootless ? (m->root_mode & 0777) | 0700 : m->root_mode) < 0)
			return bx_err_sys(&u->err, -errno, "layer %zu: root directory", u->layer);
		return 0;
	}

	r = resolve_in_tree(u, norm, dst, sizeof(dst));
	if (r < 0)
		return r;
	if (hl) {
		char hnorm[PATH_MAX];
		struct meta_rec *t;

		r = bx_tarpath_normalize(hl, hnorm, BX_ROOTFS_PATH_MAX + 1, &u->err);
		if (r < 0)
			return bx_err_wrap(&u->err, r, "layer %zu: hardlink '%s'", u->layer, norm);
		if (!*hnorm)
			return bx_err(&u->err, -EINVAL, "layer %zu: hardlink '%s' to the root directory", u->layer, norm);
		r = resolve_in_tree(u, hnorm, link, sizeof(link));
		if (r < 0)
			return bx_err_wrap(&u->err, r, "hardlink target");
		if (!strcmp(link, dst))
			return bx_err(&u->err, -EINVAL, "layer %zu: hardlink '%s' points to itself", u->layer, norm);
		if (fstatat(AT_FDCWD, link, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			t = meta_find(m, link);
			if (m->rootless && t && !t->dead && t->device)
				return bx_err(&u->err, -ENOTSUP,
					      "layer %zu: hardlink '%s' to device node '%s' is not supported rootless",
					      u->layer, norm, hnorm);
			return bx_err(&u->err, -EINVAL, "layer %zu: hardlink '%s': target '%s' does not exist", u->layer,
				      norm, hnorm);
		}
		if (S_ISDIR(st.st_mode))
			return bx_err(&u->err, -EINVAL, "layer %zu: hardlink '%s' to directory '%s'", u->layer, norm,
				      hnorm);
	}

	/* A later layer replaces what is there, unless both are directories. */
	if (fstatat(AT_FDCWD, dst, &st, AT_SYMLINK_NOFOLLOW) == 0 && !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !hl)) {
		r = bx_rm_rf_at(AT_FDCWD, dst, &u->err);
		if (r < 0)
			return bx_err_wrap(&u->err, r, "layer %zu: replacing '%s'", u->layer, norm);
		if (S_ISDIR(st.st_mode))
			meta_kill(m, dst, false);
	}

	if (m->rootless) {
		struct meta_rec *t = hl ? meta_find(m, link) : NULL;

		rec.uid = archive_entry_uid(e);
		rec.gid = archive_entry_gid(e);
		rec.mode = archive_entry_mode(e);
		if (t && !t->dead) { /* a hardlink shares its target's inode */
			rec.uid = t->uid;
			rec.gid = t->gid;
			rec.mode = t->mode;
		}
		if (!(rec.path = strdup(dst)))
			return bx_err(&u->err, -ENOMEM, "out of memory");
		if (!hl && (type == AE_IFCHR || type == AE_IFBLK)) {
			rec.device = true;
			rec.rdev = archive_entry_rdev(e);
			rec.mtime = archive_entry_mtime(e);
			r = mkdir_parents(dst);
			if (r < 0) {
				free(rec.path);
				return bx_err_sys(&u->err, r, "layer %zu: parents of '%s'", u->layer, norm);
			}
		} else if (split_xattrs(e, &rec) < 0) {
			free(rec.path);
			return bx_err(&u->err, -ENOMEM, "out of memory");
		}
		if (meta_add(m, &rec) < 0) {
			free(rec.path);
			xattrs_free(rec.xattrs, rec.n_xattrs);
			return bx_err(&u->err, -ENOMEM, "out of memory");
		}
		if (!hl && (type == AE_IFCHR || type == AE_IFBLK))
			return 0;
		/* What an unprivileged owner can still read, write and traverse. */
		if (type == AE_IFREG)
			archive_entry_set_perm(e, (archive_entry_perm(e) & 0777) | 0600);
		else if (type == AE_IFDIR)
			archive_entry_set_perm(e, (archive_entry_perm(e) & 0777) | 0700);
	}

	archive_entry_set_pathname(e, dst);
	if (hl)
		archive_entry_set_hardlink(e, link);
	r = archive_write_header(w, e);
	if (r < ARCHIVE_WARN)
		return bx_err(&u->err, -EIO, "layer %zu: extracting '%s': %s", u->layer, norm, archive_error_string(w));
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
		r = copy_data(u, a, w, norm);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(w) < ARCHIVE_WARN)
		return bx_err(&u->err, -EIO, "layer %zu: finishing '%s': %s", u->layer, norm, archive_error_string(w));
	return 0;
}

/* Pass 2: extract the layer without its whiteout markers. */
static int extract_layer(struct unpack *u)
{
	__attribute__((cleanup(archive_read_freep))) struct archive *a = NULL;
	__attribute__((cleanup(archive_write_freep))) struct archive *w = NULL;
	int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
		    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
	struct archive_entry *e;
	int r;

	if (!u->meta->rootless)
		flags |= ARCHIVE_EXTRACT_OWNER;
	r = layer_open(u, &a);
	if (r < 0)
		return r;
	w = archive_write_disk_new();
	if (!w || archive_write_disk_set_options(w, flags) != ARCHIVE_OK)
		return bx_err(&u->err, -ENOMEM, "out of memory");
	while ((r = next_header(u, a, &e)) > 0) {
		r = extract_entry(u, a, w, e);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (archive_write_close(w) < ARCHIVE_WARN)
		return bx_err(&u->err, -EIO, "layer %zu: %s", u->layer, archive_error_string(w));
	return 0;
}

/* Runs in its own thread with a private cwd (unshare(CLONE_FS)): libarchive
 * extracts relative to the cwd, and the caller's cwd must not change. */
static void *unpack_thread(void *arg)
{
	struct unpack *u = arg;

	if (unshare(CLONE_FS) < 0) {
		u->r = bx_err_sys(&u->err, -errno, "unshare(CLONE_FS)");
		return NULL;
	}
	if (fchdir(u->tree_fd) < 0) {
		u->r = bx_err_sys(&u->err, -errno, "entering the rootfs tree");
		return NULL;
	}
	umask(022);
	for (u->layer = 0; u->layer < u->n_layers; u->layer++) {
		/* The first layer has nothing below it to white out. */
		if (u->layer > 0 && (u->r = apply_whiteouts(u)) < 0)
			return NULL;
		if ((u->r = extract_layer(u)) < 0)
			return NULL;
	}
	u->r = 0;
	return NULL;
}

int bx_rootfs_unpack(const char *const *layers, size_t n_layers, const char *tree_dir, unsigned flags,
		     struct bx_rootfs_meta **meta_out, struct bx_error *err)
{
	struct unpack u = { .layers = layers, .n_layers = n_layers, .flags = flags, .tree_fd = -1 };
	_cleanup_free_ int *fds = NULL;
	pthread_t th;
	size_t i;
	int r;

	if (meta_out)
		*meta_out = NULL;
	fds = malloc((n_layers + 1) * sizeof(*fds));
	u.meta = calloc(1, sizeof(*u.meta));
	if (!fds || !u.meta) {
		free(u.meta);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	u.meta->rootless = geteuid() != 0 || (flags & BX_ROOTFS_FORCE_ROOTLESS);
	for (i = 0; i < n_layers; i++)
		fds[i] = -1;
	u.layer_fds = fds;
	u.tree_fd = open(tree_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.tree_fd < 0) {
		r = bx_err_sys(err, -errno, "opening %s", tree_dir);
		goto out;
	}
	if (fchmod(u.tree_fd, 0755) < 0) {
		r = bx_err_sys(err, -errno, "chmod %s", tree_dir);
		goto out;
	}
	for (i = 0; i < n_layers; i++) {
		fds[i] = open(layers[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fds[i] < 0) {
			r = bx_err_sys(err, -errno, "opening layer %s", layers[i]);
			goto out;
		}
	}
	r = pthread_create(&th, NULL, unpack_thread, &u);
	if (r) {
		r = bx_err_sys(err, -r, "starting the unpack thread");
		goto out;
	}
	pthread_join(th, NULL);
	r = u.r;
	if (r < 0)
		bx_err(err, r, "%s", u.err.msg);
out:
	for (i = 0; i < n_layers; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (u.tree_fd >= 0)
		close(u.tree_fd);
	if (r < 0 || !meta_out)
		bx_rootfs_meta_free(u.meta);
	else
		*meta_out = u.meta;
	return r;
}

/* ---- ext4 ---- */

struct walk {
	const struct bx_rootfs_meta *meta;
	FILE *cmds; /* debugfs commands (rootless), else NULL */
	const char *work_dir;
	uint64_t entries, blocks, fixups, n_values;
	char path[PATH_MAX]; /* current path, "/"-prefixed for debugfs */
	struct bx_error *err;
};

/* debugfs parses double quotes but has no escapes. */
static int dbg_check(struct walk *w, const char *s)
{
	if (strpbrk(s, "\"\n\r"))
		return bx_err(w->err, -ENOTSUP, "rootless image build: path '%.200s' cannot be passed to debugfs", s);
	return 0;
}

static int emit_xattrs(struct walk *w, const char *path, const struct meta_rec *rec)
{
	size_t i;

	for (i = 0; i < rec->n_xattrs; i++) {
		char file[PATH_MAX];
		FILE *f;

		if (dbg_check(w, rec->xattrs[i].name) < 0 || strchr(rec->xattrs[i].name, ' '))
			return bx_err(w->err, -ENOTSUP, "rootless image build: xattr name '%.100s' unsupported",
				      rec->xattrs[i].name);
		snprintf(file, sizeof(file), "%s/xattr.%llu", w->work_dir, (unsigned long long)w->n_values++);
		f = fopen(file, "wxe");
		if (!f)
			return bx_err_sys(w->err, -errno, "creating %s", file);
		if (fwrite(rec->xattrs[i].value, 1, rec->xattrs[i].size, f) != rec->xattrs[i].size) {
			fclose(f);
			return bx_err_sys(w->err, -EIO, "writing %s", file);
		}
		if (fclose(f) != 0)
			return bx_err_sys(w->err, -errno, "writing %s", file);
		fprintf(w->cmds, "ea_set -f \"%s\" \"%s\" %s\n", file, path, rec->xattrs[i].name);
		w->fixups++;
	}
	return 0;
}

/* Emits the debugfs commands that turn what mke2fs copied (st) into what
 * the layers asked for (rec; no record = implicit directory, root-owned). */
static int emit_fixups(struct walk *w, const char *path, const struct stat *st, const struct meta_rec *rec)
{
	uid_t uid = rec ? rec->uid : 0;
	gid_t gid = rec ? rec->gid : 0;
	mode_t mode = (st->st_mode & S_IFMT) | (rec ? rec->mode & 07777 : st->st_mode & 07777);
	int r = dbg_check(w, path);

	if (r < 0)
		return r;
	if (uid != st->st_uid) {
		fprintf(w->cmds, "sif \"%s\" uid %u\n", path, (unsigned)uid);
		w->fixups++;
	}
	if (gid != st->st_gid) {
		fprintf(w->cmds, "sif \"%s\" gid %u\n", path, (unsigned)gid);
		w->fixups++;
	}
	if (!S_ISLNK(st->st_mode) && mode != st->st_mode) {
		fprintf(w->cmds, "sif \"%s\" mode 0%o\n", path, (unsigned)mode);
		w->fixups++;
	}
	return rec ? emit_xattrs(w, path, rec) : 0;
}

static int walk_dir(struct walk *w, int dfd)
{
	__attribute__((cleanup(closedir_p))) DIR *d = NULL;
	size_t plen = strlen(w->path);
	struct dirent *de;
	int fd, r;

	fd = dup(dfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return bx_err_sys(w->err, -errno, "reading %s", w->path);
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s", plen > 1 ? "/" : "", de->d_name) >=
		    (int)(sizeof(w->path) - plen))
			return bx_err(w->err, -ENAMETOOLONG, "path too long under %s", w->path);
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return bx_err_sys(w->err, -errno, "stat %s", w->path);
		w->entries++;
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			w->blocks += ((uint64_t)st.st_size + BLOCK - 1) / BLOCK;
		else if (S_ISLNK(st.st_mode) && st.st_size >= 60)
			w->blocks++;
		if (w->cmds) {
			const struct meta_rec *rec = meta_find(w->meta, w->path + 1);
			r = emit_fixups(w, w->path, &st, rec && !rec->dead ? rec : NULL);
			if (r < 0)
				return r;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0)
				return bx_err_sys(w->err, -errno, "opening %s", w->path);
			r = walk_dir(w, cfd);
			if (r < 0)
				return r;
		}
		w->path[plen] = '\0';
	}
	if (errno)
		return bx_err_sys(w->err, -errno, "reading %s", w->path);
	return 0;
}

/* Rootless: device nodes recorded during unpack, created by debugfs. */
static int emit_devices(struct walk *w)
{
	size_t i;

	for (i = 0; i < w->meta->n; i++) {
		const struct meta_rec *rec = &w->meta->v[i];
		char dir[PATH_MAX], path[PATH_MAX];
		const char *base;
		int r;

		if (!rec->device || rec->dead)
			continue;
		w->entries++;
		split_path(rec->path, dir, &base);
		snprintf(path, sizeof(path), "/%s", rec->path);
		r = dbg_check(w, path);
		if (r < 0)
			return r;
		/* mknod with an absolute path silently creates nothing: cd first. */
		fprintf(w->cmds, "cd \"/%s\"\nmknod \"%s\" %c %u %u\n", dir, base, S_ISCHR(rec->mode) ? 'c' : 'b',
			major(rec->rdev), minor(rec->rdev));
		fprintf(w->cmds, "sif \"%s\" mode 0%o\nsif \"%s\" uid %u\nsif \"%s\" gid %u\n", path,
			(unsigned)rec->mode, path, (unsigned)rec->uid, path, (unsigned)rec->gid);
		fprintf(w->cmds, "sif \"%s\" mtime @%lld\nsif \"%s\" atime @%lld\n", path, (long long)rec->mtime, path,
			(long long)rec->mtime);
		w->fixups += 7;
		r = emit_xattrs(w, path, rec);
		if (r < 0)
			return r;
	}
	fprintf(w->cmds, "cd /\n");
	return 0;
}

static void fclose_p(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* debugfs exits 0 even when commands fail; anything on stderr besides its
 * version banner is an error. */
static int check_debugfs_output(const char *out, struct bx_error *err)
{
	const char *line = out;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len && !(len > 8 && !strncmp(line, "debugfs ", 8) && line[8] >= '0' && line[8] <= '9'))
			return bx_err(err, -EIO, "debugfs fix-ups failed: %.*s", (int)(len > 300 ? 300 : len), line);
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

int bx_rootfs_make_ext4(const char *tree_dir, const struct bx_rootfs_meta *meta, const char *work_dir,
			const char *out_path, struct bx_rootfs_stats *stats, struct bx_error *err)
{
	struct walk w = { .meta = meta, .work_dir = work_dir, .err = err, .path = "/" };
	__attribute__((cleanup(fclose_p))) FILE *cmds = NULL;
	char mke2fs[PATH_MAX], debugfs[PATH_MAX], cmds_path[PATH_MAX], size_arg[32], inodes_arg[32], owner_arg[64];
	char tool_err[4096];
	bool rootless = meta && meta->rootless;
	uint64_t size_mib, inodes;
	_cleanup_close_ int tree_fd = -1;
	struct bx_rootfs_stats s = { .rootless = rootless };
	struct stat st;
	double t0;
	int r;

	r = bx_find_tool("mke2fs", mke2fs, sizeof(mke2fs), err);
	if (r < 0)
		return r;
	if (rootless) {
		r = bx_find_tool("debugfs", debugfs, sizeof(debugfs), err);
		if (r < 0)
			return r;
		snprintf(cmds_path, sizeof(cmds_path), "%s/debugfs.cmds", work_dir);
		cmds = fopen(cmds_path, "wxe");
		if (!cmds)
			return bx_err_sys(err, -errno, "creating %s", cmds_path);
		if (strpbrk(work_dir, "\"\n\r"))
			return bx_err(err, -ENOTSUP, "rootless image build: work dir '%s' has a quote", work_dir);
		w.cmds = cmds;
	}
	tree_fd = open(tree_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tree_fd < 0 || fstat(tree_fd, &st) < 0)
		return bx_err_sys(err, -errno, "opening %s", tree_dir);
	if (rootless) {
		mode_t want = S_IFDIR | (meta->have_root ? meta->root_mode : 0755);
		if (want != st.st_mode) {
			fprintf(cmds, "sif / mode 0%o\n", (unsigned)want);
			w.fixups++;
		}
	}
	r = walk_dir(&w, tree_fd);
	if (r < 0)
		return r;
	if (rootless) {
		r = emit_devices(&w);
		if (r < 0)
			return r;
		if (fflush(cmds) != 0)
			return bx_err_sys(err, -errno, "writing %s", cmds_path);
	}

	size_mib = (w.blocks * BLOCK * BX_ROOTFS_HEADROOM_NUM / BX_ROOTFS_HEADROOM_DEN + MIB - 1) / MIB +
		   BX_ROOTFS_HEADROOM_MIB;
	inodes = w.entries * 2 + 4096;
	if (inodes < size_mib * MIB / 16384)
		inodes = size_mib * MIB / 16384;
	snprintf(size_arg, sizeof(size_arg), "%lluM", (unsigned long long)size_mib);
	snprintf(inodes_arg, sizeof(inodes_arg), "%llu", (unsigned long long)inodes);
	snprintf(owner_arg, sizeof(owner_arg), "root_owner=%u:%u", meta && meta->have_root ? meta->root_uid : 0,
		 meta && meta->have_root ? meta->root_gid : 0);
	{
		const char *argv[] = { mke2fs, "-q", "-t", "ext4", "-b", "4096", "-N", inodes_arg, "-E", owner_arg,
				       "-d", tree_dir, "-L", "boxlite-root", out_path, size_arg, NULL };
		t0 = now_s();
		r = bx_run_tool(argv, tool_err, sizeof(tool_err), err);
		s.mkfs_s = now_s() - t0;
		if (r < 0)
			return bx_err_wrap(err, r, "building %s", out_path);
	}
	if (rootless && w.fixups) {
		const char *argv[] = { debugfs, "-w", "-f", cmds_path, out_path, NULL };
		t0 = now_s();
		r = bx_run_tool(argv, tool_err, sizeof(tool_err), err);
		if (r >= 0)
			r = check_debugfs_output(tool_err, err);
		s.fixup_s = now_s() - t0;
		if (r < 0)
			return bx_err_wrap(err, r, "building %s", out_path);
	}
	s.entries = w.entries;
	s.content_bytes = w.blocks * BLOCK;
	s.image_bytes = size_mib * MIB;
	s.inodes = inodes;
	s.fixups = w.fixups;
	if (stats) {
		s.unpack_s = stats->unpack_s;
		*stats = s;
	}
	return 0;
}

int bx_rootfs_build_ext4(const char *const *layers, size_t n_layers, const char *work_dir, const char *out_path,
			 unsigned flags, struct bx_rootfs_stats *stats, struct bx_error *err)
{
	struct bx_rootfs_stats s = { 0 };
	struct bx_rootfs_meta *meta = NULL;
	_cleanup_close_ int work_fd = -1, scratch_fd = -1;
	char tree[PATH_MAX], scratch[PATH_MAX];
	bool privileged = geteuid() == 0 && !(flags & BX_ROOTFS_FORCE_ROOTLESS);
	double t0;
	int r;

	if (snprintf(tree, sizeof(tree), "%s/tree", work_dir) >= (int)sizeof(tree))
		return bx_err(err, -ENAMETOOLONG, "work dir path too long");
	work_fd = open(work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (work_fd < 0)
		return bx_err_sys(err, -errno, "opening %s", work_dir);
	/* tmpfs when it fits: file creation there costs a fraction */
	if (bx_scratch_tmpfs_dir(layers, n_layers, privileged, scratch, sizeof(scratch) - 8, &scratch_fd)) {
		snprintf(tree, sizeof(tree), "%s/tree", scratch);
	}
	if (mkdir(tree, 0755) < 0) {
		r = bx_err_sys(err, -errno, "creating %s", tree);
		if (scratch_fd >= 0)
			bx_rm_rf_at(AT_FDCWD, scratch, NULL);
		return r;
	}
	t0 = now_s();
	r = bx_rootfs_unpack(layers, n_layers, tree, flags, &meta, err);
	s.unpack_s = now_s() - t0;
	if (r >= 0)
		r = bx_rootfs_make_ext4(tree, meta, work_dir, out_path, &s, err);
	bx_rootfs_meta_free(meta);
	if (r < 0)
		unlink(out_path);
	/* The tree is only scaffolding; a failure to remove it is not fatal to the image. */
	if (scratch_fd >= 0)
		bx_rm_rf_at(AT_FDCWD, scratch, NULL);
	else
		bx_rm_rf_at(work_fd, "tree", NULL);
	if (r >= 0 && stats)
		*stats = s;
	return r;
}
