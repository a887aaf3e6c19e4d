/* Environment merging and string arrays. */
#include <string.h>

#include "strv.h"
#include "test.h"

int main(void)
{
	const char *base[] = { "PATH=/bin", "HOME=/root", "A=1", NULL };
	const char *over[] = { "A=2", "B=3", "PATH=/usr/bin:/bin", NULL };
	char **m = bx_env_merge(base, over);

	CHECK(m && bx_strv_len(m) == 4);
	CHECK(m && !strcmp(m[0], "PATH=/usr/bin:/bin"));
	CHECK(m && !strcmp(m[1], "HOME=/root"));
	CHECK(m && !strcmp(m[2], "A=2"));
	CHECK(m && !strcmp(m[3], "B=3"));
	bx_strv_free(m);

	/* A key that is a prefix of another is a different key. */
	const char *b2[] = { "AB=1", NULL }, *o2[] = { "A=2", NULL };
	m = bx_env_merge(b2, o2);
	CHECK(m && bx_strv_len(m) == 2);
	bx_strv_free(m);

	m = bx_env_merge(NULL, NULL);
	CHECK(m && m[0] == NULL);
	bx_strv_free(m);

	const char *e[] = { "/entry", NULL }, *c[] = { "a", "b", NULL };
	m = bx_strv_concat(e, c);
	CHECK(m && bx_strv_len(m) == 3 && !strcmp(m[0], "/entry") && !strcmp(m[2], "b"));
	bx_strv_free(m);
	TEST_MAIN_END();
}
