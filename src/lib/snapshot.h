/* Snapshot internals the runtime's recovery needs (snapshot.c). */
#ifndef BOXLITE_LIB_SNAPSHOT_H
#define BOXLITE_LIB_SNAPSHOT_H

#include "internal.h"

/* 8 random characters of [a-z0-9]: snapshot and base ids. */
void bx_snapshot_new_id(char id[9]);
/* Undoes a move of disk to layer with an overlay made over it: the
 * overlay (empty) goes, the layer comes back as disk. */
void bx_layer_put_back(const char *disk, const char *layer);
/* The id a pending marker (snapshot.pending, clone.pending) names: 1 with
 * id filled, and extra (may be NULL) with what follows "id\n" ("" if
 * nothing: a stopped box's operation); 0 when there is none (a torn one is
 * removed). */
int bx_pending_read(const char *marker, char id[9], char *extra, size_t extra_size);
/* Removes the overlay a live switch of id made (disk.<id>.qcow2), for an
 * operation undone before its switch. */
void bx_switch_overlay_drop(const char *box_dir, const char *id);
/* Whether the box in box_dir has a shim running (its pid file says so). */
int bx_box_shim_runs(const char *box_dir);
/* Takes the box's lock and settles its state for a disk operation: a box
 * starting or stopping is refused, a running or paused one too unless
 * running_ok (then *live = 1). */
int bx_box_lock_for_disk(boxlite_box *box, const char *what, int running_ok, int *live, int *lock,
			 struct bx_error *err);
/* Puts back what a snapshot create of id moved in box_dir, and drops its
 * marker. */
void bx_snapshot_undo(const char *box_dir, const char *id);
/* running = 0: for a box that is not running (a live marker of a box whose
 * shim runs is left); 1: the caller holds the lock of the running box and
 * its shim has no switch under way. A create cut short (a marker without a
 * store row) is undone, or completed when the live switch was made.
 * Returns 1 when it undid one, 2 when it completed one, 0 when there was
 * nothing to do (or the box runs: later). */
int bx_snapshot_recover(boxlite_runtime *rt, const char *box_dir, const char *box_id, int running,
			struct bx_error *err);
/* The pending marker name (snapshot.pending, clone.pending) in box_dir,
 * ready to be acted on: 1 with id, extra and marker (its path) filled. 0
 * when there is none, or (running = 0) when it is a live switch's and the
 * box's shim runs (left for later); a box that is not running has its disk
 * settled first (bx_disk_settle). */
int bx_pending_take(const char *box_dir, const char *name, int running, char id[9], char *extra, size_t extra_size,
		    char marker[PATH_MAX]);
/* Whether a marker of a live switch (snapshot or clone) is there. */
int bx_pending_live(const char *box_dir);
/* Waits until the box's shim has no live switch under way (a killed
 * caller's may still be). 0, or -ETIMEDOUT / the shim's error. */
int bx_disk_switch_idle(boxlite_box *box, struct bx_error *err);

/* Running box: its current top gets the name keep_as (a hard link), and an
 * empty overlay disk.<id>.qcow2 over keep_as becomes the live top through
 * the shim (disk_live.c). On failure nothing is left. */
int bx_disk_switch_live(boxlite_box *box, const char *keep_as, const char *id, struct bx_error *err);

#endif
