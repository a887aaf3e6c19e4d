/* The home's image store (docs/architecture.md, "Home"):
 *
 *   images/blobs/sha256/<hex>          verified blobs (index, manifest, config, layers)
 *   images/refs/<escaped ref>          "sha256:<manifest hex>\n"
 *   images/bases/<chain-hex>.ext4      read-only ext4 root disk (mode 0444), keyed by
 *                                      the layer chain (bx_image_chain_id): images
 *                                      with the same layers share one
 *   images/bases/.<chain-hex>.lock     flock: one builder per base
 *   images/tmp/import.*                one locked work dir per running import
 *
 * Every file appears by rename of a complete, fsynced temp file, so a killed
 * import leaves at most an unreferenced work dir, which the next import
 * removes. Concurrent imports of the same image are safe. */
#ifndef BOXLITE_IMAGE_IMAGE_STORE_H
#define BOXLITE_IMAGE_IMAGE_STORE_H

#include <stddef.h>

#include "error.h"
#include "oci_layout.h"
#include "rootfs.h"

#define BX_IMAGE_REF_MAX 255

struct bx_image {
	char digest[BX_DIGEST_MAX]; /* manifest digest, "sha256:<hex>" */
	char *base_path;            /* <home>/images/bases/<chain hex>.ext4 */
	char **env;                 /* NULL-terminated, never NULL (may be empty) */
	char **entrypoint;          /* NULL-terminated; NULL when the image sets none */
	char **cmd;                 /* NULL-terminated; NULL when the image sets none */
	char *workdir;              /* NULL when unset */
	char *user;                 /* NULL when unset */
};

/* Frees the members and zeroes *img; NULL-safe, fine on a zeroed struct. */
void bx_image_free(struct bx_image *img);

/* Imports the image tagged tag in the OCI layout layout_dir under the name
 * ref ("localhost/busybox:latest"): verifies and stores its blobs, builds
 * its ext4 base if missing, then records ref → manifest digest. Idempotent.
 * On success fills *out (free with bx_image_free).
 * Returns 0, or -ENOENT (no such layout/tag), -EBADMSG (corrupt blob),
 * -ENOTSUP (unsupported media type / platform), -EINVAL (bad ref, bad
 * document, or a layer entry refused), -EIO (mke2fs/debugfs failed), ... */
int bx_image_import_layout(const char *home, const char *layout_dir, const char *tag, const char *ref,
			   struct bx_image *out, struct bx_error *err);
/* Same, with bx_rootfs_flags and build statistics (stats may be NULL;
 * stats->entries == 0 when the base already existed). */
int bx_image_import_layout_ex(const char *home, const char *layout_dir, const char *tag, const char *ref,
			      unsigned flags, struct bx_image *out, struct bx_rootfs_stats *stats,
			      struct bx_error *err);

/* Looks up ref in the home's store. Returns -ENOENT when ref was never
 * imported. The manifest and config are re-verified against their digests;
 * a missing base is rebuilt from the stored layers. */
int bx_image_lookup(const char *home, const char *ref, struct bx_image *out, struct bx_error *err);

/* The key of m's root disk: sha256 of a format version and m's layer
 * digests in order, so a re-tag or a config-only change shares the disk.
 * Returns 0 or -ENOMEM. */
int bx_image_chain_id(const struct bx_oci_manifest *m, char out[BX_DIGEST_MAX]);

/* Escapes ref into a single file name: [A-Za-z0-9._-] are kept (a leading
 * '.' is escaped), every other byte becomes %XX. Refuses empty refs, refs
 * over BX_IMAGE_REF_MAX bytes and bytes outside printable ASCII (-EINVAL). */
int bx_image_ref_escape(const char *ref, char *out, size_t out_size, struct bx_error *err);

#endif
