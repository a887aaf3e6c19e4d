/* Bearer authentication (rest-api.md §2). The presented token and the key
 * are compared as SHA-256 digests with CRYPTO_memcmp: the time taken
 * depends on neither the key's bytes nor its length. The key is never
 * logged or echoed. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "srv.h"

int srv_auth_ok(const struct srv *s, const char *authorization)
{
	unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
	const char *token;

	if (!s->api_key)
		return 1;
	if (!authorization)
		return 0;
	if (!strncmp(authorization, "Bearer ", 7) || !strncmp(authorization, "bearer ", 7))
		token = authorization + 7;
	else
		return 0;
	SHA256((const unsigned char *)s->api_key, strlen(s->api_key), want);
	SHA256((const unsigned char *)token, strlen(token), got);
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}
