/* Per-box disks: a qcow2 copy-on-write overlay over the image's ext4 base,
 * written natively (qcow2.c): box creation spawns no qemu-img. Snapshot
 * removal and clones rebase layers with it (bx_disk_rebase). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "fsutil.h"
#include "qcow2.h"

int bx_disk_create_overlay(const char *base, const char *overlay, uint64_t size, struct bx_error *err)
{
	struct stat st;

	if (stat(base, &st) < 0)
		return bx_err_sys(err, -errno, "image base disk %s", base);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0)
		return bx_err(err, -EINVAL, "image base disk %s is not a regular, non-empty file", base);
	/* The guest grows the filesystem to the disk; it cannot shrink it. */
	if (size && size < (uint64_t)st.st_size)
		return bx_err(err, -EINVAL, "a disk of %llu MiB is smaller than the image's (%llu MiB)",
			      (unsigned long long)(size >> 20), (unsigned long long)((uint64_t)st.st_size >> 20));
	return bx_qcow2_create_overlay(overlay, base, "raw", size ? size : (uint64_t)st.st_size, err);
}

int bx_disk_walk_box(const char *box_dir, int (*visit)(void *ud, const char *file, int is_qcow2), void *ud)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc;

	bx_disk_top(box_dir, path, sizeof(path));
	if ((rc = bx_qcow2_walk(path, visit, ud, NULL)) > 0)
		return rc;
	snprintf(path, sizeof(path), "%s/snapshots", box_dir);
	if (!(d = opendir(path)))
		return 0;
	rc = 0;
	while (rc <= 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/snapshots/%s/disk.qcow2", box_dir, de->d_name);
		rc = bx_qcow2_walk(path, visit, ud, NULL);
	}
	closedir(d);
	return rc > 0 ? rc : 0;
}

/* qemu-img beside the engine binary, else on PATH. */
static int find_qemu_img(const char *qemu, char out[PATH_MAX], struct bx_error *err)
{
	const char *slash = strrchr(qemu, '/');

	snprintf(out, PATH_MAX, "%.*sqemu-img", slash ? (int)(slash - qemu + 1) : 0, qemu);
	if (access(out, X_OK) < 0)
		return bx_find_tool("qemu-img", out, PATH_MAX, err);
	return 0;
}

int bx_disk_flatten(const char *qemu, const char *top, const char *out, struct bx_error *err)
{
	char qemu_img[PATH_MAX], msg[512];
	/* -U: a running box's QEMU holds the chain (read-only below its top). */
	const char *argv[] = { qemu_img, "convert", "-U", "-O", "qcow2", top, out, NULL };
	int rc = find_qemu_img(qemu, qemu_img, err);

	return rc < 0 ? rc : bx_run_tool(argv, msg, sizeof(msg), err);
}

int bx_disk_box_files(const char *box_dir, int (*visit)(void *ud, const char *file), void *ud)
{
	static const char *const dirs[] = { "snapshots", "layers" };
	char path[PATH_MAX];
	struct dirent *de;
	int rc;

	snprintf(path, sizeof(path), "%s/disk.qcow2", box_dir);
	if ((rc = visit(ud, path)) != 0)
		return rc;
	for (size_t i = 0; i < 2; i++) {
		DIR *d;
		snprintf(path, sizeof(path), "%s/%s", box_dir, dirs[i]);
		if (!(d = opendir(path)))
			continue;
		while (rc == 0 && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (i == 0)
				snprintf(path, sizeof(path), "%s/snapshots/%s/disk.qcow2", box_dir, de->d_name);
			else
				snprintf(path, sizeof(path), "%s/layers/%s", box_dir, de->d_name);
			rc = visit(ud, path);
		}
		closedir(d);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int bx_disk_rebase(const char *qemu, const char *image, const char *backing, struct bx_error *err)
{
	char qemu_img[PATH_MAX], below[PATH_MAX], msg[512];
	uint64_t size;
	struct stat st;
	int rc, qcow2 = bx_qcow2_read_header(backing, &size, below, sizeof(below), NULL) == 0;
	const char *argv[] = { qemu_img, "rebase", "-q", "-f", "qcow2", "-b", backing, "-F", qcow2 ? "qcow2" : "raw",
			       image, NULL };

	if (!backing[0]) { /* standalone: no backing, no format */
		argv[7] = image;
		argv[8] = NULL;
	}
	if ((rc = find_qemu_img(qemu, qemu_img, err)) < 0)
		return rc;
	if (stat(image, &st) < 0)
		return bx_err_sys(err, -errno, "%s", image);
	chmod(image, st.st_mode | 0200);
	rc = bx_run_tool(argv, msg, sizeof(msg), err);
	chmod(image, st.st_mode);
	return rc;
}
