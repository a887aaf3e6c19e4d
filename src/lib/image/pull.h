/* Pulling an image from a registry into the home's image store, in the
 * store format of image_store.h:
 *
 *   1. resolve the reference to a manifest (through an index or manifest
 *      list, picking the requested platform), verifying every document's
 *      sha256;
 *   2. download the layers the store lacks, a few at a time, each into
 *      images/partial/<hex> (resumed with Range after an interruption),
 *      verified, then renamed into images/blobs/sha256/<hex>; a layer that
 *      is already stored is never downloaded again;
 *   3. hand the verified manifest and config to the layout importer, which
 *      builds the ext4 base and records the reference.
 *
 * A blob that fails verification is deleted, never kept. */
#ifndef BOXLITE_IMAGE_PULL_H
#define BOXLITE_IMAGE_PULL_H

#include <stdint.h>

#include "boxlite.h"
#include "error.h"
#include "image_store.h"
#include "reference.h"

#define BX_PULL_MAX_PARALLEL 3

struct bx_registries;

struct bx_pull_opts {
	const char *platform; /* "os/arch[/variant]"; NULL: linux/<host arch> */
	const struct bx_registries *regs; /* the runtime's registries, or NULL */
	boxlite_pull_progress progress;
	void *user_data;
};

/* Splits "linux/arm64/v8" into its parts (variant "" when absent).
 * -EINVAL for anything else. */
int bx_platform_parse(const char *s, char os[32], char arch[32], char variant[32], struct bx_error *err);

/* From an image index or manifest list (untrusted bytes), picks the
 * manifest for os/arch/variant (an empty variant matches any, and arm64
 * matches a missing variant or "v8"). -ENOENT naming the platforms on
 * offer when none matches. */
int bx_index_select_platform(const char *json, size_t len, const char *os, const char *arch, const char *variant,
			     struct bx_oci_descriptor *out, struct bx_error *err);

/* Pulls ref into the store under home and fills *out as bx_image_lookup
 * does. Returns 0; -ENOENT (no such repository, tag or platform), -EACCES
 * (authentication), -EBADMSG (a digest mismatch), -EHOSTUNREACH, -EIO. */
int bx_image_pull(const char *home, const struct bx_image_ref *ref, const struct bx_pull_opts *opts,
		  struct bx_image *out, struct bx_error *err);

#endif
