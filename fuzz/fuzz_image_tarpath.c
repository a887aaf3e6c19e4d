/* libFuzzer target: tar entry name normalization and whiteout classification.
 * Checks the invariants the unpacker relies on: a normalized path is relative,
 * has no empty, "." or ".." component, and normalizing it again changes nothing. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tar_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_normalized(const char *p)
{
	const char *c = p;

	if (p[0] == '/')
		abort();
	while (*c) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);

		if (len == 0 || len > NAME_MAX || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			abort();
		c += len;
		if (*c == '/') {
			c++;
			if (!*c)
				abort(); /* trailing slash */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[PATH_MAX + 64], out[PATH_MAX], again[PATH_MAX], target[PATH_MAX];
	struct bx_error err = { 0 };
	enum bx_whiteout kind;
	size_t n = size < sizeof(in) - 1 ? size : sizeof(in) - 1;

	memcpy(in, data, n);
	in[n] = '\0';
	if (bx_tarpath_normalize(in, out, sizeof(out), &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	check_normalized(out);
	if (bx_tarpath_normalize(out[0] ? out : ".", again, sizeof(again), NULL) != 0 || strcmp(out, again) != 0)
		abort();
	if (bx_tarpath_whiteout(out, target, sizeof(target), &kind, NULL) == 0) {
		if (kind == BX_WHITEOUT_FILE) {
			check_normalized(target);
			if (!target[0])
				abort();
		}
		if (kind == BX_WHITEOUT_OPAQUE)
			check_normalized(target);
	}
	return 0;
}
