/* Clones of a box (docs/snapshots.md, "Clone"): thin copies whose disks
 * start from the source's. The source's disk moves to
 * <home>/bases/<id>.qcow2 (read-only; a running box's is switched there
 * live, disk_live.c) and the source and every clone get an empty overlay
 * over it, so N clones of a box with 1 GiB written cost N qcow2 headers. A base is made standalone of the source's directory first
 * (rebased onto the image's base when the disk sat on snapshot layers), so
 * removing the source never breaks a clone; a base no disk uses any more is
 * removed with the last box that used it (bx_bases_gc). Each clone is a new
 * box: its own id, hence hostname and MAC; it boots with its own RNG seed;
 * it gets a copy of each anonymous volume.
 *
 * Crash safety: clone.pending in the source's directory (the base's id)
 * from before the disk moves until the clones are recorded; recovery puts
 * the disk back when no clone was recorded on the base (a live switch that
 * was made stays: the source's writes are on top of it). */
#include <dirent.h>
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
#include "clone.h"
#include "disk.h"
#include "fsutil.h"
#include "lock.h"
#include "netvol.h"
#include "qcow2.h"
#include "remote.h"
#include "snapshot.h"

#define PENDING "clone.pending"

static void base_path(const char *home, const char *id, char *out, size_t n)
{
	snprintf(out, n, "%s/bases/%s.qcow2", home, id);
}

/* The first layer of a chain outside the box's directory (the image's
 * base, or a clone's or an import's base): what a base is rebased onto. */
struct outside {
	const char *box_dir;
	char file[PATH_MAX];
};

static int first_outside(void *ud, const char *file, int is_qcow2)
{
	struct outside *o = ud;
	size_t n = strlen(o->box_dir);
	(void)is_qcow2;
	if (strncmp(file, o->box_dir, n) || file[n] != '/') {
		snprintf(o->file, sizeof(o->file), "%s", file);
		return 1;
	}
	return 0;
}

/* Whether the box directory holds something the base backs onto. */
static int backs_into(const char *base, const char *box_dir)
{
	char next[PATH_MAX];
	uint64_t size;
	return bx_qcow2_read_header(base, &size, next, sizeof(next), NULL) == 0 && !strncmp(next, box_dir, strlen(box_dir)) &&
	       next[strlen(box_dir)] == '/';
}

int bx_box_has_anonymous_volume(const boxlite_box *box)
{
	return bx_netvol_has_anonymous(&box->nv, box->rt->home);
}

/* A running box's top that stood on its snapshots is switched to this
 * name inside the box (it owes the box's directory); clones get a copy. */
static void layer_path(const char *box_dir, const char *id, char *out, size_t n)
{
	snprintf(out, n, "%s/layers/%s.qcow2", box_dir, id);
}

void bx_clone_undo(boxlite_runtime *rt, const char *box_dir, const char *id)
{
	char disk[PATH_MAX], base[PATH_MAX], layer[PATH_MAX], marker[PATH_MAX];

	bx_disk_top(box_dir, disk, sizeof(disk)); /* a running box's live top */
	snprintf(marker, sizeof(marker), "%s/" PENDING, box_dir);
	base_path(rt->home, id, base, sizeof(base));
	layer_path(box_dir, id, layer, sizeof(layer));
	bx_layer_put_back(disk, base);
	bx_layer_put_back(disk, layer);
	bx_switch_overlay_drop(box_dir, id);
	unlink(marker);
}

/* A copy of src at dst (created), holes kept where the kernel can. */
static int copy_file(const char *src, const char *dst, struct bx_error *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	struct stat st;

	if (in < 0 || fstat(in, &st) < 0 || (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
		rc = bx_err_sys(err, -errno, "copying %s to %s", src, dst);
		goto out;
	}
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = bx_err_sys(err, n < 0 ? -errno : -EIO, "copying %s to %s", src, dst);
			goto out;
		}
		left -= n;
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc < 0 && out >= 0)
		unlink(dst);
	return rc;
}

/* For clones of a running box whose top stood on its snapshots: a base of
 * its own in <home>/bases, standalone of the box's directory: a copy of
 * the frozen layer rebased onto the first layer outside the box (what the
 * snapshot layers held is copied in). */
static int standalone_copy(boxlite_box *box, const char *layer, const char *below, const char *base,
			   struct bx_error *err)
{
	char tmp[PATH_MAX + 16];
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", base);
	unlink(tmp);
	if ((rc = copy_file(layer, tmp, err)) == 0 && (rc = bx_disk_rebase(box->rt->qemu, tmp, below, err)) == 0 &&
	    rename(tmp, base) < 0)
		rc = bx_err_sys(err, -errno, "naming %s", base);
	if (rc < 0)
		unlink(tmp);
	else
		chmod(base, 0444);
	return rc;
}

int bx_clone_make_base(boxlite_box *box, int live, int standalone, char id[9], char base[PATH_MAX],
		       struct bx_error *err)
{
	char disk[PATH_MAX], bases[PATH_MAX], backing[PATH_MAX], marker[16], layer[PATH_MAX];
	struct outside below = { .box_dir = box->dir };
	uint64_t size;
	int dirfd, rc, in_box;

	bx_disk_top(box->dir, disk, sizeof(disk));
	/* A running box's top that stands on its snapshots cannot be rebased
	 * off them (QEMU holds it): it is frozen into a layer of the box's own. */
	in_box = live && backs_into(disk, box->dir);
	if ((rc = bx_qcow2_read_header(disk, &size, backing, sizeof(backing), err)) < 0 ||
	    (rc = bx_qcow2_walk(disk, first_outside, &below, err)) < 0)
		return rc;
	bx_snapshot_new_id(id);
	snprintf(bases, sizeof(bases), "%s/bases", box->rt->home);
	if (mkdir(bases, 0755) < 0 && errno != EEXIST)
		return bx_err_sys(err, -errno, "%s", bases);
	base_path(box->rt->home, id, base, PATH_MAX);
	layer_path(box->dir, id, layer, sizeof(layer));
	if (in_box) {
		snprintf(bases, sizeof(bases), "%s/layers", box->dir);
		if (mkdir(bases, 0755) < 0 && errno != EEXIST)
			return bx_err_sys(err, -errno, "%s", bases);
	}
	if ((dirfd = open(box->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return bx_err_sys(err, -errno, "%s", box->dir);
	/* A live marker says so: once its switch is made it stays. */
	snprintf(marker, sizeof(marker), !live ? "%s" : in_box ? "%s\nlayer" : "%s\nlive", id);
	rc = bx_write_file_atomic(dirfd, PENDING, marker, strlen(marker), 0600, err);
	close(dirfd);
	if (rc < 0)
		return rc;
	if (in_box) {
		/* The switch stays whatever follows: the box now runs over layer. */
		if ((rc = bx_disk_switch_live(box, layer, id, err)) < 0)
			bx_clone_undo(box->rt, box->dir, id);
		else if (!standalone)
			snprintf(base, PATH_MAX, "%s", layer);
		else if (!below.file[0])
			rc = bx_err(err, -EIO, "%s: its chain has no layer outside the box", layer);
		else
			rc = standalone_copy(box, layer, below.file, base, err);
		return rc;
	}
	if (live) {
		rc = bx_disk_switch_live(box, base, id, err);
	} else if (rename(disk, base) < 0) {
		rc = bx_err_sys(err, -errno, "moving %s", disk);
	} else {
		/* Standalone of the source's directory (its snapshot layers go with it). */
		if (backs_into(base, box->dir))
			rc = below.file[0] ? bx_disk_rebase(box->rt->qemu, base, below.file, err)
					   : bx_err(err, -EIO, "%s: its chain has no layer outside the box", base);
		chmod(base, 0444);
		if (rc == 0)
			rc = bx_qcow2_create_overlay(disk, base, "qcow2", size, err);
	}
	if (rc < 0)
		bx_clone_undo(box->rt, box->dir, id);
	return rc;
}

void bx_clone_unmark(const char *box_dir)
{
	char marker[PATH_MAX];
	snprintf(marker, sizeof(marker), "%s/" PENDING, box_dir);
	unlink(marker);
}

/* Removes the anonymous volumes a config names (a clone that was not made). */
static void drop_anonymous(const char *home, const char *config)
{
	struct bx_netvol nv = { 0 };
	json_t *j = json_loads(config, 0, NULL);

	if (j && bx_netvol_from_json(&nv, j) == 0)
		bx_netvol_remove_anonymous(&nv, home);
	bx_netvol_free(&nv);
	json_decref(j);
}

BX_EXPORT int boxlite_box_clone(boxlite_box *box, size_t count, const char *const *names, boxlite_box **out,
				boxlite_error **errp)
{
	BX_REMOTE(box && box->remote && out && count, bx_remote_clone(box, count, names, out, &e_));
	struct bx_error err = { 0 };
	char base[PATH_MAX], backing[PATH_MAX], id[9];
	uint64_t size;
	size_t made = 0;
	int lock = -1, rc, live;

	if (!box || !out || !count || count > 64)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	memset(out, 0, count * sizeof(*out));
	if ((rc = bx_box_lock_for_disk(box, "clone it", 1, &live, &lock, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = bx_clone_make_base(box, live, 1, id, base, &err)) < 0 ||
	    (rc = bx_qcow2_read_header(base, &size, backing, sizeof(backing), &err)) < 0)
		goto out;
	for (made = 0; made < count; made++) {
		/* Each clone gets a copy of each anonymous volume of its own. */
		struct bx_box_record rec = *box->rec;
		char *config = NULL;

		if ((rc = bx_netvol_copy_anonymous(box->rec->config, box->rt->home, &config, &err)) < 0)
			break;
		rec.config = config;
		rc = bx_box_create_from(box->rt, &rec, names ? names[made] : NULL, base, size, &out[made], &err);
		if (rc < 0)
			drop_anonymous(box->rt->home, config);
		free(config);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		for (size_t i = 0; i < made; i++) {
			boxlite_box_remove(out[i], NULL);
			out[i] = NULL;
		}
		if (!live) { /* a live switch stays: the source now stands on the base */
			bx_clone_undo(box->rt, box->dir, id);
			goto out;
		}
	}
	bx_clone_unmark(box->dir);
out:
	bx_unlock(&lock);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

int bx_clone_recover(boxlite_runtime *rt, const char *box_dir, int running)
{
	char marker[PATH_MAX], id[9], base[PATH_MAX], boxes[PATH_MAX], p[PATH_MAX], backing[PATH_MAX], live[8];
	char layer[PATH_MAX];
	struct dirent *de;
	uint64_t size;
	int used = 0;
	DIR *d;

	if (!bx_pending_take(box_dir, PENDING, running, id, live, sizeof(live), marker))
		return 0;
	base_path(rt->home, id, base, sizeof(base));
	layer_path(box_dir, id, layer, sizeof(layer));
	/* The live switch was made: the source's own writes are over the base
	 * (or over its layer, when it stood on its snapshots). */
	bx_disk_top(box_dir, p, sizeof(p));
	if (live[0] && bx_qcow2_read_header(p, &size, backing, sizeof(backing), NULL) == 0 &&
	    (!strcmp(backing, base) || !strcmp(backing, layer)))
		used = 1;
	/* A clone recorded on the base: the clone finished; keep all. */
	snprintf(boxes, sizeof(boxes), "%s/boxes", rt->home);
	if (!used && (d = opendir(boxes))) {
		while (!used && (de = readdir(d))) {
			snprintf(p, sizeof(p), "%s/%s/disk.qcow2", boxes, de->d_name);
			if (de->d_name[0] != '.' && strncmp(p, box_dir, strlen(box_dir)) &&
			    bx_qcow2_read_header(p, &size, backing, sizeof(backing), NULL) == 0 && !strcmp(backing, base))
				used = 1;
		}
		closedir(d);
	}
	if (used) {
		unlink(marker);
		return 0;
	}
	bx_clone_undo(rt, box_dir, id);
	return 1;
}

/* The bases in use, as bx_bases_gc collects them. */
struct used_bases {
	const char *prefix; /* "<home>/bases/" */
	char (*set)[PATH_MAX];
	size_t n, cap;
};

static int mark_base(void *ud, const char *file, int is_qcow2)
{
	struct used_bases *u = ud;
	if (!strncmp(file, u->prefix, strlen(u->prefix)) && u->n < u->cap)
		snprintf(u->set[u->n++], PATH_MAX, "%s", file);
	return 0;
}

void bx_bases_gc(boxlite_runtime *rt)
{
	char bases[PATH_MAX], boxes[PATH_MAX], p[PATH_MAX];
	struct used_bases u = { .prefix = bases, .cap = 1024 };
	struct dirent *de;
	DIR *d;

	snprintf(bases, sizeof(bases), "%s/bases/", rt->home);
	snprintf(boxes, sizeof(boxes), "%s/boxes", rt->home);
	if (!(d = opendir(bases)))
		return; /* no clone was ever made: no need to read every box's disks */
	while ((de = readdir(d)) && de->d_name[0] == '.')
		;
	closedir(d);
	if (!de || !(u.set = calloc(u.cap, PATH_MAX)) || !(d = opendir(boxes))) {
		free(u.set);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", boxes, de->d_name);
		bx_disk_walk_box(p, mark_base, &u);
	}
	closedir(d);
	/* A full set (over 1024 bases in use) keeps everything: better a
	 * leftover than a base gone from under a box. */
	if (u.n < u.cap && (d = opendir(bases))) {
		time_t now = time(NULL);
		while ((de = readdir(d))) {
			int keep = de->d_name[0] == '.';
			struct stat st;
			snprintf(p, sizeof(p), "%s%s", bases, de->d_name);
			/* A base made moments ago may not have its overlays yet. */
			if (stat(p, &st) == 0 && now - st.st_ctime < 600)
				keep = 1;
			for (size_t i = 0; i < u.n && !keep; i++)
				keep = !strcmp(u.set[i], p);
			if (!keep) {
				chmod(p, 0644);
				unlink(p);
			}
		}
		closedir(d);
	}
	free(u.set);
}
