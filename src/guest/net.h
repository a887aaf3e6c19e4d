/* Guest networking from SETUP: loopback always, eth0 with a static address,
 * default route and DNS when the host sends them (no DHCP client), and the
 * image's /etc/resolv.conf and /etc/hosts. */
#ifndef BOXLITE_GUEST_NET_H
#define BOXLITE_GUEST_NET_H

#include <stddef.h>

#define NET_DNS_MAX 3

struct net_cfg {
	char ifaddr[48];  /* "10.0.2.15/24"; empty: no NIC configured */
	char gateway[48]; /* "10.0.2.2" */
	char dns[NET_DNS_MAX][48];
	size_t n_dns;
	char host_alias_ip[48]; /* address of host.boxlite.internal, may be empty */
};

/* Parses "A.B.C.D/N". Returns 0 or -EINVAL. Pure, unit-tested. */
int net_parse_cidr(const char *s, unsigned char addr[4], unsigned *prefix);

/* Brings lo up (always). Failures are logged. */
void net_loopback_up(void);

/* Configures eth0 from cfg (nothing when cfg->ifaddr is empty). Returns 0 or
 * -errno with a message in err. Idempotent (a second SETUP re-applies it). */
int net_configure(const struct net_cfg *cfg, char *err, size_t errcap);

/* Writes /etc/hosts and /etc/resolv.conf in the current root (the image),
 * replacing what the image ships (docker does the same). Logged, not fatal. */
void net_write_etc(const struct net_cfg *cfg, const char *hostname);

#endif
