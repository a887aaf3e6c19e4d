/* The agent's DNS proxy for boxes with an egress policy (--allow-net;
 * docs/networking-volumes.md "Egress policy"): a UDP server on 127.0.0.1:53
 * that answers A and AAAA queries by asking the host (RESOLVE -> RESOLVED),
 * which answers only names the policy permits. Other query types get an
 * empty NOERROR answer, malformed queries FORMERR (or nothing). */
#ifndef BOXLITE_GUEST_DNS_H
#define BOXLITE_GUEST_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 253
#define DNS_QUERY_MAX 512

struct dns_query {
	uint16_t id, flags, qtype, qclass;
	char name[DNS_NAME_MAX + 1]; /* dotted, no trailing dot; "" for the root */
	size_t question_end;         /* offset just after the question */
};

/* Parses a query packet (header + exactly one question, no compression).
 * Pure, fuzzed. Returns 0, or -EINVAL (not a query we can answer; the
 * header id is still in q->id when len >= 2). */
int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q);

/* Builds the response to the query pkt (parsed as q) with rcode and
 * n answers of q->qtype (4-byte A or 16-byte AAAA rdata each). Returns the
 * length, or 0 when it does not fit in cap. Pure. */
size_t dns_build_response(const uint8_t *pkt, const struct dns_query *q, int rcode,
			  const uint8_t (*addrs)[16], size_t n, uint8_t *out, size_t cap);

/* The proxy: started by SETUP when the host asks for it (idempotent). */
int dns_proxy_start(void);
int dns_proxy_fd(void); /* -1 when not running */
void dns_proxy_input(void);
/* A RESOLVED frame from the host. */
void dns_proxy_resolved(const uint8_t *payload, size_t len);

#endif
