/* Tar entry names from untrusted layers: normalization, validation and OCI
 * whiteout classification. Pure functions (fuzzed by fuzz/fuzz_image_tarpath.c). */
#ifndef BOXLITE_IMAGE_TAR_PATH_H
#define BOXLITE_IMAGE_TAR_PATH_H

#include <stddef.h>

#include "error.h"

#define BX_WH_PREFIX ".wh."
#define BX_WH_META_PREFIX ".wh..wh."
#define BX_WH_OPAQUE_NAME ".wh..wh..opq"

enum bx_whiteout {
	BX_WHITEOUT_NONE,   /* an ordinary entry */
	BX_WHITEOUT_FILE,   /* DIR/.wh.NAME: delete DIR/NAME from lower layers */
	BX_WHITEOUT_OPAQUE, /* DIR/.wh..wh..opq: hide all lower children of DIR */
	BX_WHITEOUT_META,   /* other .wh..wh.* (aufs bookkeeping): skip */
};

/* Normalizes a tar entry name into a root-relative path in out: strips any
 * leading "/" and "./", collapses "//" and "/./", drops a trailing "/".
 * The root itself ("/", ".", "./") becomes "". Refuses (-EINVAL) an empty
 * name and any ".." component; -ENAMETOOLONG when the result does not fit
 * out_size or a component exceeds NAME_MAX. The result never starts with '/',
 * never contains "//", "." or ".." components. */
int bx_tarpath_normalize(const char *name, char *out, size_t out_size, struct bx_error *err);

/* Classifies a normalized path. For BX_WHITEOUT_FILE, target receives the
 * path of the entry to delete; for BX_WHITEOUT_OPAQUE, the directory whose
 * lower children are hidden ("" = the root). -EINVAL for malformed whiteouts
 * (".wh." with an empty name, or naming "." / ".."). */
int bx_tarpath_whiteout(const char *norm, char *target, size_t target_size, enum bx_whiteout *kind,
			struct bx_error *err);

#endif
