/* libFuzzer target: image reference parsing and normalization. Invariants:
 * a parsed reference formats to a string that parses again to the same
 * fields (normalization is idempotent), and a refusal always says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[BX_REF_STRING_MAX + 16], out[BX_REF_STRING_MAX], again[BX_REF_STRING_MAX];
	struct bx_error err = { 0 };
	struct bx_image_ref r, r2;
	size_t n = size < sizeof(in) - 1 ? size : sizeof(in) - 1;

	memcpy(in, data, n);
	in[n] = '\0';
	if (bx_image_ref_parse(in, NULL, &r, &err) != 0) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	if (!r.domain[0] || !r.path[0] || (!r.tag[0] && !r.digest[0]))
		abort();
	if (bx_image_ref_format(&r, out, sizeof(out)) != 0)
		abort();
	if (bx_image_ref_parse(out, NULL, &r2, NULL) != 0)
		abort();
	if (bx_image_ref_format(&r2, again, sizeof(again)) != 0 || strcmp(out, again) != 0)
		abort();
	(void)bx_image_ref_domain_is_loopback(r.domain);
	return 0;
}
