/* Unit test of the egress allow-list (src/shim/egress_policy.c): entry
 * syntax, CIDR and name matching, learned addresses, IPv4-mapped IPv6. */
#include "boxlite.h"
#include "egress_policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "test.h"

static int ok(const char *s)
{
	struct bx_egress_rule r;
	return bx_egress_parse_entry(s, &r) == 0;
}

static int addr4(struct bx_egress_policy *p, const char *ip)
{
	uint8_t a[4];
	inet_pton(AF_INET, ip, a);
	return bx_egress_allows_addr(p, AF_INET, a);
}

static int addr6(struct bx_egress_policy *p, const char *ip)
{
	uint8_t a[16];
	inet_pton(AF_INET6, ip, a);
	return bx_egress_allows_addr(p, AF_INET6, a);
}

int main(void)
{
	char *entries[] = { (char *)"127.0.0.1", (char *)"10.1.0.0/16", (char *)"fd00::/8", (char *)"Example.COM.",
			    (char *)"*.pypi.org", (char *)"2001:db8::1" };
	struct bx_egress_policy p;
	struct bx_egress_rule r;
	size_t bad = 99;
	uint8_t a[16];

	/* syntax */
	CHECK(ok("127.0.0.1") && ok("0.0.0.0/0") && ok("10.0.0.0/8") && ok("::1") && ok("::/0") &&
	      ok("fd00::/8") && ok("example.com") && ok("a") && ok("*.example.com") && ok("xn--bcher-kva.de") &&
	      ok("under_score.example") && ok("host.") && ok("1.2.3.4/32"));
	CHECK(!ok("") && !ok("*") && !ok("*.") && !ok("**.a") && !ok("*a.com") && !ok("a.*.com") &&
	      !ok("10.0.0.0/33") && !ok("::/129") && !ok("1.2.3.4/") && !ok("1.2.3.4/-1") &&
	      !ok("1.2.3.4/ 8") && !ok("1.2.3") && !ok("300.1.1.1") && !ok("a..b") && !ok(".a") &&
	      !ok("-a.com") && !ok("a-.com") && !ok("a b") && !ok("http://a") && !ok("a:80") &&
	      !ok("1.2.3.4:80") && !ok("a/b"));
	{
		char l63[80], l64[80];
		memset(l63, 'a', 63); l63[63] = '\0';
		memset(l64, 'a', 64); l64[64] = '\0';
		CHECK(ok(l63) && !ok(l64));
	}
	CHECK(bx_egress_parse_entry("10.1.2.3/16", &r) == 0 && r.kind == BX_EGRESS_NET4 && r.prefix == 16 &&
	      r.addr[0] == 10 && r.addr[1] == 1 && r.addr[2] == 0 && r.addr[3] == 0);
	CHECK(bx_egress_parse_entry("*.Example.ORG", &r) == 0 && r.kind == BX_EGRESS_SUFFIX &&
	      !strcmp(r.name, "example.org"));

	CHECK(bx_egress_policy_init(&p, entries, 6, &bad) == 0);
	/* addresses */
	CHECK(addr4(&p, "127.0.0.1") && !addr4(&p, "127.0.0.2") && !addr4(&p, "10.0.2.2"));
	CHECK(addr4(&p, "10.1.0.0") && addr4(&p, "10.1.255.255") && !addr4(&p, "10.2.0.0") &&
	      !addr4(&p, "10.0.255.255"));
	CHECK(addr6(&p, "fd12::1") && !addr6(&p, "fe80::1") && addr6(&p, "2001:db8::1") &&
	      !addr6(&p, "2001:db8::2") && !addr6(&p, "::1"));
	CHECK(addr6(&p, "::ffff:127.0.0.1") && !addr6(&p, "::ffff:1.1.1.1")); /* v4-mapped */
	CHECK(!bx_egress_allows_addr(&p, AF_UNIX, a));
	{
		struct sockaddr_in sin = { .sin_family = AF_INET };
		inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
		CHECK(bx_egress_allows_sockaddr(&p, (struct sockaddr *)&sin, sizeof(sin)));
		CHECK(!bx_egress_allows_sockaddr(&p, (struct sockaddr *)&sin, 8)); /* too short */
		sin.sin_family = AF_UNIX;
		CHECK(!bx_egress_allows_sockaddr(&p, (struct sockaddr *)&sin, sizeof(sin)));
	}
	/* names: exact (case, trailing dot), suffix on a label boundary only */
	CHECK(bx_egress_allows_name(&p, "example.com") && bx_egress_allows_name(&p, "EXAMPLE.com.") &&
	      !bx_egress_allows_name(&p, "www.example.com") && !bx_egress_allows_name(&p, "example.co"));
	CHECK(bx_egress_allows_name(&p, "files.pypi.org") && bx_egress_allows_name(&p, "a.b.pypi.org") &&
	      !bx_egress_allows_name(&p, "pypi.org") && !bx_egress_allows_name(&p, "evilpypi.org") &&
	      !bx_egress_allows_name(&p, "pypi.org.evil.com"));
	CHECK(!bx_egress_allows_name(&p, "127.0.0.1") && !bx_egress_allows_name(&p, "") &&
	      !bx_egress_allows_name(&p, NULL) && !bx_egress_allows_name(&p, "a..example.com"));
	/* learned addresses */
	inet_pton(AF_INET, "93.184.216.34", a);
	CHECK(!addr4(&p, "93.184.216.34"));
	CHECK(bx_egress_learn(&p, AF_INET, a) == 0 && bx_egress_learn(&p, AF_INET, a) == 0);
	CHECK(addr4(&p, "93.184.216.34") && addr6(&p, "::ffff:93.184.216.34") && p.n_learned == 1);
	for (unsigned i = 0; i < BX_EGRESS_MAX_LEARNED + 5; i++) {
		uint8_t b[4] = { 100, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		bx_egress_learn(&p, AF_INET, b);
	}
	CHECK(p.n_learned == BX_EGRESS_MAX_LEARNED);
	bx_egress_policy_free(&p);

	{
		char *badv[] = { (char *)"ok.com", (char *)"not ok" };
		CHECK(bx_egress_policy_init(&p, badv, 2, &bad) == -EINVAL && bad == 1);
		bx_egress_policy_free(&p);
	}
	/* the public API validates the same way */
	{
		boxlite_box_options *o = boxlite_box_options_new("localhost/busybox:latest");
		CHECK(o != NULL);
		CHECK(boxlite_box_options_add_allow_net(o, "127.0.0.1") == 0);
		CHECK(boxlite_box_options_add_allow_net(o, "*.pypi.org") == 0);
		CHECK(boxlite_box_options_add_allow_net(o, "fd00::/8") == 0);
		CHECK(boxlite_box_options_add_allow_net(o, "not a host") == -EINVAL);
		CHECK(boxlite_box_options_add_allow_net(o, NULL) == -EINVAL);
		CHECK(boxlite_box_options_add_allow_net(NULL, "a.com") == -EINVAL);
		for (int i = 0; i < BX_EGRESS_MAX_ENTRIES - 3; i++)
			CHECK(boxlite_box_options_add_allow_net(o, "a.com") == 0);
		CHECK(boxlite_box_options_add_allow_net(o, "a.com") == -E2BIG);
		boxlite_box_options_free(o);
	}
	TEST_MAIN_END();
}
