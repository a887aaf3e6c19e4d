/* Clone internals the runtime needs elsewhere (clone.c). */
#ifndef BOXLITE_LIB_CLONE_H
#define BOXLITE_LIB_CLONE_H

#include "internal.h"

/* Puts back what a clone (base id) moved out of box_dir; drops the marker. */
void bx_clone_undo(boxlite_runtime *rt, const char *box_dir, const char *id);
/* At runtime open: a clone cut short is undone. 1 when it undid one. */
int bx_clone_recover(boxlite_runtime *rt, const char *box_dir);
/* Removes the bases in <home>/bases that no box's disk or snapshot uses. */
void bx_bases_gc(boxlite_runtime *rt);

#endif
