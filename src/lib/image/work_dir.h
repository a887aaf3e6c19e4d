/* Locked work directories under <home>/images/tmp for pulls and loads.
 * A work dir is locked (flock) before it gets its final name, so the image
 * store's sweeper removes only the dirs of processes that died. */
#ifndef BOXLITE_IMAGE_WORK_DIR_H
#define BOXLITE_IMAGE_WORK_DIR_H

#include <stddef.h>

#include "error.h"

/* Creates <images>/tmp/<kind>.XXXXXX, locked; its path goes to out.
 * Returns the fd holding the lock, or -errno. */
int bx_image_work_dir(const char *images, const char *kind, char *out, size_t size, struct bx_error *err);
/* Removes the work dir and closes (unlocks) fd. */
void bx_image_work_dir_remove(const char *path, int fd);

#endif
