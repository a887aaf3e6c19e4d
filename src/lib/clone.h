/* Clone internals the runtime needs elsewhere (clone.c). */
#ifndef BOXLITE_LIB_CLONE_H
#define BOXLITE_LIB_CLONE_H

#include "internal.h"

/* Makes the box's disk as it is now a base, <home>/bases/<id>.qcow2 (id
 * and base filled), with the box on a new empty overlay over it: moved
 * (stopped box) or switched live (running box). A running box whose disk
 * stands on its snapshots is switched over <box>/layers/<id>.qcow2 instead;
 * the base is then a copy of it made standalone, or, !standalone, that
 * layer itself (read-only, owing the box's directory). clone.pending stays
 * until bx_clone_unmark, once what uses the base is recorded; a crash
 * before is settled by bx_clone_recover. On failure before a switch,
 * nothing is left. */
int bx_clone_make_base(boxlite_box *box, int live, int standalone, char id[9], char base[PATH_MAX],
		       struct bx_error *err);
void bx_clone_unmark(const char *box_dir);
/* Whether the box mounts an anonymous volume (a directory of the home's
 * that goes with the box): clone and export do not carry one yet. */
int bx_box_has_anonymous_volume(const boxlite_box *box);
/* Puts back what a clone (base id) moved out of box_dir; drops the marker. */
void bx_clone_undo(boxlite_runtime *rt, const char *box_dir, const char *id);
/* A clone cut short is undone, or kept when its live switch was made;
 * running as for bx_snapshot_recover. 1 when it undid one. */
int bx_clone_recover(boxlite_runtime *rt, const char *box_dir, int running);
/* Removes the bases in <home>/bases that no box's disk or snapshot uses. */
void bx_bases_gc(boxlite_runtime *rt);

#endif
