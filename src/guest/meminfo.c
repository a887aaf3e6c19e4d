/* /proc/meminfo parsing (meminfo.h). */
#include "meminfo.h"

#include <errno.h>
#include <string.h>

/* "<spaces>N[<spaces>kB]" in [p, end) to bytes; -1 when malformed. */
static int parse_value(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	int digits = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!digits)
		return -1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p >= 2 && p[0] == 'k' && p[1] == 'B') {
		mult = 1024;
		p += 2;
	}
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p != end || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int meminfo_parse(const char *text, size_t len, struct meminfo *out)
{
	const char *p = text, *end = text + len;
	int have_total = 0;

	out->total = out->available = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		uint64_t v;

		if (colon && parse_value(colon + 1, eol, &v) == 0) {
			size_t klen = (size_t)(colon - p);
			if (klen == 8 && !memcmp(p, "MemTotal", 8)) {
				out->total = v;
				have_total = 1;
			} else if (klen == 12 && !memcmp(p, "MemAvailable", 12)) {
				out->available = v;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return have_total ? 0 : -ENOENT;
}
