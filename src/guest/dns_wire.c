/* DNS wire format for the agent's proxy (dns.h): parsing a query and
 * building its answer. Pure: no I/O, fuzzed (fuzz/fuzz_guest_dns.c). */
#include "dns.h"

#include <errno.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	size_t pos = 12, out = 0;

	memset(q, 0, sizeof(*q));
	if (len >= 2)
		q->id = get16(pkt);
	if (len < 12 || len > DNS_QUERY_MAX)
		return -EINVAL;
	q->flags = get16(pkt + 2);
	/* A standard query (QR 0, opcode 0) with one question, nothing else. */
	if ((q->flags & 0x8000) || ((q->flags >> 11) & 0xf) != 0 || get16(pkt + 4) != 1 ||
	    get16(pkt + 6) != 0 || get16(pkt + 8) != 0)
		return -EINVAL;
	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -EINVAL;
		l = pkt[pos++];
		if (l == 0)
			break;
		if (l > 63 || pos + l > len)
			return -EINVAL; /* compression pointers have no place in a question */
		if (out + (out ? 1 : 0) + l > DNS_NAME_MAX)
			return -EINVAL;
		if (out)
			q->name[out++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			char c = (char)pkt[pos + i];
			if (c == '.' || c == '\0')
				return -EINVAL;
			q->name[out++] = c;
		}
		pos += l;
	}
	q->name[out] = '\0';
	if (pos + 4 > len)
		return -EINVAL;
	q->qtype = get16(pkt + pos);
	q->qclass = get16(pkt + pos + 2);
	q->question_end = pos + 4;
	return 0;
}

size_t dns_build_response(const uint8_t *pkt, const struct dns_query *q, int rcode,
			  const uint8_t (*addrs)[16], size_t n, uint8_t *out, size_t cap)
{
	size_t rdlen = q->qtype == 28 ? 16 : 4, pos = q->question_end;

	if (q->question_end < 12 || pos > cap)
		return 0;
	memcpy(out, pkt, pos);
	put16(out + 2, (uint16_t)(0x8000 | (q->flags & 0x0100) | 0x0080 | (rcode & 0xf))); /* QR, RD, RA */
	put16(out + 6, (uint16_t)n);
	put16(out + 8, 0);
	put16(out + 10, 0);
	for (size_t i = 0; i < n; i++) {
		if (pos + 12 + rdlen > cap)
			return 0;
		put16(out + pos, 0xc00c); /* the name of the question */
		put16(out + pos + 2, q->qtype);
		put16(out + pos + 4, 1); /* IN */
		put16(out + pos + 6, 0);
		put16(out + pos + 8, 60); /* TTL 60 s */
		put16(out + pos + 10, (uint16_t)rdlen);
		memcpy(out + pos + 12, addrs[i], rdlen);
		pos += 12 + rdlen;
	}
	return pos;
}

