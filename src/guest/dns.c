/* The agent's DNS proxy (dns.h). */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest.h"
#include "port.h"
#include "protocol.h"

#define PENDING_MAX 64
#define ANSWERS_MAX 16

enum { RC_NOERROR = 0, RC_FORMERR = 1, RC_SERVFAIL = 2, RC_NXDOMAIN = 3, RC_NOTIMP = 4 };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- the proxy */

struct pending {
	int used;
	uint32_t id; /* our request id */
	int64_t at;
	struct sockaddr_in from;
	struct dns_query q;
	size_t len;
	uint8_t pkt[DNS_QUERY_MAX];
};

static int g_fd = -1;
static uint32_t g_next_id = 1;
static struct pending g_pending[PENDING_MAX];

int dns_proxy_fd(void)
{
	return g_fd;
}

int dns_proxy_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;

	if (g_fd >= 0)
		return 0;
	g_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g_fd < 0)
		return -errno;
	setsockopt(g_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(g_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close_fd(&g_fd);
		return -e;
	}
	glog("dns: proxy on 127.0.0.1:53 (names answered by the host's egress policy)");
	return 0;
}

static void reply(const struct sockaddr_in *to, const uint8_t *pkt, const struct dns_query *q, int rcode,
		  const uint8_t (*addrs)[16], size_t n)
{
	uint8_t out[DNS_QUERY_MAX + ANSWERS_MAX * 28];
	size_t len = dns_build_response(pkt, q, rcode, addrs, n, out, sizeof(out));

	if (len)
		sendto(g_fd, out, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to));
}

static void ask_host(const struct sockaddr_in *from, const uint8_t *pkt, size_t len,
		     const struct dns_query *q)
{
	struct pending *slot = NULL;
	uint8_t buf[DNS_NAME_MAX + 64];
	struct bxp_writer w;

	for (size_t i = 0; i < PENDING_MAX && !slot; i++)
		if (!g_pending[i].used)
			slot = &g_pending[i];
	if (!slot) { /* full: the oldest gives way (its client retries) */
		slot = &g_pending[0];
		for (size_t i = 1; i < PENDING_MAX; i++)
			if (g_pending[i].at < slot->at)
				slot = &g_pending[i];
	}
	slot->used = 1;
	slot->id = g_next_id++;
	slot->at = mono_ms();
	slot->from = *from;
	slot->q = *q;
	slot->len = len;
	memcpy(slot->pkt, pkt, len);
	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_DNS_ID, slot->id);
	bxp_put_str(&w, BXT_DNS_NAME, q->name);
	bxp_put_u32(&w, BXT_DNS_QTYPE, q->qtype);
	if (!bxp_writer_ok(&w) || outq_frame(0, BXP_RESOLVE, 0, buf, w.len) < 0) {
		slot->used = 0;
		reply(from, pkt, q, RC_SERVFAIL, NULL, 0);
	}
}

void dns_proxy_input(void)
{
	for (int round = 0; round < 32; round++) {
		uint8_t pkt[DNS_QUERY_MAX + 1];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct dns_query q;
		ssize_t n = recvfrom(g_fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		if (fl != sizeof(from) || from.sin_family != AF_INET)
			continue;
		if (dns_parse_query(pkt, (size_t)n, &q) < 0) {
			/* Answer FORMERR with just the header when there is one. */
			if (n >= 12 && !(pkt[2] & 0x80)) {
				struct dns_query h = { .id = q.id, .flags = get16(pkt + 2), .question_end = 12 };
				uint8_t hdr[12];

				memcpy(hdr, pkt, 12);
				put16(hdr + 4, 0);
				reply(&from, hdr, &h, RC_FORMERR, NULL, 0);
			}
			continue;
		}
		if (q.qclass != 1 || (q.qtype != 1 && q.qtype != 28)) {
			/* Not IN A/AAAA (e.g. HTTPS, MX): no data, so clients move on. */
			reply(&from, pkt, &q, q.qclass == 1 ? RC_NOERROR : RC_NOTIMP, NULL, 0);
			continue;
		}
		ask_host(&from, pkt, (size_t)n, &q);
	}
}

void dns_proxy_resolved(const uint8_t *payload, size_t len)
{
	uint8_t addrs[ANSWERS_MAX][16];
	size_t n = 0;
	uint32_t id = 0, e = 0;
	struct bxp_reader r;
	struct bxp_field f;
	struct pending *slot = NULL;
	char ip[64];

	bxp_reader_init(&r, payload, len);
	while (bxp_next(&r, &f) == 1) {
		if (f.tag == BXT_DNS_ID)
			bxp_field_u32(&f, &id);
		else if (f.tag == BXT_ERRNO)
			bxp_field_u32(&f, &e);
		else if (f.tag == BXT_DNS_ADDR && n < ANSWERS_MAX && bxp_field_str(&f, ip, sizeof(ip)) == 0) {
			memset(addrs[n], 0, 16);
			if (inet_pton(strchr(ip, ':') ? AF_INET6 : AF_INET, ip, addrs[n]) == 1)
				n++;
		}
	}
	for (size_t i = 0; i < PENDING_MAX && !slot; i++)
		if (g_pending[i].used && g_pending[i].id == id)
			slot = &g_pending[i];
	if (!slot || g_fd < 0)
		return; /* given way to a newer query */
	slot->used = 0;
	reply(&slot->from, slot->pkt, &slot->q,
	      e == ENOENT ? RC_NXDOMAIN : e ? RC_SERVFAIL : RC_NOERROR, (const uint8_t(*)[16])addrs,
	      e ? 0 : n);
}
