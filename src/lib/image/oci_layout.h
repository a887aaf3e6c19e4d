/* Reading OCI image layouts (index.json + blobs/sha256/...) and parsing the
 * JSON documents in them: image index, image manifest, image config.
 *
 * The parsers are pure functions over bytes (fuzzed by fuzz/fuzz_image_manifest.c).
 * Blob readers verify each blob's sha256 and size before returning it. */
#ifndef BOXLITE_IMAGE_OCI_LAYOUT_H
#define BOXLITE_IMAGE_OCI_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define BX_DIGEST_HEX_LEN 64
#define BX_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

/* Upper bounds on what we accept (a larger document is refused, not truncated). */
#define BX_OCI_INDEX_MAX (4u << 20)    /* index.json, image index blobs */
#define BX_OCI_MANIFEST_MAX (4u << 20) /* image manifests */
#define BX_OCI_CONFIG_MAX (8u << 20)   /* image configs (history can be long) */
#define BX_OCI_LAYERS_MAX 256 /* overlay-based runtimes stop near 128 */
#define BX_OCI_ARRAY_MAX 65536 /* Env / Cmd / Entrypoint entries */

#define BX_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define BX_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define BX_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define BX_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BX_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BX_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

#if defined(__x86_64__)
#define BX_OCI_HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define BX_OCI_HOST_ARCH "arm64"
#else
#error "unsupported host architecture"
#endif

enum bx_oci_kind {
	BX_OCI_KIND_UNKNOWN,
	BX_OCI_KIND_MANIFEST, /* OCI or Docker v2s2 image manifest */
	BX_OCI_KIND_INDEX,    /* OCI image index or Docker manifest list */
};

enum bx_layer_compression {
	BX_LAYER_TAR,
	BX_LAYER_GZIP,
	BX_LAYER_ZSTD,
};

struct bx_oci_descriptor {
	char media_type[128]; /* "" when the descriptor has none */
	char digest[BX_DIGEST_MAX];
	int64_t size;
};

struct bx_oci_manifest {
	struct bx_oci_descriptor config;
	struct bx_oci_descriptor *layers;
	enum bx_layer_compression *compression; /* one per layer */
	size_t n_layers;
};

/* The runtime part of an image config. Arrays are NULL-terminated. env is
 * never NULL (possibly empty); entrypoint/cmd are NULL when the config does
 * not set them; workdir/user are NULL when unset or empty. */
struct bx_oci_config {
	char **env;
	char **entrypoint;
	char **cmd;
	char *workdir;
	char *user;
	char *architecture;
	char *os;
	size_t n_diff_ids; /* rootfs.diff_ids count (checked against the layers) */
};

/* A resolved, verified image read from a layout: the raw bytes of each JSON
 * blob (to store them as-is) and their parsed form. */
struct bx_oci_image {
	char manifest_digest[BX_DIGEST_MAX];
	char *manifest_json;
	size_t manifest_len;
	char *config_json;
	size_t config_len;
	/* When the tag named an image index: its digest and bytes, else "" / NULL. */
	char index_digest[BX_DIGEST_MAX];
	char *index_json;
	size_t index_len;
	struct bx_oci_manifest manifest;
	struct bx_oci_config config;
};

/* ---- digests ---- */

/* Checks that s is "sha256:" + 64 lowercase hex digits; copies the hex part
 * into hex (may be NULL). -EINVAL if malformed, -ENOTSUP for other algorithms. */
int bx_digest_parse(const char *s, char hex[BX_DIGEST_HEX_LEN + 1], struct bx_error *err);
/* Formats "sha256:<hex>" of data into out. */
void bx_sha256_digest(const void *data, size_t len, char out[BX_DIGEST_MAX]);

/* ---- pure parsers (untrusted bytes in, bounded work) ---- */

/* Classifies a JSON document by its mediaType / shape (manifests vs layers). */
enum bx_oci_kind bx_oci_kind_of(const char *json, size_t len);

/* From an OCI layout's index.json, picks the descriptor whose
 * org.opencontainers.image.ref.name annotation equals tag; when several carry
 * the tag, the one whose platform is linux/<host arch> wins.
 * -ENOENT when no entry has the tag. */
int bx_oci_index_find_tag(const char *json, size_t len, const char *tag, struct bx_oci_descriptor *out,
			  struct bx_error *err);
/* From an image index (or Docker manifest list), picks the manifest for
 * linux/<host arch>. -ENOENT when there is none. */
int bx_oci_index_find_platform(const char *json, size_t len, struct bx_oci_descriptor *out, struct bx_error *err);
/* Parses an image manifest: config descriptor and layer descriptors, with
 * supported media types only. Free with bx_oci_manifest_free. */
int bx_oci_manifest_parse(const char *json, size_t len, struct bx_oci_manifest *out, struct bx_error *err);
void bx_oci_manifest_free(struct bx_oci_manifest *m);
/* Parses an image config. Free with bx_oci_config_free. */
int bx_oci_config_parse(const char *json, size_t len, struct bx_oci_config *out, struct bx_error *err);
void bx_oci_config_free(struct bx_oci_config *c);

/* Maps a layer media type to its compression; -ENOTSUP for other types
 * (foreign/non-distributable layers are accepted like the regular ones). */
int bx_oci_layer_compression(const char *media_type, enum bx_layer_compression *out, struct bx_error *err);

/* ---- layouts on disk ---- */

/* Opens blobs/sha256/<hex> of the layout (dirfd) as a regular file, checking
 * that its size equals the descriptor's. Does not hash it. Returns an fd. */
int bx_oci_blob_open(int layout_fd, const char *layout_name, const struct bx_oci_descriptor *d,
		     struct bx_error *err);
/* Reads a whole blob (at most max bytes) into a NUL-terminated buffer and
 * verifies its sha256: "blob sha256:ab12… is corrupt: digest mismatch". */
int bx_oci_blob_read(int layout_fd, const char *layout_name, const struct bx_oci_descriptor *d, size_t max,
		     char **data, size_t *len, struct bx_error *err);

/* Reads exactly d->size bytes from src_fd while hashing them and writes
 * them to dst_fd (-1: verify only). -EBADMSG naming what and the digest when
 * the content does not match d. */
int bx_oci_blob_copy_verified(int src_fd, int dst_fd, const struct bx_oci_descriptor *d, const char *what,
			      struct bx_error *err);

/* Resolves tag in the layout at dir (through an image index if needed),
 * reads and verifies the manifest and config blobs, and parses both.
 * Layer blobs are not read here (see bx_oci_blob_open). */
int bx_oci_layout_open_image(const char *dir, const char *tag, struct bx_oci_image *out, struct bx_error *err);
void bx_oci_image_free(struct bx_oci_image *img);

/* Frees a NULL-terminated string array (NULL-safe). */
void bx_oci_strv_free(char **v);

#endif
