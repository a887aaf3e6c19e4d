/* <home>/images/gc.lock: writers of the image store (pulls, imports, box
 * creation between resolving an image and creating its disk) hold it shared;
 * rmi and prune, which delete what no reference or box uses, hold it
 * exclusive, so they never delete what a running import is about to
 * reference. flock: released by the kernel when the holder dies. */
#ifndef BOXLITE_IMAGE_GC_LOCK_H
#define BOXLITE_IMAGE_GC_LOCK_H

#include "error.h"

/* Waits for the lock (creating <home>/images when needed). Returns the fd
 * holding it (close it to release), or -errno. */
int bx_image_gc_lock(const char *home, int exclusive, struct bx_error *err);

#endif
