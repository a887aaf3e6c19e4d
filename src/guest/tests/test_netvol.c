/* Unit test of the agent's SETUP network and volume parsing (net.c,
 * volume.c), built for the host. */
#include "net.h"
#include "volume.h"
#include "guest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

/* net.c logs through glog (util.c is not linked here). */
void glog(const char *fmt, ...)
{
	(void)fmt;
}

int main(void)
{
	unsigned char a[4];
	unsigned p = 0;
	struct volume v;

	CHECK(net_parse_cidr("10.0.2.15/24", a, &p) == 0 && p == 24 && a[0] == 10 && a[3] == 15);
	CHECK(net_parse_cidr("1.2.3.4/32", a, &p) == 0 && p == 32);
	CHECK(net_parse_cidr("10.0.2.15", a, &p) == -EINVAL);
	CHECK(net_parse_cidr("10.0.2.15/0", a, &p) == -EINVAL);
	CHECK(net_parse_cidr("10.0.2.15/33", a, &p) == -EINVAL);
	CHECK(net_parse_cidr("10.0.2.15/-1", a, &p) == -EINVAL);
	CHECK(net_parse_cidr("10.0.2.15/24x", a, &p) == -EINVAL);
	CHECK(net_parse_cidr("10.0.2/24", a, &p) == -EINVAL);
	CHECK(net_parse_cidr("", a, &p) == -EINVAL);
	CHECK(net_parse_cidr("/24", a, &p) == -EINVAL);

	CHECK(volume_parse("vol0:rw:/data", &v) == 0 && !strcmp(v.tag, "vol0") && !v.read_only &&
	      !strcmp(v.path, "/data"));
	CHECK(volume_parse("vol12:ro:/a/b:c", &v) == 0 && v.read_only && !strcmp(v.path, "/a/b:c"));
	CHECK(volume_parse("vol0:rx:/data", &v) == -EINVAL);
	CHECK(volume_parse("vol0:rw:data", &v) == -EINVAL);
	CHECK(volume_parse("vol0:rw:/", &v) == -EINVAL);
	CHECK(volume_parse(":rw:/data", &v) == -EINVAL);
	CHECK(volume_parse("vol0:/data", &v) == -EINVAL);
	CHECK(volume_parse("vol0", &v) == -EINVAL);
	CHECK(volume_parse("averyveryverylongtag:rw:/d", &v) == -EINVAL);

	TEST_MAIN_END();
}
