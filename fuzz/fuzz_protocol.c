/* Fuzzes the frame decoder: arbitrary bytes fed to the framer in arbitrary
 * chunk sizes, every payload walked as TLV with every typed view. Nothing
 * may read out of bounds, crash or loop. */
#include <stdint.h>
#include <string.h>

#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bxp_framer fr;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;
	size_t chunk = size ? (data[0] % 17) + 1 : 1;

	bxp_framer_init(&fr);
	while (pos < size) {
		size_t avail, n;
		uint8_t *space = bxp_framer_space(&fr, &avail);
		struct bxp_header h;
		const uint8_t *payload;
		int rc;

		n = size - pos < chunk ? size - pos : chunk;
		if (n > avail)
			n = avail;
		memcpy(space, data + pos, n);
		bxp_framer_commit(&fr, n);
		pos += n;
		while ((rc = bxp_framer_next(&fr, &h, &payload)) == 1) {
			struct bxp_reader r;
			struct bxp_field f;
			char s[64];
			uint32_t v32;
			uint64_t v64;

			if (h.type == BXP_DATA)
				continue;
			bxp_payload_validate(payload, h.len);
			bxp_reader_init(&r, payload, h.len);
			while (bxp_next(&r, &f) == 1) {
				bxp_field_u32(&f, &v32);
				bxp_field_u64(&f, &v64);
				bxp_field_str(&f, s, sizeof(s));
			}
		}
		if (rc < 0)
			return 0; /* the connection would be closed here */
	}
	return 0;
}
