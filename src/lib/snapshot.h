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
 * id filled; 0 when there is none (a torn one is removed). */
int bx_pending_read(const char *marker, char id[9]);
/* Puts back what a snapshot create of id moved in box_dir, and drops its
 * marker. */
void bx_snapshot_undo(const char *box_dir, const char *id);
/* At runtime open: a create cut short (a marker without a store row) is
 * undone. Returns 1 when it undid one, 0 when there was nothing to do. */
int bx_snapshot_recover(boxlite_runtime *rt, const char *box_dir, const char *box_id, struct bx_error *err);

#endif
