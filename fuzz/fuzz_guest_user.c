/* libFuzzer target: the guest's passwd/group parser and user resolution
 * (src/guest/user.c) over untrusted image files. Input layout:
 *   SPEC '\0' PASSWD '\0' GROUP    (missing parts are empty)
 * Built by fuzz/CMakeLists.txt with clang and run briefly by ctest. */
#include "user.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct user_cred cred;
	const char *p = (const char *)data, *end = p + size;
	const char *nul1 = memchr(p, '\0', size);
	const char *pw = nul1 ? nul1 + 1 : end;
	const char *nul2 = memchr(pw, '\0', (size_t)(end - pw));
	const char *gr = nul2 ? nul2 + 1 : end;
	size_t spec_len = (size_t)((nul1 ? nul1 : end) - p);
	char spec[USER_NAME_MAX * 2];
	char err[256];
	/* Exact-size heap copies so ASan sees any read past a file's end. */
	size_t pw_len = (size_t)((nul2 ? nul2 : end) - pw), gr_len = (size_t)(end - gr);
	char *pwc = malloc(pw_len ? pw_len : 1), *grc = malloc(gr_len ? gr_len : 1);

	if (!pwc || !grc)
		goto out;
	memcpy(pwc, pw, pw_len);
	memcpy(grc, gr, gr_len);
	if (spec_len >= sizeof(spec))
		spec_len = sizeof(spec) - 1;
	memcpy(spec, p, spec_len);
	spec[spec_len] = '\0';

	user_resolve(spec, pwc, pw_len, grc, gr_len, &cred, err, sizeof(err));
	user_resolve(NULL, pwc, pw_len, grc, gr_len, &cred, err, sizeof(err));
	gid_t groups[8];
	group_members_of(grc, gr_len, spec, groups, 8);
out:
	free(pwc);
	free(grc);
	return 0;
}
