/* libFuzzer target: the --allow-net entry parser and the name matcher
 * (src/shim/egress_policy.c). The first line is an entry, the rest a name
 * and an address to match against it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "egress_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *nl, *entries[1];
	struct bx_egress_policy p;
	uint8_t addr[16] = { 0 };

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl++ = '\0';
	entries[0] = buf;
	if (bx_egress_policy_init(&p, entries, 1, NULL) == 0) {
		if (nl) {
			bx_egress_allows_name(&p, nl);
			memcpy(addr, nl, strlen(nl) < 16 ? strlen(nl) : 16);
			bx_egress_allows_addr(&p, AF_INET, addr);
			bx_egress_allows_addr(&p, AF_INET6, addr);
			bx_egress_learn(&p, AF_INET6, addr);
			bx_egress_allows_addr(&p, AF_INET6, addr);
		}
	}
	bx_egress_policy_free(&p);
	free(buf);
	return 0;
}
