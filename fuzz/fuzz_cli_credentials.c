/* The CLI's credentials.toml parser (src/cli/credentials.c): a file a user
 * may edit by hand. */
#include <stddef.h>
#include <stdint.h>

#include "credentials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cred_profile p;
	char err[160];

	if (cred_parse((const char *)data, size, CRED_DEFAULT_PROFILE, &p, err, sizeof(err)) > 0)
		cred_profile_free(&p);
	return 0;
}
