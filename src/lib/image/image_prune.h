/* `boxlite image prune`: removes the images whose root disk no box uses,
 * then the blobs and root disks no remaining image uses, the downloads and
 * work dirs of processes that died. Holds the gc lock exclusive. */
#ifndef BOXLITE_IMAGE_IMAGE_PRUNE_H
#define BOXLITE_IMAGE_IMAGE_PRUNE_H

#include <stdint.h>

#include "error.h"

/* *removed: the references removed (NULL-terminated, never NULL on
 * success; free with bx_strv_free); *reclaimed: bytes freed on disk. */
int bx_image_prune(const char *home, char ***removed, uint64_t *reclaimed, struct bx_error *err);

#endif
