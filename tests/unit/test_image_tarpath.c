/* Tar entry path normalization and whiteout classification (src/lib/image/tar_path.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tar_path.h"

/* Stops the test at the first failure; always evaluated (unlike assert under NDEBUG). */
#define REQUIRE(c)                                                                        \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

static void norm_ok(const char *in, const char *want)
{
	struct bx_error err = { 0 };
	char out[PATH_MAX];
	int r = bx_tarpath_normalize(in, out, sizeof(out), &err);

	if (r != 0 || strcmp(out, want) != 0) {
		fprintf(stderr, "normalize('%s') = %d '%s', want '%s' (%s)\n", in, r, out, want, err.msg);
		REQUIRE(0);
	}
}

static void norm_bad(const char *in, int want)
{
	struct bx_error err = { 0 };
	char out[PATH_MAX];
	int r = bx_tarpath_normalize(in, out, sizeof(out), &err);

	if (r != want) {
		fprintf(stderr, "normalize('%s') = %d '%s', want %d\n", in, r, out, want);
		REQUIRE(0);
	}
	REQUIRE(err.code == want && err.msg[0]);
}

static void wh(const char *norm, enum bx_whiteout kind, const char *target)
{
	struct bx_error err = { 0 };
	enum bx_whiteout k;
	char t[PATH_MAX];
	int r = bx_tarpath_whiteout(norm, t, sizeof(t), &k, &err);

	if (r != 0 || k != kind || (target && strcmp(t, target) != 0)) {
		fprintf(stderr, "whiteout('%s') = %d kind %d '%s', want kind %d '%s'\n", norm, r, k, t, kind,
			target ? target : "");
		REQUIRE(0);
	}
}

int main(void)
{
	char longname[NAME_MAX + 2], longpath[PATH_MAX + 10];
	struct bx_error err = { 0 };
	enum bx_whiteout k;
	char t[PATH_MAX], small[8];

	norm_ok("bin/sh", "bin/sh");
	norm_ok("./bin/sh", "bin/sh");
	norm_ok("/bin/sh", "bin/sh");
	norm_ok("//bin//sh/", "bin/sh");
	norm_ok("././bin/./sh", "bin/sh");
	norm_ok("etc/", "etc");
	norm_ok("/", "");
	norm_ok(".", "");
	norm_ok("./", "");
	norm_ok("a..b/..c/c..", "a..b/..c/c..");
	norm_ok("...", "...");
	norm_bad("../../etc/passwd", -EINVAL);
	norm_bad("a/../../b", -EINVAL);
	norm_bad("a/..", -EINVAL);
	norm_bad("/..", -EINVAL);
	norm_bad("..", -EINVAL);
	norm_bad("", -EINVAL);
	norm_bad(NULL, -EINVAL);

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	norm_bad(longname, -ENAMETOOLONG);
	longname[NAME_MAX] = '\0';
	norm_ok(longname, longname);
	memset(longpath, 'a', sizeof(longpath) - 1);
	for (size_t i = 100; i < sizeof(longpath) - 1; i += 100)
		longpath[i] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	norm_bad(longpath, -ENAMETOOLONG);
	REQUIRE(bx_tarpath_normalize("abcdefgh", small, sizeof(small), &err) == -ENAMETOOLONG);
	REQUIRE(bx_tarpath_normalize("abcdefg", small, sizeof(small), NULL) == 0 && !strcmp(small, "abcdefg"));

	wh("bin/sh", BX_WHITEOUT_NONE, "");
	wh("etc/.wh.motd", BX_WHITEOUT_FILE, "etc/motd");
	wh(".wh.opt", BX_WHITEOUT_FILE, "opt");
	wh("a/b/.wh..wh..opq", BX_WHITEOUT_OPAQUE, "a/b");
	wh(".wh..wh..opq", BX_WHITEOUT_OPAQUE, "");
	wh("a/.wh..wh.plnk", BX_WHITEOUT_META, NULL);
	wh("a/x.wh.y", BX_WHITEOUT_NONE, "");
	wh("a/.wh.x/y", BX_WHITEOUT_NONE, ""); /* only the last component counts */
	err = (struct bx_error){ 0 };
	REQUIRE(bx_tarpath_whiteout("a/.wh.", t, sizeof(t), &k, &err) == -EINVAL);
	REQUIRE(bx_tarpath_whiteout("a/.wh..", t, sizeof(t), &k, NULL) == -EINVAL);
	REQUIRE(bx_tarpath_whiteout("a/.wh...", t, sizeof(t), &k, NULL) == -EINVAL);
	REQUIRE(bx_tarpath_whiteout("abc/.wh.defgh", small, sizeof(small), &k, NULL) == -ENAMETOOLONG);
	printf("test_image_tarpath: ok\n");
	return 0;
}
