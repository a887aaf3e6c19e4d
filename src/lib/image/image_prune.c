/* image prune: the images no box uses, then whatever no image uses. */
#include "image_prune.h"

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
#include "image_refs.h"
#include "image_store.h"
#include "strv.h"

/* A growable NULL-terminated string array (the names to keep). */
static int push(char ***v, const char *s)
{
	size_t n = *v ? bx_strv_len(*v) : 0;
	char **nv = realloc(*v, (n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[n] = strdup(s)))
		return -ENOMEM;
	nv[n + 1] = NULL;
	return 0;
}

static bool contains(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static void strv_freep(char ***v)
{
	bx_strv_free(*v);
}
#define _cleanup_strv_ __attribute__((cleanup(strv_freep)))

/* Bytes on disk of the regular files directly in dir (recursing into
 * subdirectories; for the space prune frees). */
static uint64_t usage_at(int at, const char *name)
{
	_cleanup_close_ int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	uint64_t sum = 0;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return 0;
	d = fdopendir(dup(fd));
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			sum += usage_at(fd, de->d_name);
		else
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

/* Adds "<hex>" of digest (and of its layers and config when a manifest). */
static int keep_image(int blobs_fd, const char *digest, char ***blobs, char ***bases)
{
	struct bx_oci_manifest m = { 0 };
	char chain[BX_DIGEST_MAX], name[NAME_MAX + 1];
	int r = push(blobs, digest + 7);

	if (r < 0 || bx_image_stored_manifest(blobs_fd, digest, &m) < 0)
		return r;
	r = push(blobs, m.config.digest + 7);
	for (size_t i = 0; r >= 0 && i < m.n_layers; i++)
		r = push(blobs, m.layers[i].digest + 7);
	if (r >= 0 && (r = bx_image_chain_id(&m, chain)) >= 0) {
		snprintf(name, sizeof(name), "%s.ext4", chain + 7);
		r = push(bases, name);
	}
	if (r >= 0) { /* an older home's disk keyed by the manifest */
		snprintf(name, sizeof(name), "%s.ext4", digest + 7);
		r = push(bases, name);
	}
	bx_oci_manifest_free(&m);
	return r;
}

/* Deletes the entries of dir that keep() rejects; counts them in *n. */
static void sweep_dir(int images_fd, const char *dir, bool (*keep)(const char *name, char **set, int dir_fd),
		      char **set, size_t *n)
{
	_cleanup_close_ int fd = openat(images_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(dup(fd))))
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || keep(de->d_name, set, fd))
			continue;
		if (bx_rm_rf_at(fd, de->d_name, NULL) == 0 && n)
			(*n)++;
	}
	closedir(d);
	bx_fsync_dir(fd, dir, NULL);
}

static bool keep_listed(const char *name, char **set, int dir_fd)
{
	(void)dir_fd;
	return contains(set, name);
}

/* bases/: a disk a kept image or a box uses; a lock file whose disk stays. */
static bool keep_base(const char *name, char **set, int dir_fd)
{
	char disk[NAME_MAX + 1];
	size_t len = strlen(name);

	if (name[0] == '.' && len > 6 && !strcmp(name + len - 5, ".lock")) {
		snprintf(disk, sizeof(disk), "%.*s.ext4", (int)(len - 6), name + 1);
		(void)dir_fd; /* no builder runs: imports hold the gc lock shared */
		return contains(set, disk);
	}
	return contains(set, name);
}

/* partial/, tmp/: what no live process holds locked. */
static bool keep_locked(const char *name, char **set, int dir_fd)
{
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	(void)set;
	if (name[0] == '.')
		return true; /* a work dir not yet locked by its creator */
	return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0;
}

/* Bases a box's disk is backed by ("<name>.ext4" in images/bases). */
static int boxes_bases(const char *home, const char *bases_dir, char ***out)
{
	_cleanup_close_ int fd = open(bases_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	char path[PATH_MAX], box[NAME_MAX + 1];
	int r = 0;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(dup(fd))))
		return 0;
	while (r >= 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".ext4"))
			continue;
		bx_path_fmt(path, sizeof(path), "%s/%s", bases_dir, de->d_name);
		if (bx_image_base_in_use(home, path, box, sizeof(box)))
			r = push(out, de->d_name);
	}
	closedir(d);
	return r;
}

int bx_image_prune(const char *home, char ***removed, uint64_t *reclaimed, struct bx_error *err)
{
	struct bx_image_ref_entry *refs = NULL;
	_cleanup_strv_ char **used = NULL, **blobs = NULL, **bases = NULL;
	char images[PATH_MAX], bases_dir[PATH_MAX], cwd[PATH_MAX];
	_cleanup_close_ int gc_fd = -1, images_fd = -1, blobs_fd = -1;
	uint64_t before;
	size_t n = 0;
	int r;

	*removed = NULL;
	*reclaimed = 0;
	if (home[0] == '/')
		r = bx_path_fmt(images, sizeof(images) - 100, "%s/images", home);
	else
		r = bx_path_fmt(images, sizeof(images) - 100, "%s/%s/images", getcwd(cwd, sizeof(cwd)) ? cwd : ".",
				home);
	if (r < 0)
		return bx_err(err, -ENAMETOOLONG, "home path too long: %s", home);
	bx_path_fmt(bases_dir, sizeof(bases_dir), "%s/bases", images);
	if (!(*removed = calloc(1, sizeof(char *))))
		return bx_err(err, -ENOMEM, "out of memory");
	images_fd = open(images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (images_fd < 0)
		return errno == ENOENT ? 0 : bx_err_sys(err, -errno, "opening %s", images);
	gc_fd = bx_image_gc_lock(home, 1, err);
	if (gc_fd < 0)
		return gc_fd;
	before = usage_at(images_fd, "blobs") + usage_at(images_fd, "bases") + usage_at(images_fd, "partial") +
		 usage_at(images_fd, "tmp");

	/* 1. every image whose disk no box uses */
	r = boxes_bases(home, bases_dir, &used);
	if (r >= 0)
		r = bx_image_refs_list(home, &refs, &n, err);
	if (r < 0)
		goto out;
	blobs_fd = openat(images_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < n; i++) {
		_cleanup_strv_ char **mine = NULL, **unused_blobs = NULL;
		bool in_use = false;

		if (blobs_fd >= 0 && keep_image(blobs_fd, refs[i].digest, &unused_blobs, &mine) < 0) {
			r = bx_err(err, -ENOMEM, "out of memory");
			goto out;
		}
		for (size_t k = 0; mine && mine[k] && !in_use; k++)
			in_use = contains(used, mine[k]);
		if (in_use)
			continue;
		bx_err_clear(err);
		if (bx_image_refs_remove_locked(home, refs[i].ref, err) < 0)
			continue; /* in use after all (an older box), or gone */
		if (push(removed, refs[i].ref) < 0) {
			r = bx_err(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	bx_image_refs_free(refs, n);
	refs = NULL;
	bx_err_clear(err);

	/* 2. blobs and disks no remaining image uses; dead downloads and work dirs */
	r = bx_image_refs_list(home, &refs, &n, err);
	if (r < 0)
		goto out;
	if (!(blobs = calloc(1, sizeof(char *))) || !(bases = calloc(1, sizeof(char *)))) {
		r = bx_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && blobs_fd >= 0; i++)
		if (keep_image(blobs_fd, refs[i].digest, &blobs, &bases) < 0) {
			r = bx_err(err, -ENOMEM, "out of memory");
			goto out;
		}
	for (size_t k = 0; used && used[k]; k++)
		if (push(&bases, used[k]) < 0) {
			r = bx_err(err, -ENOMEM, "out of memory");
			goto out;
		}
	if (blobs_fd >= 0)
		sweep_dir(images_fd, "blobs/sha256", keep_listed, blobs, NULL);
	sweep_dir(images_fd, "bases", keep_base, bases, NULL);
	sweep_dir(images_fd, "partial", keep_locked, NULL, NULL);
	sweep_dir(images_fd, "tmp", keep_locked, NULL, NULL);
	{
		uint64_t after = usage_at(images_fd, "blobs") + usage_at(images_fd, "bases") +
				 usage_at(images_fd, "partial") + usage_at(images_fd, "tmp");
		*reclaimed = before > after ? before - after : 0;
	}
	r = 0;
out:
	bx_image_refs_free(refs, n);
	if (r < 0) {
		bx_strv_free(*removed);
		*removed = NULL;
	}
	return r;
}
