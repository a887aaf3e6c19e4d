/* Checkpoint internals the rest of the library needs (checkpoint.c). */
#ifndef BOXLITE_LIB_CHECKPOINT_H
#define BOXLITE_LIB_CHECKPOINT_H

#include "internal.h"

/* <box>/checkpoint.state: the saved VM the next start resumes. */
void bx_checkpoint_path(const boxlite_box *box, char *out, size_t n);
int bx_checkpoint_exists(const boxlite_box *box);
/* Removes it (used up by a start, or stale: the disk changed under it);
 * why (may be NULL) is logged when it could not be used. */
void bx_checkpoint_drop(const boxlite_box *box, const char *why);
/* Removes what a save cut short left (checkpoint.state.tmp: never used). */
void bx_checkpoint_sweep(const boxlite_box *box);

#endif
