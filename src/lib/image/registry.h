/* A client of one repository on a registry, speaking the distribution API
 * v2 over libcurl (HTTP/1.1 and HTTP/2, TLS verified; plain HTTP for
 * loopback and configured insecure registries).
 *
 * Authentication follows the registry's 401 challenges: Basic with stored
 * credentials, or the Bearer-token flow (token fetched from the realm the
 * WWW-Authenticate header names, with the credentials when there are any).
 * Redirects (blob storage) are followed; the Authorization header is not
 * sent to other hosts. Transient failures (connection errors, 429, 5xx) are
 * retried with backoff, and an interrupted blob download resumes with Range.
 *
 * Every byte handed back is verified against its sha256 digest first. A
 * handle is used by one thread at a time; bx_registry_clone gives another
 * thread its own handle sharing the credentials and token. */
#ifndef BOXLITE_IMAGE_REGISTRY_H
#define BOXLITE_IMAGE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oci_layout.h"

struct bx_registry;

/* The Accept header for manifests: every type we understand, so the
 * registry neither converts to schema1 nor picks a platform for us. */
#define BX_REGISTRY_MANIFEST_ACCEPT                                                                          \
	BX_MT_OCI_INDEX ", " BX_MT_OCI_MANIFEST ", " BX_MT_DOCKER_LIST ", " BX_MT_DOCKER_MANIFEST

struct bx_registries;

/* Opens a client for repo ("library/alpine") on domain ("docker.io",
 * "127.0.0.1:5000"), with the settings and credentials of the runtime's
 * registries regs (may be NULL), else those of home. */
int bx_registry_open(const char *home, const struct bx_registries *regs, const char *domain, const char *repo,
		     struct bx_registry **out, struct bx_error *err);
/* Opens a client with explicit credentials (user NULL: anonymous), as
 * `boxlite login` does before storing them. */
int bx_registry_open_creds(const char *home, const struct bx_registries *regs, const char *domain,
			   const char *repo, const char *user, const char *pass, struct bx_registry **out,
			   struct bx_error *err);
struct bx_registry *bx_registry_clone(const struct bx_registry *r);
void bx_registry_free(struct bx_registry *r);

/* GET /v2/ with authentication: checks reachability and credentials.
 * -EACCES when the credentials are refused. */
int bx_registry_ping(struct bx_registry *r, struct bx_error *err);

/* Fetches the manifest or index named by reference (a tag or a digest).
 * The body's sha256 is computed into digest; when reference is a digest it
 * must match (-EBADMSG). media_type is the document's own mediaType, else
 * the response's Content-Type. At most BX_OCI_MANIFEST_MAX bytes. */
int bx_registry_get_manifest(struct bx_registry *r, const char *reference, char **body, size_t *len,
			     char media_type[128], char digest[BX_DIGEST_MAX], struct bx_error *err);

/* Fetches a small blob (config) into memory, verified, at most max bytes. */
int bx_registry_get_blob(struct bx_registry *r, const struct bx_oci_descriptor *d, size_t max, char **body,
			 size_t *len, struct bx_error *err);

/* Called as bytes arrive: bytes done so far (including a resumed prefix). */
typedef void (*bx_registry_progress_fn)(void *ud, uint64_t done, uint64_t total);

/* Downloads a blob into fd (a regular file opened read-write). When fd
 * already holds a prefix (an interrupted download), that prefix is hashed
 * and the rest is requested with Range. On return 0 fd holds exactly the
 * blob, verified. -EBADMSG on a digest or size mismatch (the caller should
 * discard the file). */
int bx_registry_fetch_blob(struct bx_registry *r, const struct bx_oci_descriptor *d, int fd,
			   bx_registry_progress_fn progress, void *ud, struct bx_error *err);

#endif
