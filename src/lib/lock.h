/* Short advisory locks on files in <home>/locks/ (flock: released by the
 * kernel when the holder dies, so no lock outlives a crashed process).
 *   box.lock per box: held by operations that change a box (start, stop,
 *     remove, pause, reconciling its state);
 *   home.lock: shared while a box is being created, exclusive for recovery
 *     and cleanup of unrecorded directories. */
#ifndef BOXLITE_LIB_LOCK_H
#define BOXLITE_LIB_LOCK_H

#include "error.h"

/* Waits for the lock (up to a minute, then -EBUSY). *fd gets the lock fd. */
int bx_lock_box(const char *home, const char *id, int *fd, struct bx_error *err);
/* 1 with *fd set when the lock was free, 0 when someone holds it. */
int bx_trylock_box(const char *home, const char *id, int *fd, struct bx_error *err);
int bx_lock_home(const char *home, int exclusive, int *fd, struct bx_error *err);
/* Releases and closes; NULL-safe for *fd < 0. */
void bx_unlock(int *fd);

#endif
