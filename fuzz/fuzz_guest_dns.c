/* libFuzzer target: the guest agent's DNS query parser and response builder
 * (src/guest/dns_wire.c): bytes from any process in the box. */
#include <stdint.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_query q;
	uint8_t out[DNS_QUERY_MAX + 16 * 28];
	uint8_t addrs[16][16];

	memset(addrs, 0x5a, sizeof(addrs));
	if (dns_parse_query(data, size, &q) == 0) {
		dns_build_response(data, &q, 0, (const uint8_t(*)[16])addrs, 16, out, sizeof(out));
		dns_build_response(data, &q, 3, NULL, 0, out, sizeof(out));
		dns_build_response(data, &q, 0, (const uint8_t(*)[16])addrs, 3, out, 40);
	}
	return 0;
}
