/* Disk snapshots of a box (docs/snapshots.md), as qcow2 external overlays,
 * the way the reference system forks its chain: the box's disk.qcow2 moves
 * to snapshots/<id>/disk.qcow2 and turns read-only, and a new empty overlay
 * backed by it takes its place. A snapshot costs nothing to take and what
 * the box writes after it lands in the new overlay. Restore puts a fresh
 * overlay of the snapshot in place; remove merges the snapshot into the
 * images that back onto it (qemu-img rebase) before deleting it, so any
 * snapshot can go, not only the last. Backing names are absolute, as the
 * image base's already are, so a disk keeps its chain wherever it moves.
 *
 * Crash safety: create writes <box>/snapshot.pending (the snapshot's id)
 * before it moves anything and removes it after the store row is in; the
 * runtime's recovery (bx_snapshot_recover) undoes a create that has no row.
 * Restore is one rename; remove deletes the row before the files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "box_impl.h"
#include "checkpoint.h"
#include "clone.h"
#include "disk.h"
#include "fsutil.h"
#include "lock.h"
#include "proc.h"
#include "qcow2.h"
#include "remote.h"
#include "snapshot.h"
#include "store.h"

#define PENDING "snapshot.pending"
#define MAX_CHAIN 48 /* overlays above the image base (the jail follows 64) */

/* The reference's rules: 1..255 bytes, not "." or "..", no leading ".",
 * no "/", "\\" or NUL. */
static int valid_name(const char *name, struct bx_error *err)
{
	size_t n = name ? strlen(name) : 0;
	if (!n || n > 255 || name[0] == '.' || strpbrk(name, "/\\"))
		return bx_err(err, -EINVAL,
			      "bad snapshot name \"%s\": 1 to 255 bytes, not starting with '.', without '/' or '\\'",
			      name ? name : "");
	return 0;
}

static void snap_disk(const boxlite_box *box, const char *id, char *out, size_t n)
{
	snprintf(out, n, "%s/snapshots/%s/disk.qcow2", box->dir, id);
}

int bx_box_lock_for_disk(boxlite_box *box, const char *what, int running_ok, int *live, int *lock,
			 struct bx_error *err)
{
	int rc = bx_lock_box(box->rt->home, box->id, lock, err);
	enum boxlite_box_state st;

	if (rc == 0)
		rc = bx_box_reconcile_locked(box, err);
	st = rc == 0 ? box->rec->state : BOXLITE_BOX_STOPPED;
	*live = st == BOXLITE_BOX_RUNNING || st == BOXLITE_BOX_PAUSED;
	/* What a caller killed midway left on a running box: once its shim has
	 * no switch under way, completed or undone as at a stop. */
	if (rc == 0 && *live && bx_pending_live(box->dir) && (rc = bx_disk_switch_idle(box, err)) == 0) {
		bx_snapshot_recover(box->rt, box->dir, box->id, 1, NULL);
		bx_clone_recover(box->rt, box->dir, 1);
	}
	if (rc == 0 && bx_state_active(st) && !(running_ok && *live))
		rc = bx_err(err, -EBUSY, "box %s is %s: %s it to %s", box->id, bx_state_name(st),
			    *live ? "stop" : "wait for", what);
	if (rc < 0)
		bx_unlock(lock);
	return rc;
}

static int lock_stopped(boxlite_box *box, const char *what, int *lock, struct bx_error *err)
{
	int live;
	return bx_box_lock_for_disk(box, what, 0, &live, lock, err);
}

static int count_layer(void *ud, const char *file, int is_qcow2)
{
	*(int *)ud += is_qcow2;
	return 0;
}

void bx_snapshot_new_id(char id[9])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[8];
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		for (int i = 0; i < 8; i++)
			r[i] = (unsigned char)rand();
	for (int i = 0; i < 8; i++)
		id[i] = alphabet[r[i] % 36];
	id[8] = 0;
}

BX_EXPORT int boxlite_box_snapshot_create(boxlite_box *box, const char *name, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_snapshot_create(box, name, &e_));
	struct bx_error err = { 0 };
	struct bx_snapshot_record rec = { 0 }, found;
	char disk[PATH_MAX], sdir[PATH_MAX], sdisk[PATH_MAX], backing[PATH_MAX], marker[9 + 256];
	uint64_t size;
	int lock = -1, rc, depth, dirfd = -1, live;

	if (!box || (rc = valid_name(name, &err)) < 0)
		return bx_error_export(box ? rc : -EINVAL, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = bx_box_lock_for_disk(box, "snapshot it", 1, &live, &lock, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	if (bx_store_snapshot_find(box->rt->store, box->id, name, &found, NULL) == 0) {
		free(found.name);
		rc = bx_err(&err, -EEXIST, "box %s already has a snapshot named %s", box->id, name);
		goto out;
	}
	bx_disk_top(box->dir, disk, sizeof(disk));
	if ((rc = bx_qcow2_read_header(disk, &size, backing, sizeof(backing), &err)) < 0)
		goto out;
	depth = 1; /* the top itself, then the layers below it */
	if ((rc = bx_qcow2_walk(disk, count_layer, &depth, &err)) < 0)
		goto out;
	if (depth >= MAX_CHAIN) {
		rc = bx_err(&err, -E2BIG, "box %s has %d snapshots stacked on its disk: remove some first", box->id, depth);
		goto out;
	}
	bx_snapshot_new_id(rec.id);
	snprintf(rec.box_id, sizeof(rec.box_id), "%s", box->id);
	rec.name = (char *)name;
	rec.created_at = (int64_t)time(NULL);
	rec.virtual_size = size;
	/* 0755: the box's QEMU runs as the box's uid (docs/security.md) and must
	 * reach the layers; the home above stays 0700. */
	snprintf(sdir, sizeof(sdir), "%s/snapshots", box->dir);
	if (mkdir(sdir, 0755) < 0 && errno != EEXIST) {
		rc = bx_err_sys(&err, -errno, "%s", sdir);
		goto out;
	}
	snprintf(sdir, sizeof(sdir), "%s/snapshots/%s", box->dir, rec.id);
	snap_disk(box, rec.id, sdisk, sizeof(sdisk));
	if ((dirfd = open(box->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = bx_err_sys(&err, -errno, "%s", box->dir);
		goto out;
	}
	/* The marker first: from here a crash is undone at the next open. A
	 * live one carries the name: once the switch is made it cannot be
	 * undone (the guest writes on top), so recovery completes it. */
	snprintf(marker, sizeof(marker), live ? "%s\n%s" : "%s", rec.id, name);
	if ((rc = bx_write_file_atomic(dirfd, PENDING, marker, strlen(marker), 0600, &err)) < 0)
		goto out;
	if (mkdir(sdir, 0755) < 0) {
		rc = bx_err_sys(&err, -errno, "%s", sdir);
		goto undo;
	}
	if (live) {
		if ((rc = bx_disk_switch_live(box, sdisk, rec.id, &err)) < 0)
			goto undo;
	} else {
		if (rename(disk, sdisk) < 0) {
			rc = bx_err_sys(&err, -errno, "moving %s", disk);
			goto undo;
		}
		chmod(sdisk, 0444);
		if ((rc = bx_qcow2_create_overlay(disk, sdisk, "qcow2", size, &err)) < 0)
			goto undo;
	}
	/* A live switch that is made stays: a failing insert leaves the marker
	 * for recovery to complete. */
	if ((rc = bx_store_snapshot_insert(box->rt->store, &rec, &err)) < 0) {
		if (live)
			goto out;
		goto undo;
	}
	unlinkat(dirfd, PENDING, 0);
	bx_fsync_dir(dirfd, ".", NULL);
	goto out;
undo:
	bx_snapshot_undo(box->dir, rec.id);
out:
	if (dirfd >= 0)
		close(dirfd);
	bx_unlock(&lock);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

void bx_layer_put_back(const char *disk, const char *layer)
{
	char backing[PATH_MAX];
	uint64_t size;

	struct stat a, b;

	if (access(layer, F_OK) < 0)
		return;
	/* A live switch that was not made left only a second name. */
	if (stat(disk, &a) == 0 && stat(layer, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		unlink(layer);
		chmod(disk, 0644);
		return;
	}
	/* The overlay made over it (if any) is empty: drop it. */
	if (bx_qcow2_read_header(disk, &size, backing, sizeof(backing), NULL) == 0 && !strcmp(backing, layer))
		unlink(disk);
	if (access(disk, F_OK) < 0) {
		chmod(layer, 0644);
		rename(layer, disk);
	}
}

void bx_switch_overlay_drop(const char *box_dir, const char *id)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/disk.%s.qcow2", box_dir, id);
	unlink(p);
}

int bx_pending_read(const char *marker, char id[9], char *extra, size_t extra_size)
{
	char buf[9 + 256];
	ssize_t n;
	int fd = open(marker, O_RDONLY | O_CLOEXEC);

	if (extra)
		extra[0] = 0;
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	memcpy(id, buf, 8);
	id[8] = 0;
	if (n < 8 || strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") != 8 || (n > 8 && buf[8] != '\n')) {
		unlink(marker); /* nothing was moved before a whole marker was in */
		return 0;
	}
	if (extra && n > 9)
		snprintf(extra, extra_size, "%.*s", (int)(n - 9), buf + 9);
	return 1;
}

int bx_pending_take(const char *box_dir, const char *name, int running, char id[9], char *extra, size_t extra_size,
		    char marker[PATH_MAX])
{
	snprintf(marker, PATH_MAX, "%s/%s", box_dir, name);
	if (!bx_pending_read(marker, id, extra, extra_size))
		return 0;
	if (!running) {
		if (extra[0] && bx_box_shim_runs(box_dir))
			return 0; /* a live switch may be under way: settled under the box's lock */
		bx_disk_settle(box_dir);
	}
	return 1;
}

int bx_pending_live(const char *box_dir)
{
	static const char *const markers[] = { PENDING, "clone.pending" };
	char p[PATH_MAX], id[9], extra[8];

	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", box_dir, markers[i]);
		if (bx_pending_read(p, id, extra, sizeof(extra)) && extra[0])
			return 1;
	}
	return 0;
}

int bx_box_shim_runs(const char *box_dir)
{
	uint64_t starttime;
	const char *slash = strrchr(box_dir, '/');
	pid_t pid;

	return bx_proc_read_pidfile(box_dir, &pid, &starttime) == 0 && bx_proc_is_shim(pid, starttime, slash ? slash + 1 : box_dir);
}

void bx_snapshot_undo(const char *box_dir, const char *id)
{
	char disk[PATH_MAX], sdisk[PATH_MAX], sdir[PATH_MAX], marker[PATH_MAX];

	bx_disk_top(box_dir, disk, sizeof(disk)); /* a running box's live top */
	snprintf(sdir, sizeof(sdir), "%s/snapshots/%s", box_dir, id);
	snprintf(sdisk, sizeof(sdisk), "%s/disk.qcow2", sdir);
	snprintf(marker, sizeof(marker), "%s/" PENDING, box_dir);
	bx_layer_put_back(disk, sdisk);
	rmdir(sdir);
	bx_switch_overlay_drop(box_dir, id);
	unlink(marker);
}

int bx_snapshot_recover(boxlite_runtime *rt, const char *box_dir, const char *box_id, int running,
			struct bx_error *err)
{
	char marker[PATH_MAX], id[9], name[256], disk[PATH_MAX], sdisk[PATH_MAX], backing[PATH_MAX];
	struct bx_snapshot_record *v;
	uint64_t size;
	size_t cnt;
	int have = 0;

	if (!bx_pending_take(box_dir, PENDING, running, id, name, sizeof(name), marker))
		return 0;
	if (bx_store_snapshot_list(rt->store, box_id, &v, &cnt, err) < 0)
		return err ? err->code : -EIO;
	for (size_t i = 0; i < cnt; i++)
		have |= !strcmp(v[i].id, id);
	bx_snapshot_records_free(v, cnt);
	if (have) { /* it completed; only the marker was left */
		unlink(marker);
		return 0;
	}
	bx_disk_top(box_dir, disk, sizeof(disk));
	snprintf(sdisk, sizeof(sdisk), "%s/snapshots/%s/disk.qcow2", box_dir, id);
	if (name[0] && bx_qcow2_read_header(disk, &size, backing, sizeof(backing), NULL) == 0 && !strcmp(backing, sdisk)) {
		/* The live switch was made: what the box wrote after it is on top. */
		struct bx_snapshot_record rec = { .name = name, .created_at = (int64_t)time(NULL), .virtual_size = size };
		snprintf(rec.id, sizeof(rec.id), "%s", id);
		snprintf(rec.box_id, sizeof(rec.box_id), "%s", box_id);
		if (bx_store_snapshot_insert(rt->store, &rec, err) < 0)
			return err ? err->code : -EIO;
		chmod(sdisk, 0444);
		unlink(marker);
		return 2;
	}
	bx_snapshot_undo(box_dir, id);
	return 1;
}

BX_EXPORT int boxlite_box_snapshot_list(boxlite_box *box, boxlite_snapshot_info **out, size_t *count,
					boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_snapshot_list(box, out, count, &e_));
	struct bx_error err = { 0 };
	struct bx_snapshot_record *v = NULL;
	boxlite_snapshot_info *infos;
	size_t n = 0;
	int rc;

	*out = NULL;
	*count = 0;
	if ((rc = bx_store_snapshot_list(box->rt->store, box->id, &v, &n, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	if (!(infos = calloc(n + 1, sizeof(*infos)))) {
		bx_snapshot_records_free(v, n);
		return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	}
	for (size_t i = 0; i < n; i++) {
		char sdisk[PATH_MAX];
		struct stat st;
		snap_disk(box, v[i].id, sdisk, sizeof(sdisk));
		infos[i].struct_size = sizeof(infos[i]);
		infos[i].id = strdup(v[i].id);
		infos[i].box_id = strdup(v[i].box_id);
		infos[i].name = v[i].name;
		v[i].name = NULL;
		infos[i].created_at = v[i].created_at;
		infos[i].container_disk_bytes = v[i].virtual_size;
		infos[i].size_bytes = stat(sdisk, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
	}
	bx_snapshot_records_free(v, n);
	*out = infos;
	*count = n;
	return 0;
}

BX_EXPORT void boxlite_snapshot_info_list_free(boxlite_snapshot_info *infos, size_t count)
{
	for (size_t i = 0; infos && i < count; i++) {
		free((char *)infos[i].id);
		free((char *)infos[i].box_id);
		free((char *)infos[i].name);
	}
	free(infos);
}

BX_EXPORT int boxlite_box_snapshot_restore(boxlite_box *box, const char *name, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_snapshot_restore(box, name, &e_));
	struct bx_error err = { 0 };
	struct bx_snapshot_record rec = { 0 };
	char disk[PATH_MAX], tmp[PATH_MAX], sdisk[PATH_MAX];
	int lock = -1, rc;

	if (!box || !name)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = lock_stopped(box, "restore a snapshot", &lock, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = bx_store_snapshot_find(box->rt->store, box->id, name, &rec, &err)) < 0)
		goto out;
	snap_disk(box, rec.id, sdisk, sizeof(sdisk));
	snprintf(disk, sizeof(disk), "%s/disk.qcow2", box->dir);
	snprintf(tmp, sizeof(tmp), "%s/disk.qcow2.restore", box->dir);
	unlink(tmp);
	/* A fresh overlay of the snapshot, swapped in by one rename: what the
	 * box wrote since is gone, the snapshot stays as it was. */
	if ((rc = bx_qcow2_create_overlay(tmp, sdisk, "qcow2", rec.virtual_size, &err)) == 0 && rename(tmp, disk) < 0)
		rc = bx_err_sys(&err, -errno, "replacing %s", disk);
	if (rc < 0)
		unlink(tmp);
	else /* the memory it holds belongs to the disk that is gone */
		bx_checkpoint_drop(box, NULL);
out:
	free(rec.name);
	bx_unlock(&lock);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

/* Rebases onto below every file of the box that backs onto gone. */
struct rebase_dependents {
	const char *qemu, *gone, *below;
	struct bx_error *err;
};

static int rebase_dependent(void *ud, const char *file)
{
	struct rebase_dependents *r = ud;
	char backing[PATH_MAX];
	uint64_t size;

	if (strcmp(file, r->gone) && bx_qcow2_read_header(file, &size, backing, sizeof(backing), NULL) == 0 &&
	    !strcmp(backing, r->gone))
		return bx_disk_rebase(r->qemu, file, r->below, r->err);
	return 0;
}

BX_EXPORT int boxlite_box_snapshot_remove(boxlite_box *box, const char *name, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_snapshot_remove(box, name, &e_));
	struct bx_error err = { 0 };
	struct bx_snapshot_record rec = { 0 };
	char sdisk[PATH_MAX], sdir[PATH_MAX], below[PATH_MAX];
	struct rebase_dependents deps = { .gone = sdisk, .below = below, .err = &err };
	uint64_t size;
	int lock = -1, rc;

	if (!box || !name)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = lock_stopped(box, "remove a snapshot", &lock, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = bx_store_snapshot_find(box->rt->store, box->id, name, &rec, &err)) < 0)
		goto out;
	snap_disk(box, rec.id, sdisk, sizeof(sdisk));
	deps.qemu = box->rt->qemu;
	/* Everything that backs onto it (the disk, newer snapshots, a layer a
	 * running clone or export left) is rebased onto what it backs onto,
	 * what it held copied in first: their content stays. */
	if ((rc = bx_qcow2_read_header(sdisk, &size, below, sizeof(below), &err)) < 0 ||
	    (rc = bx_disk_box_files(box->dir, rebase_dependent, &deps)) < 0 ||
	    (rc = bx_store_snapshot_delete(box->rt->store, rec.id, &err)) < 0)
		goto out;
	snprintf(sdir, sizeof(sdir), "%s/snapshots/%s", box->dir, rec.id);
	chmod(sdisk, 0644);
	unlink(sdisk);
	rmdir(sdir);
out:
	free(rec.name);
	bx_unlock(&lock);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}
