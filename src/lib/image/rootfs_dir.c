/* Root disks from prepared root filesystem directories (rootfs_dir.h). */
#include "rootfs_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "rootfs.h"
#include "work_dir.h"

#define MAX_DEPTH 256
#define PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of the directory fd (not "." or ".."), sorted; *n of them. */
static int sorted_names(int fd, char ***out, size_t *n, const char *rel, struct bx_error *err)
{
	int dup_fd = dup(fd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	char **v = NULL;
	size_t cap = 0;
	struct dirent *e;

	*n = 0;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return bx_err_sys(err, -errno, "rootfs: reading /%s", rel);
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		if (!(v[*n] = strdup(e->d_name)))
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), by_name);
	*out = v;
	return 0;
oom:
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	return bx_err(err, -ENOMEM, "out of memory");
}

static int hash_file(EVP_MD_CTX *md, int dfd, const char *name, const char *rel, struct bx_error *err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char buf[65536];
	ssize_t r;

	if (fd < 0)
		return bx_err_sys(err, -EIO, "rootfs: cannot read /%s", rel);
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bx_err_sys(err, -EIO, "rootfs: reading /%s", rel);
		EVP_DigestUpdate(md, buf, (size_t)r);
	}
	return 0;
}

/* Hashes the entries of directory dfd (at relative path rel, "" for the
 * root) and, depth first in name order, what lies under them. */
static int hash_tree(EVP_MD_CTX *md, int dfd, const char *rel, int depth, struct bx_error *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	if (depth > MAX_DEPTH)
		return bx_err(err, -ELOOP, "rootfs: /%s is nested deeper than %d directories", rel, MAX_DEPTH);
	if ((rc = sorted_names(dfd, &names, &n, rel, err)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[PATH_MAX], head[PATH_MAX + 160], target[PATH_MAX];
		struct stat st;
		int len;

		if (snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", names[i]) >= (int)sizeof(path)) {
			rc = bx_err(err, -ENAMETOOLONG, "rootfs: a path under /%s is too long", rel);
			break;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = bx_err_sys(err, -EIO, "rootfs: cannot stat /%s", path);
			break;
		}
		len = snprintf(head, sizeof(head), "%s%c%o %u %u %lld %u:%u%c", path, 0, (unsigned)st.st_mode,
			       (unsigned)st.st_uid, (unsigned)st.st_gid,
			       S_ISREG(st.st_mode) ? (long long)st.st_size : 0LL,
			       S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? major(st.st_rdev) : 0,
			       S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? minor(st.st_rdev) : 0, 0);
		EVP_DigestUpdate(md, head, (size_t)len);
		if (S_ISREG(st.st_mode)) {
			rc = hash_file(md, dfd, names[i], path, err);
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t t = readlinkat(dfd, names[i], target, sizeof(target));
			if (t < 0)
				rc = bx_err_sys(err, -EIO, "rootfs: reading the link /%s", path);
			else
				EVP_DigestUpdate(md, target, (size_t)t);
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = bx_err_sys(err, -EIO, "rootfs: cannot open /%s", path);
			} else {
				rc = hash_tree(md, sub, path, depth + 1, err);
				close(sub);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int bx_rootfs_dir_hash(const char *dir, char hex[65], struct bx_error *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	struct stat st;
	EVP_MD_CTX *md;
	char head[64];
	int rc, len;

	if (fd < 0)
		return bx_err_sys(err, -errno, "rootfs %s", dir);
	if (fstat(fd, &st) < 0)
		return bx_err_sys(err, -errno, "rootfs %s", dir);
	if (!(md = EVP_MD_CTX_new()))
		return bx_err(err, -ENOMEM, "out of memory");
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	/* The root's own mode and owner, then the tree. */
	len = snprintf(head, sizeof(head), "boxlite rootfs 1 %o %u %u", (unsigned)st.st_mode, (unsigned)st.st_uid,
		       (unsigned)st.st_gid);
	EVP_DigestUpdate(md, head, (size_t)len);
	rc = hash_tree(md, fd, "", 0, err);
	EVP_DigestFinal_ex(md, d, &dlen);
	EVP_MD_CTX_free(md);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/* Builds <bases>/<name> from tree unless it exists; one builder at a time
 * (a lock file beside it), the result renamed into place whole. */
static int ensure_rootfs_base(const char *home, const char *tree, const char *hex, char *base, size_t cap,
			      struct bx_error *err)
{
	char images[PATH_MAX], bases[PATH_MAX], lock[PATH_MAX], work[PATH_MAX], tmp[PATH_MAX + 16];
	_cleanup_close_ int lock_fd = -1;
	int work_fd, rc;

	if (bx_path_fmt(images, sizeof(images), "%s/images", home) < 0 ||
	    bx_path_fmt(bases, sizeof(bases), "%s/bases", images) < 0 ||
	    bx_path_fmt(base, cap, "%s/rootfs-%s.ext4", bases, hex) < 0 ||
	    bx_path_fmt(lock, sizeof(lock), "%s/.rootfs-%s.lock", bases, hex) < 0)
		return bx_err(err, -ENAMETOOLONG, "home path too long");
	if (access(base, F_OK) == 0)
		return 0;
	if ((rc = bx_mkdir_p(bases, 0755, err)) < 0)
		return rc;
	lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lock_fd < 0)
		return bx_err_sys(err, -errno, "creating %s", lock);
	while (flock(lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return bx_err_sys(err, -errno, "locking %s", lock);
	if (access(base, F_OK) == 0)
		return 0; /* a concurrent create built it */
	if ((rc = bx_mkdir_p(images, 0755, err)) < 0)
		return rc;
	{
		char tmpdir[PATH_MAX];

		if (bx_path_fmt(tmpdir, sizeof(tmpdir), "%s/tmp", images) < 0 || (rc = bx_mkdir_p(tmpdir, 0755, err)) < 0)
			return rc < 0 ? rc : bx_err(err, -ENAMETOOLONG, "home path too long");
	}
	work_fd = bx_image_work_dir(images, "rootfs", work, sizeof(work), err);
	if (work_fd < 0)
		return work_fd;
	snprintf(tmp, sizeof(tmp), "%s/base.ext4", work);
	rc = bx_rootfs_make_ext4(tree, NULL, work, tmp, NULL, err);
	if (rc == 0 && (chmod(tmp, 0444) < 0 || rename(tmp, base) < 0))
		rc = bx_err_sys(err, -errno, "storing %s", base);
	bx_image_work_dir_remove(work, work_fd);
	return rc < 0 ? bx_err_wrap(err, rc, "making a root disk from %s", tree) : 0;
}

int bx_rootfs_dir_image(const char *home, const char *dir, struct bx_image *out, struct bx_error *err)
{
	char real[PATH_MAX], hex[65], base[PATH_MAX];
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (dir[0] != '/')
		return bx_err(err, -EINVAL, "rootfs %s: give an absolute path", dir);
	if (!realpath(dir, real))
		return bx_err_sys(err, -errno, "rootfs %s", dir);
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return bx_err(err, -ENOTDIR, "rootfs %s: not a directory", dir);
	if (!strcmp(real, "/"))
		return bx_err(err, -EINVAL, "rootfs /: the host's own root cannot be a box's disk");
	if ((rc = bx_rootfs_dir_hash(real, hex, err)) < 0 ||
	    (rc = ensure_rootfs_base(home, real, hex, base, sizeof(base), err)) < 0)
		return rc;
	snprintf(out->digest, sizeof(out->digest), "sha256:%s", hex); /* the tree's, not a manifest's */
	out->base_path = strdup(base);
	out->env = calloc(2, sizeof(char *));
	if (!out->base_path || !out->env || !(out->env[0] = strdup(PATH_ENV))) {
		bx_image_free(out);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}
