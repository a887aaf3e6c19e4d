/* Wire protocol: round trips, bounds, and malformed input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol.h"
#include "test.h"

static void test_header_roundtrip(void)
{
	struct bxp_header h = { .len = 42, .chan = 7, .type = BXP_DATA, .stream = BXP_STDERR }, g;
	uint8_t b[BXP_HEADER_SIZE];

	bxp_header_encode(&h, b);
	CHECK(b[0] == 42 && b[4] == 7 && b[8] == BXP_DATA && b[10] == BXP_STDERR);
	CHECK(bxp_header_decode(b, &g) == 0);
	CHECK(g.len == 42 && g.chan == 7 && g.type == BXP_DATA && g.stream == BXP_STDERR);
}

static void test_header_rejects(void)
{
	struct bxp_header h = { .len = BXP_MAX_PAYLOAD + 1, .chan = 1, .type = BXP_DATA }, g;
	uint8_t b[BXP_HEADER_SIZE];

	bxp_header_encode(&h, b);
	CHECK(bxp_header_decode(b, &g) == -EMSGSIZE);
	h.len = 0;
	h.type = BXP_TYPE_MAX;
	bxp_header_encode(&h, b);
	CHECK(bxp_header_decode(b, &g) == -EPROTO);
	h.type = 0;
	bxp_header_encode(&h, b);
	CHECK(bxp_header_decode(b, &g) == -EPROTO);
	h.type = BXP_DATA;
	h.stream = BXP_STREAM_MAX;
	bxp_header_encode(&h, b);
	CHECK(bxp_header_decode(b, &g) == -EPROTO);
	h.stream = 0;
	h.flags = 1;
	bxp_header_encode(&h, b);
	CHECK(bxp_header_decode(b, &g) == -EPROTO);
}

static void test_tlv(void)
{
	uint8_t buf[128];
	struct bxp_writer w;
	struct bxp_reader r;
	struct bxp_field f;
	char s[16];
	uint32_t v32;
	uint64_t v64;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_str(&w, BXT_ARG, "hello");
	bxp_put_u32(&w, BXT_WINDOW, 1234);
	bxp_put_u64(&w, BXT_CLOCK_NS, 0x0102030405060708ull);
	CHECK(bxp_writer_ok(&w));
	CHECK(bxp_payload_validate(buf, w.len) == 0);

	bxp_reader_init(&r, buf, w.len);
	CHECK(bxp_next(&r, &f) == 1 && f.tag == BXT_ARG && bxp_field_str(&f, s, sizeof(s)) == 0 &&
	      !strcmp(s, "hello"));
	CHECK(bxp_field_str(&f, s, 4) == -ENAMETOOLONG);
	CHECK(bxp_field_u32(&f, &v32) == -EPROTO);
	CHECK(bxp_next(&r, &f) == 1 && bxp_field_u32(&f, &v32) == 0 && v32 == 1234);
	CHECK(bxp_next(&r, &f) == 1 && bxp_field_u64(&f, &v64) == 0 && v64 == 0x0102030405060708ull);
	CHECK(bxp_next(&r, &f) == 0);

	/* A field whose length runs past the end is refused, as is a stub. */
	CHECK(bxp_payload_validate(buf, w.len - 1) == -EPROTO);
	CHECK(bxp_payload_validate(buf, 3) == -EPROTO);

	/* Embedded NUL in a string is refused. */
	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_bytes(&w, BXT_ARG, "a\0b", 3);
	bxp_reader_init(&r, buf, w.len);
	CHECK(bxp_next(&r, &f) == 1 && bxp_field_str(&f, s, sizeof(s)) == -EPROTO);

	/* Overflow is sticky and reported once. */
	bxp_writer_init(&w, buf, 10);
	bxp_put_str(&w, BXT_ARG, "0123456789");
	bxp_put_u32(&w, BXT_PID, 1);
	CHECK(!bxp_writer_ok(&w));
}

static void test_framer_split_and_bad(void)
{
	static struct bxp_framer fr;
	uint8_t frame[64];
	struct bxp_header h;
	const uint8_t *p;
	long n = bxp_frame_build(frame, sizeof(frame), 3, BXP_DATA, BXP_STDOUT, "hello", 5);
	size_t avail;

	CHECK(n == BXP_HEADER_SIZE + 5);
	bxp_framer_init(&fr);
	/* Byte by byte: no frame until the last byte arrives. */
	for (long i = 0; i < n; i++) {
		CHECK(bxp_framer_next(&fr, &h, &p) == 0);
		uint8_t *space = bxp_framer_space(&fr, &avail);
		*space = frame[i];
		bxp_framer_commit(&fr, 1);
	}
	CHECK(bxp_framer_next(&fr, &h, &p) == 1 && h.chan == 3 && h.len == 5 && !memcmp(p, "hello", 5));
	CHECK(bxp_framer_next(&fr, &h, &p) == 0);

	/* An oversized length is an error before any payload is buffered. */
	struct bxp_header big = { .len = BXP_MAX_PAYLOAD + 1, .chan = 1, .type = BXP_DATA };
	uint8_t *space = bxp_framer_space(&fr, &avail);
	bxp_header_encode(&big, space);
	bxp_framer_commit(&fr, BXP_HEADER_SIZE);
	CHECK(bxp_framer_next(&fr, &h, &p) == -EMSGSIZE);
}

static void test_send_over_socket(void)
{
	int sv[2];
	static struct bxp_framer fr;
	struct bxp_header h;
	const uint8_t *p;
	size_t avail;
	uint8_t *space;
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(bxp_send(sv[0], 9, BXP_PING, 0, NULL, 0) == 0);
	CHECK(bxp_send(sv[0], 9, BXP_DATA, BXP_STDIN, "xyz", 3) == 0);
	close(sv[0]);
	bxp_framer_init(&fr);
	space = bxp_framer_space(&fr, &avail);
	n = read(sv[1], space, avail);
	CHECK(n == 2 * BXP_HEADER_SIZE + 3);
	bxp_framer_commit(&fr, (size_t)n);
	CHECK(bxp_framer_next(&fr, &h, &p) == 1 && h.type == BXP_PING && h.chan == 9);
	CHECK(bxp_framer_next(&fr, &h, &p) == 1 && h.type == BXP_DATA && h.len == 3);
	/* A closed peer is an error, not a SIGPIPE. */
	CHECK(bxp_send(sv[1], 1, BXP_PING, 0, NULL, 0) == -EPIPE);
	close(sv[1]);
	CHECK(bxp_send(-1, 1, BXP_PING, 0, NULL, 0) == -EBADF);
	CHECK(bxp_send(0, 1, BXP_DATA, 0, "", BXP_MAX_PAYLOAD + 1) == -EMSGSIZE);
}

int main(void)
{
	test_header_roundtrip();
	test_header_rejects();
	test_tlv();
	test_framer_split_and_bad();
	test_send_over_socket();
	TEST_MAIN_END();
}
