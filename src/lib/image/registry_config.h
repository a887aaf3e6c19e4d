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

#include "error.h"

struct bx_registry_conf {
	char **insecure; /* NULL-terminated, never NULL */
	char **search;   /* NULL-terminated, never NULL, at least one entry */
};

/* Loads <home>/registries.json (missing file: defaults). -EINVAL with the
 * file name when it is not valid JSON of that shape. */
int bx_registry_conf_load(const char *home, struct bx_registry_conf *out, struct bx_error *err);
void bx_registry_conf_free(struct bx_registry_conf *c);
/* Whether domain is reached over plain HTTP. */
bool bx_registry_conf_plain_http(const struct bx_registry_conf *c, const char *domain);

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
