/* Image references, parsed and normalized as docker does:
 *
 *   alpine                      -> docker.io/library/alpine:latest
 *   user/app:1.2                -> docker.io/user/app:1.2
 *   127.0.0.1:5000/test/bb:1    -> 127.0.0.1:5000/test/bb:1
 *   ghcr.io/o/n@sha256:<hex>    -> ghcr.io/o/n@sha256:<hex>
 *
 * The first component is a registry host when it contains '.' or ':', or is
 * "localhost", or has an uppercase letter; otherwise the name is unqualified
 * and gets the default domain (the first of the search list). Pure functions
 * over untrusted strings (fuzzed by fuzz/fuzz_image_reference.c). */
#ifndef BOXLITE_IMAGE_REFERENCE_H
#define BOXLITE_IMAGE_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define BX_REF_DOMAIN_MAX 256
#define BX_REF_PATH_MAX 256 /* docker's name limit is 255 */
#define BX_REF_TAG_MAX 129  /* 128 + NUL */
#define BX_REF_STRING_MAX (BX_REF_DOMAIN_MAX + BX_REF_PATH_MAX + BX_REF_TAG_MAX + 80)

#define BX_REF_DEFAULT_DOMAIN "docker.io"

struct bx_image_ref {
	char domain[BX_REF_DOMAIN_MAX]; /* "docker.io", "127.0.0.1:5000" */
	char path[BX_REF_PATH_MAX];     /* "library/alpine", "test/busybox" */
	char tag[BX_REF_TAG_MAX];       /* "" only when a digest is given without a tag */
	char digest[72];                /* "sha256:<hex>", or "" */
	bool qualified;                 /* the input named a registry */
};

/* Parses s. default_domain (NULL: docker.io) is used for unqualified names;
 * for docker.io a one-component name gets "library/". "index.docker.io" is
 * spelled "docker.io". Returns 0 or -EINVAL with a message naming the rule
 * broken ("invalid reference 'X': repository name must be lowercase"). */
int bx_image_ref_parse(const char *s, const char *default_domain, struct bx_image_ref *out, struct bx_error *err);

/* Formats the canonical string "domain/path:tag", "domain/path@digest" or
 * "domain/path:tag@digest". Returns 0 or -ENAMETOOLONG. */
int bx_image_ref_format(const struct bx_image_ref *r, char *out, size_t size);

/* True when the registry host is loopback: localhost, 127.0.0.0/8, [::1]. */
bool bx_image_ref_domain_is_loopback(const char *domain);

#endif
