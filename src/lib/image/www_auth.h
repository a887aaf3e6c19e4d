/* WWW-Authenticate challenges (RFC 7235) as registries send them:
 *   Basic realm="registry"
 *   Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"
 * A pure parser over untrusted header bytes (fuzzed by fuzz/fuzz_www_auth.c). */
#ifndef BOXLITE_IMAGE_WWW_AUTH_H
#define BOXLITE_IMAGE_WWW_AUTH_H

#include <stddef.h>

#include "error.h"

enum bx_auth_scheme {
	BX_AUTH_NONE,
	BX_AUTH_BASIC,
	BX_AUTH_BEARER,
};

struct bx_auth_challenge {
	enum bx_auth_scheme scheme;
	char realm[1024];
	char service[256];
	char scope[512];
	char error[64]; /* e.g. "insufficient_scope" */
};

/* Parses the value of one WWW-Authenticate header (len bytes, need not be
 * NUL-terminated). The first Basic or Bearer challenge wins; other schemes
 * are skipped. Returns 0, -ENOTSUP (no Basic/Bearer challenge) or -EINVAL
 * (malformed, or a parameter too long). */
int bx_www_auth_parse(const char *value, size_t len, struct bx_auth_challenge *out, struct bx_error *err);

#endif
