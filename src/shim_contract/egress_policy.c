/* The egress allow-list (egress_policy.h). */
#include "egress_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* A DNS name: labels of [A-Za-z0-9_-], 1..63 bytes, not starting or ending
 * with '-', at most 253 bytes, one optional trailing dot (dropped). Copied
 * to out in lower case. */
static int parse_name(const char *s, char out[BX_EGRESS_NAME_MAX + 1])
{
	size_t n = strlen(s), label = 0;

	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > BX_EGRESS_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return -EINVAL;
			label = 0;
		} else if (isalnum((unsigned char)c) || c == '_' || c == '-') {
			if (c == '-' && label == 0)
				return -EINVAL;
			if (++label > 63)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		out[i] = (char)tolower((unsigned char)c);
	}
	if (s[n - 1] == '-')
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

static void mask_bits(uint8_t *a, size_t bytes, unsigned prefix)
{
	for (size_t i = 0; i < bytes; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

static int parse_net(const char *s, struct bx_egress_rule *r)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	char *end;

	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->kind = BX_EGRESS_NET4;
		r->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->kind = BX_EGRESS_NET6;
		r->prefix = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		if (!isdigit((unsigned char)slash[1]) || strlen(slash + 1) > 3)
			return -EINVAL;
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end || errno || prefix > r->prefix)
			return -EINVAL;
		r->prefix = (unsigned)prefix;
	}
	mask_bits(r->addr, r->kind == BX_EGRESS_NET4 ? 4 : 16, r->prefix);
	return 0;
}

int bx_egress_parse_entry(const char *s, struct bx_egress_rule *r)
{
	memset(r, 0, sizeof(*r));
	if (!s || !*s)
		return -EINVAL;
	if (parse_net(s, r) == 0)
		return 0;
	memset(r, 0, sizeof(*r));
	if (s[0] == '*') {
		if (s[1] != '.' || parse_name(s + 2, r->name) < 0)
			return -EINVAL;
		r->kind = BX_EGRESS_SUFFIX;
		return 0;
	}
	/* Digits and dots only, yet no IPv4 literal ("1.2.3", "300.1.1.1"):
	 * a typo, not a host name. */
	if (strspn(s, "0123456789.") == strlen(s))
		return -EINVAL;
	if (parse_name(s, r->name) < 0)
		return -EINVAL;
	r->kind = BX_EGRESS_HOST;
	return 0;
}

int bx_egress_policy_init(struct bx_egress_policy *p, char *const *entries, size_t n, size_t *bad_index)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	if (n > BX_EGRESS_MAX_ENTRIES)
		return -E2BIG;
	p->rules = calloc(n ? n : 1, sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (bx_egress_parse_entry(entries[i], &p->rules[i]) < 0) {
			if (bad_index)
				*bad_index = i;
			return -EINVAL;
		}
		p->n_rules = i + 1;
	}
	return 0;
}

void bx_egress_policy_free(struct bx_egress_policy *p)
{
	free(p->rules);
	free(p->learned);
	pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

static int prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	size_t full = prefix / 8;
	unsigned rest = prefix % 8;

	if (memcmp(a, net, full))
		return 0;
	return rest == 0 || ((a[full] ^ net[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4. */
static void normalize(int *family, const uint8_t **addr)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (*family == AF_INET6 && !memcmp(*addr, mapped, sizeof(mapped))) {
		*family = AF_INET;
		*addr += 12;
	}
}

int bx_egress_allows_addr(struct bx_egress_policy *p, int family, const uint8_t *addr)
{
	int ok = 0;

	normalize(&family, &addr);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct bx_egress_rule *r = &p->rules[i];

		if ((r->kind == BX_EGRESS_NET4 && family == AF_INET) ||
		    (r->kind == BX_EGRESS_NET6 && family == AF_INET6))
			if (prefix_match(addr, r->addr, r->prefix))
				return 1;
	}
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_learned && !ok; i++)
		ok = p->learned[i].family == family &&
		     !memcmp(p->learned[i].addr, addr, family == AF_INET ? 4 : 16);
	pthread_mutex_unlock(&p->lock);
	return ok;
}

int bx_egress_allows_sockaddr(struct bx_egress_policy *p, const struct sockaddr *sa, size_t len)
{
	if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET)
		return bx_egress_allows_addr(p, AF_INET,
					     (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
	if (len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6)
		return bx_egress_allows_addr(p, AF_INET6,
					     (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 0;
}

int bx_egress_allows_name(const struct bx_egress_policy *p, const char *name)
{
	char n[BX_EGRESS_NAME_MAX + 1];

	if (!name || parse_name(name, n) < 0)
		return 0;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct bx_egress_rule *r = &p->rules[i];
		size_t nl = strlen(n), rl = strlen(r->name);

		if (r->kind == BX_EGRESS_HOST && !strcmp(n, r->name))
			return 1;
		if (r->kind == BX_EGRESS_SUFFIX && nl > rl + 1 && n[nl - rl - 1] == '.' &&
		    !strcmp(n + nl - rl, r->name))
			return 1;
	}
	return 0;
}

int bx_egress_learn(struct bx_egress_policy *p, int family, const uint8_t *addr)
{
	int rc = 0;

	normalize(&family, &addr);
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->n_learned; i++)
		if (p->learned[i].family == family &&
		    !memcmp(p->learned[i].addr, addr, family == AF_INET ? 4 : 16))
			goto out;
	if (p->n_learned >= BX_EGRESS_MAX_LEARNED) {
		rc = -E2BIG;
		goto out;
	}
	if (!p->learned) {
		p->learned = calloc(BX_EGRESS_MAX_LEARNED, sizeof(*p->learned));
		if (!p->learned) {
			rc = -ENOMEM;
			goto out;
		}
	}
	p->learned[p->n_learned].family = family;
	memcpy(p->learned[p->n_learned].addr, addr, family == AF_INET ? 4 : 16);
	p->n_learned++;
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}
