/* Resolving image references to images in the home (src/lib/images.c). */
#ifndef BOXLITE_LIB_IMAGES_H
#define BOXLITE_LIB_IMAGES_H

#include "internal.h"

enum bx_pull_policy {
	BX_PULL_MISSING = 0, /* pull when the store lacks the image (default) */
	BX_PULL_ALWAYS,      /* pull every time (only new layers download) */
	BX_PULL_NEVER,       /* use the store only */
};

/* Parses "missing", "always" or "never". -EINVAL otherwise. */
int bx_pull_policy_parse(const char *s, enum bx_pull_policy *out, struct bx_error *err);

/* Resolves ref: the store first (under its normalized name; unqualified
 * names try each registry of the search list), then the built-in images
 * (localhost/NAME:TAG), then a pull as policy allows. */
int bx_images_resolve_policy(boxlite_runtime *rt, const char *ref, enum bx_pull_policy policy,
			     struct bx_image *out, struct bx_error *err);

#endif
