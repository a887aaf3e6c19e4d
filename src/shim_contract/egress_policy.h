/* The egress allow-list of a box (--allow-net): which destinations QEMU may
 * reach for the guest, and which names the guest may resolve. Pure (no I/O)
 * and shared by the library (validation) and the shim (enforcement, egress.c).
 *
 * Entries: "HOST" (a DNS name: that name only), "*.DOMAIN" (every name below
 * DOMAIN, not DOMAIN itself), an IPv4 or IPv6 literal, or a CIDR
 * ("10.0.0.0/8", "fd00::/8"). Names are matched without case and without a
 * trailing dot; IP and CIDR entries allow addresses only, never names. An
 * address a permitted name resolved to is learned (bx_egress_learn) and
 * allowed from then on. IPv4-mapped IPv6 addresses are matched as IPv4. */
#ifndef BOXLITE_SHIM_EGRESS_POLICY_H
#define BOXLITE_SHIM_EGRESS_POLICY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define BX_EGRESS_MAX_ENTRIES 256
#define BX_EGRESS_MAX_LEARNED 4096
#define BX_EGRESS_NAME_MAX 253

enum bx_egress_kind { BX_EGRESS_HOST, BX_EGRESS_SUFFIX, BX_EGRESS_NET4, BX_EGRESS_NET6 };

struct bx_egress_rule {
	enum bx_egress_kind kind;
	char name[BX_EGRESS_NAME_MAX + 1]; /* HOST, SUFFIX: lower case, no trailing dot */
	uint8_t addr[16];                  /* NET4: 4 bytes, NET6: 16, host bits zero */
	unsigned prefix;
};

struct bx_egress_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

struct bx_egress_policy {
	struct bx_egress_rule *rules;
	size_t n_rules;
	pthread_mutex_t lock; /* guards learned */
	struct bx_egress_addr *learned;
	size_t n_learned;
};

/* Parses one entry. Returns 0 or -EINVAL. */
int bx_egress_parse_entry(const char *s, struct bx_egress_rule *r);

/* Builds a policy from n entries (each must parse). Returns 0, -EINVAL
 * (*bad_index set), -E2BIG or -ENOMEM. */
int bx_egress_policy_init(struct bx_egress_policy *p, char *const *entries, size_t n, size_t *bad_index);
void bx_egress_policy_free(struct bx_egress_policy *p);

/* 1 when the address (4 bytes for AF_INET, 16 for AF_INET6) is allowed. */
int bx_egress_allows_addr(struct bx_egress_policy *p, int family, const uint8_t *addr);
/* Same for a sockaddr of len bytes; any family but AF_INET/AF_INET6 is 0. */
int bx_egress_allows_sockaddr(struct bx_egress_policy *p, const struct sockaddr *sa, size_t len);
/* 1 when a HOST or SUFFIX rule permits the name. */
int bx_egress_allows_name(const struct bx_egress_policy *p, const char *name);
/* Remembers an address of a permitted name. Returns 0 or -E2BIG (full). */
int bx_egress_learn(struct bx_egress_policy *p, int family, const uint8_t *addr);

#endif
