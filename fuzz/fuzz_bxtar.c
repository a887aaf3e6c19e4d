/* Fuzzes the tar reader used by `boxlite cp` on both sides (the guest
 * extracts what the host sends, the host extracts what a possibly hostile
 * guest sends): arbitrary bytes, read in arbitrary chunk sizes, every entry
 * and its data walked. Nothing may read out of bounds, crash, loop or
 * allocate beyond BXTAR_PAX_MAX. */
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "bxtar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t n, pos, chunk;
};

static ssize_t src_read(void *ctx, void *buf, size_t n)
{
	struct src *s = ctx;
	size_t k = s->n - s->pos;

	if (k > n)
		k = n;
	if (k > s->chunk)
		k = s->chunk;
	memcpy(buf, s->p + s->pos, k);
	s->pos += k;
	return (ssize_t)k;
}

static struct bxtar_entry ent;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = { data, size, 0, size ? (size_t)data[0] * 7 + 1 : 1 };
	struct bxtar_reader r;
	struct bxtar_err e = { 0 };
	uint8_t buf[1000];
	int rc;

	bxtar_reader_init(&r, src_read, &s);
	while ((rc = bxtar_next(&r, &ent, &e)) == 1) {
		if (strlen(ent.path) > BXTAR_NAME_MAX || strlen(ent.link) > BXTAR_NAME_MAX)
			__builtin_trap();
		while (bxtar_data(&r, buf, sizeof(buf), &e) > 0)
			;
	}
	return 0;
}
