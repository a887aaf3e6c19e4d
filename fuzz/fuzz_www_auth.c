/* libFuzzer target: WWW-Authenticate header parsing (bytes from any
 * registry). Invariants: bounded fields, NUL-terminated, a known scheme on
 * success and a message on failure. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "www_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bx_auth_challenge c;
	struct bx_error err = { 0 };

	if (bx_www_auth_parse((const char *)data, size, &c, &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (c.scheme != BX_AUTH_BASIC && c.scheme != BX_AUTH_BEARER)
		abort();
	if (strnlen(c.realm, sizeof(c.realm)) == sizeof(c.realm) || strnlen(c.service, sizeof(c.service)) == sizeof(c.service) ||
	    strnlen(c.scope, sizeof(c.scope)) == sizeof(c.scope) || strnlen(c.error, sizeof(c.error)) == sizeof(c.error))
		abort();
	return 0;
}
