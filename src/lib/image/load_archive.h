/* `boxlite load`: images from archive files into the home's image store.
 *
 *   docker-archive (docker save, skopeo docker-archive:): manifest.json
 *     [{"Config": "...json", "RepoTags": ["name:tag"], "Layers": ["x.tar", ...]}]
 *     with uncompressed (or gzip/zstd) layer tars; each image is turned into
 *     an OCI layout and imported under each of its RepoTags.
 *   oci-archive (skopeo oci-archive:, buildah): a tar of an OCI image layout;
 *     each tagged manifest of its index.json is imported.
 *
 * The archive is unpacked into a locked work dir under images/tmp with
 * regular files and directories only (links are skipped, names through ".."
 * refused), and every blob is verified by the importer. */
#ifndef BOXLITE_IMAGE_LOAD_ARCHIVE_H
#define BOXLITE_IMAGE_LOAD_ARCHIVE_H

#include "error.h"

/* Loads every image of the archive at path. name (may be NULL) replaces
 * the names the archive gives (useful when it has none); otherwise an
 * oci-archive tag "T" is stored as "localhost/<file stem>:T" unless it is a
 * full reference. On success *refs is a NULL-terminated list of the stored
 * (canonical) references, freed by the caller with bx_strv_free.
 * Returns 0; -ENOENT (no such file); -EINVAL (not an image archive, or a
 * bad entry); -EBADMSG (a blob does not match its digest). */
int bx_image_load_archive(const char *home, const char *path, const char *name, char ***refs,
			  struct bx_error *err);

#endif
