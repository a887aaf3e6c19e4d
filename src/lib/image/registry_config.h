/* Registry settings and credentials kept outside the image store:
 *
 *   <home>/registries.json   {"insecure": ["host:port", ...],   plain HTTP (no TLS)
 *                             "search": ["docker.io", ...]}     for unqualified names
 *   <home>/auth.json         {"auths": {"host": {"auth": base64("user:pass")}}}, 0600,
 *                            written by `boxlite login`
 *   ~/.docker/config.json    read only, same "auths" format (docker login)
 *
 * Loopback registries (localhost, 127.0.0.0/8, [::1]) speak plain HTTP
 * without being listed, as docker does. */
#ifndef BOXLITE_IMAGE_REGISTRY_CONFIG_H
#define BOXLITE_IMAGE_REGISTRY_CONFIG_H

#include <stdbool.h>

#include "boxlite.h"
#include "error.h"

/* Registries set on a runtime (boxlite_runtime_set_image_registries): they
 * come before the home's files. */
struct bx_registry_entry {
	char *host;
	bool plain_http, skip_verify, search;
	char *user, *pass; /* basic auth, or NULL */
	char *token;       /* a bearer token, or NULL */
};
struct bx_registries {
	struct bx_registry_entry *v;
	size_t n;
};
/* Copies n public entries into *out (replacing what it held). -EINVAL
 * naming the bad entry. */
int bx_registries_set(struct bx_registries *out, const boxlite_image_registry *regs, size_t n,
		      struct bx_error *err);
void bx_registries_free(struct bx_registries *r);
/* The entry for domain, or NULL (r may be NULL). */
const struct bx_registry_entry *bx_registries_find(const struct bx_registries *r, const char *domain);

struct bx_registry_conf {
	char **insecure; /* NULL-terminated, never NULL */
	char **search;   /* NULL-terminated, never NULL, at least one entry */
	const struct bx_registries *regs; /* borrowed, may be NULL */
};

/* Loads <home>/registries.json (missing file: defaults), under the
 * runtime's registries regs (may be NULL): their search hosts, when any,
 * replace the file's search list. -EINVAL with the file name when it is
 * not valid JSON of that shape. */
int bx_registry_conf_load(const char *home, const struct bx_registries *regs, struct bx_registry_conf *out,
			  struct bx_error *err);
void bx_registry_conf_free(struct bx_registry_conf *c);
/* Whether domain is reached over plain HTTP. */
bool bx_registry_conf_plain_http(const struct bx_registry_conf *c, const char *domain);
/* Whether domain's TLS certificate goes unverified (skip_verify). */
bool bx_registry_conf_skip_verify(const struct bx_registry_conf *c, const char *domain);

/* Finds credentials for domain: <home>/auth.json first, then
 * $DOCKER_CONFIG/config.json or ~/.docker/config.json. Returns 1 and
 * allocates *user and *pass when found, 0 when none, -errno on a broken file. */
int bx_registry_creds_find(const char *home, const char *domain, char **user, char **pass, struct bx_error *err);
/* Stores (pass != NULL) or removes (pass == NULL) domain's entry in
 * <home>/auth.json, written atomically with mode 0600. Removing a missing
 * entry returns -ENOENT. */
int bx_registry_creds_store(const char *home, const char *domain, const char *user, const char *pass,
			    struct bx_error *err);

#endif
