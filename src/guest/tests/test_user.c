/* Unit test of the guest agent's passwd/group parsing and user resolution
 * (src/guest/user.c), built for the host. */
#include "user.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test.h"

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"# a comment:x:1:1::/:/bin/sh\n"
	"\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"broken:x:notanumber:1::/home/broken:/bin/sh\n"
	"short:x:5\n"
	"+nisuser::::::\n"
	"app:x:1000:1000:App User,,,:/home/app:/bin/bash\r\n"
	"nohome:x:1001:1001:::/bin/sh\n"
	"huge:x:4294967295:1::/:/bin/sh\n"
	"last:x:2000:2000::/home/last:/bin/sh"; /* no final newline */

static const char group[] =
	"root:x:0:\n"
	"wheel:x:10:root,app\n"
	"audio:x:29: app , other\n"
	"app:x:1000:\n"
	"staff:x:50\n"
	"dup:x:10:app\n"
	"docker:x:999:app\n"
	"bad:x:abc:app\n";

static int resolve(const char *spec, struct user_cred *c, char *err)
{
	return user_resolve(spec, passwd, strlen(passwd), group, strlen(group), c, err, 256);
}

static void test_parse_id(void)
{
	uint32_t v;

	CHECK(user_parse_id("0", 1, &v) == 0 && v == 0);
	CHECK(user_parse_id("4294967294", 10, &v) == 0 && v == 4294967294u);
	CHECK(user_parse_id("4294967295", 10, &v) == -EINVAL);
	CHECK(user_parse_id("99999999999", 11, &v) == -EINVAL);
	CHECK(user_parse_id("", 0, &v) == -EINVAL);
	CHECK(user_parse_id("12a", 3, &v) == -EINVAL);
	CHECK(user_parse_id("-1", 2, &v) == -EINVAL);
}

static void test_passwd(void)
{
	struct passwd_entry e;

	CHECK(passwd_find(passwd, strlen(passwd), "root", 0, &e) == 1);
	CHECK(e.uid == 0 && e.gid == 0 && !strcmp(e.home, "/root"));
	CHECK(passwd_find(passwd, strlen(passwd), "app", 0, &e) == 1);
	CHECK(e.uid == 1000 && !strcmp(e.home, "/home/app")); /* CRLF tolerated */
	CHECK(passwd_find(passwd, strlen(passwd), NULL, 1000, &e) == 1 && !strcmp(e.name, "app"));
	CHECK(passwd_find(passwd, strlen(passwd), "broken", 0, &e) == 0);
	CHECK(passwd_find(passwd, strlen(passwd), "short", 0, &e) == 0);
	CHECK(passwd_find(passwd, strlen(passwd), "+nisuser", 0, &e) == 0);
	CHECK(passwd_find(passwd, strlen(passwd), "# a comment", 0, &e) == 0);
	CHECK(passwd_find(passwd, strlen(passwd), "huge", 0, &e) == 0);
	CHECK(passwd_find(passwd, strlen(passwd), "last", 0, &e) == 1 && e.uid == 2000);
	CHECK(passwd_find(passwd, strlen(passwd), "nohome", 0, &e) == 1 && !strcmp(e.home, "/"));
	CHECK(passwd_find(NULL, 0, "root", 0, &e) == 0);
	/* A prefix of a name is not the name; the length bounds the search. */
	CHECK(passwd_find(passwd, strlen(passwd), "roo", 0, &e) == 0);
	CHECK(passwd_find(passwd, 10, "root", 0, &e) == 0);
}

static void test_group(void)
{
	gid_t g[8];
	uint32_t gid;

	CHECK(group_find_gid(group, strlen(group), "wheel", &gid) == 1 && gid == 10);
	CHECK(group_find_gid(group, strlen(group), "staff", &gid) == 1 && gid == 50);
	CHECK(group_find_gid(group, strlen(group), "bad", &gid) == 0);
	CHECK(group_find_gid(group, strlen(group), "nope", &gid) == 0);
	CHECK(group_members_of(group, strlen(group), "app", g, 8) == 3);
	CHECK(g[0] == 10 && g[1] == 29 && g[2] == 999); /* dup gid 10 once */
	CHECK(group_members_of(group, strlen(group), "app", g, 2) == 2);
	CHECK(group_members_of(group, strlen(group), "other", g, 8) == 1 && g[0] == 29);
	CHECK(group_members_of(group, strlen(group), "ap", g, 8) == 0);
	CHECK(group_members_of(group, strlen(group), "", g, 8) == 0);
}

static void test_resolve(void)
{
	struct user_cred c;
	char err[256];

	CHECK(resolve(NULL, &c, err) == 0 && c.uid == 0 && c.gid == 0);
	CHECK(!strcmp(c.name, "root") && !strcmp(c.home, "/root") && c.ngroups == 2 && c.groups[0] == 0 && c.groups[1] == 10);
	CHECK(resolve("", &c, err) == 0 && c.uid == 0);
	CHECK(resolve("app", &c, err) == 0 && c.uid == 1000 && c.gid == 1000 && c.ngroups == 4);
	CHECK(c.groups[0] == 1000 && c.groups[1] == 10 && c.groups[2] == 29 && c.groups[3] == 999);
	CHECK(resolve("1000", &c, err) == 0 && c.uid == 1000 && c.gid == 1000 && c.ngroups == 4);
	/* A uid without an entry: gid 0, home /, only the primary group. */
	CHECK(resolve("4242", &c, err) == 0 && c.uid == 4242 && c.gid == 0 && c.ngroups == 1);
	CHECK(!strcmp(c.home, "/") && c.name[0] == '\0');
	/* An explicit group replaces the primary one and the member groups. */
	CHECK(resolve("app:wheel", &c, err) == 0 && c.uid == 1000 && c.gid == 10 && c.ngroups == 1 &&
	      c.groups[0] == 10);
	CHECK(resolve("1000:1234", &c, err) == 0 && c.gid == 1234 && c.ngroups == 1);
	CHECK(resolve("4242:4343", &c, err) == 0 && c.uid == 4242 && c.gid == 4343);
	CHECK(resolve(":wheel", &c, err) == 0 && c.uid == 0 && c.gid == 10);
	CHECK(resolve("nobody", &c, err) == -EINVAL && strstr(err, "unable to find user nobody"));
	CHECK(resolve("app:nogroup", &c, err) == -EINVAL && strstr(err, "unable to find group nogroup"));
	CHECK(resolve("app:", &c, err) == -EINVAL);
	CHECK(resolve("4294967295", &c, err) == -EINVAL); /* not an id, not a name */
	/* Missing files: numeric specs still work, names do not. */
	CHECK(user_resolve("1000:1000", NULL, 0, NULL, 0, &c, err, sizeof(err)) == 0 && c.uid == 1000);
	CHECK(user_resolve(NULL, NULL, 0, NULL, 0, &c, err, sizeof(err)) == 0 && c.uid == 0 && c.gid == 0);
	CHECK(user_resolve("root", NULL, 0, NULL, 0, &c, err, sizeof(err)) == -EINVAL);
}

int main(void)
{
	test_parse_id();
	test_passwd();
	test_group();
	test_resolve();
	TEST_MAIN_END();
}
