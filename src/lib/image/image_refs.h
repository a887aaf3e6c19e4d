/* Listing and removing the references of the home's image store
 * (images/refs/<escaped ref> → manifest digest; see image_store.h). */
#ifndef BOXLITE_IMAGE_IMAGE_REFS_H
#define BOXLITE_IMAGE_IMAGE_REFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oci_layout.h"

struct bx_image_ref_entry {
	char *ref;
	char digest[BX_DIGEST_MAX];
	uint64_t size;   /* bytes of the stored layers */
	int64_t created; /* mtime of the ref record */
};

/* Reverses bx_image_ref_escape. -EINVAL on a malformed name. */
int bx_image_ref_unescape(const char *name, char *out, size_t size);

/* Every reference in the store, sorted by name. A missing store is empty. */
int bx_image_refs_list(const char *home, struct bx_image_ref_entry **out, size_t *n, struct bx_error *err);
void bx_image_refs_free(struct bx_image_ref_entry *e, size_t n);

/* Removes ref; then deletes the manifest, config, layer blobs and root disk
 * no remaining reference uses. Refuses (-EBUSY, naming the box) when a
 * box's disk in <home>/boxes/<id>/disk.qcow2 is backed by that root disk.
 * -ENOENT when ref is not in the store. Takes the gc lock (gc_lock.h). */
int bx_image_refs_remove(const char *home, const char *ref, struct bx_error *err);
/* The same, for a caller already holding the gc lock exclusive. */
int bx_image_refs_remove_locked(const char *home, const char *ref, struct bx_error *err);

/* Parses the stored manifest blob digest (blobs_fd: images/blobs/sha256). */
int bx_image_stored_manifest(int blobs_fd, const char *digest, struct bx_oci_manifest *m);
/* true when the disk of a box in <home>/boxes is backed by base (an
 * absolute path); the box's id goes to box. */
bool bx_image_base_in_use(const char *home, const char *base, char *box, size_t size);

#endif
