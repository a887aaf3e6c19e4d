/* Unit test of the agent's DNS wire format (src/guest/dns_wire.c), built
 * for the host. */
#include "dns.h"

#include <string.h>

#include "test.h"

/* id 0x1234, RD, one question "www.Example.com" A IN. */
static const uint8_t query[] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
				 3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
				 0, 1, 0, 1 };

int main(void)
{
	struct dns_query q;
	uint8_t pkt[sizeof(query)], out[600];
	uint8_t addrs[2][16] = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } };
	size_t n;

	CHECK(dns_parse_query(query, sizeof(query), &q) == 0);
	CHECK(q.id == 0x1234 && q.qtype == 1 && q.qclass == 1 && !strcmp(q.name, "www.Example.com") &&
	      q.question_end == sizeof(query));
	n = dns_build_response(query, &q, 0, (const uint8_t(*)[16])addrs, 2, out, sizeof(out));
	CHECK(n == sizeof(query) + 2 * 16);
	CHECK(out[0] == 0x12 && out[1] == 0x34 && out[2] == 0x81 && out[3] == 0x80); /* QR RD, RA */
	CHECK(out[7] == 2 && out[sizeof(query)] == 0xc0 && out[sizeof(query) + 1] == 0x0c);
	CHECK(!memcmp(out + sizeof(query) + 12, addrs[0], 4) && !memcmp(out + sizeof(query) + 28, addrs[1], 4));
	n = dns_build_response(query, &q, 3, NULL, 0, out, sizeof(out));
	CHECK(n == sizeof(query) && (out[3] & 0xf) == 3 && out[7] == 0);
	CHECK(dns_build_response(query, &q, 0, (const uint8_t(*)[16])addrs, 2, out, sizeof(query) + 10) == 0);

	/* malformed: short, a response, two questions, compression, overlong label, cut */
	CHECK(dns_parse_query(query, 11, &q) < 0);
	memcpy(pkt, query, sizeof(pkt)); pkt[2] |= 0x80;
	CHECK(dns_parse_query(pkt, sizeof(pkt), &q) < 0);
	memcpy(pkt, query, sizeof(pkt)); pkt[5] = 2;
	CHECK(dns_parse_query(pkt, sizeof(pkt), &q) < 0);
	memcpy(pkt, query, sizeof(pkt)); pkt[12] = 0xc0;
	CHECK(dns_parse_query(pkt, sizeof(pkt), &q) < 0);
	memcpy(pkt, query, sizeof(pkt)); pkt[12] = 64;
	CHECK(dns_parse_query(pkt, sizeof(pkt), &q) < 0);
	CHECK(dns_parse_query(query, sizeof(query) - 1, &q) < 0);
	memcpy(pkt, query, sizeof(pkt)); pkt[14] = '.';
	CHECK(dns_parse_query(pkt, sizeof(pkt), &q) < 0);
	TEST_MAIN_END();
}
