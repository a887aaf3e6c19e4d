/* bxtar: round trip of a tree (files, modes, symlinks, long names, empty
 * dirs, mtimes), reading GNU tar's output, docker cp target rules, and
 * refusal of entries that would leave the destination. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bxtar.h"
#include "test.h"

static char tmp[256];

#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int sh(const char *fmt, const char *arg)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "cd %s && ", tmp);
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), fmt, arg ? arg : "");
	return system(cmd);
}

static int fd_write(void *ctx, const void *buf, size_t n)
{
	return write(*(int *)ctx, buf, n) == (ssize_t)n ? 0 : -EIO;
}

static ssize_t fd_read(void *ctx, void *buf, size_t n)
{
	ssize_t k = read(*(int *)ctx, buf, n);
	return k < 0 ? -errno : k;
}

/* tar of src (relative to tmp) into file; returns rc. */
static int create_flags(const char *src, const char *file, unsigned flags, struct bxtar_err *e)
{
	char p[512];
	int root = open(tmp, O_PATH | O_DIRECTORY), fd, rc;

	snprintf(p, sizeof(p), "%s/%s", tmp, file);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	rc = bxtar_create_ex(root, 0, src, flags, fd_write, &fd, e);
	close(fd);
	close(root);
	return rc;
}

static int create(const char *src, const char *file, struct bxtar_err *e)
{
	return create_flags(src, file, 0, e);
}

static int extract_flags(const char *file, const char *dst, int single, unsigned flags, struct bxtar_err *e)
{
	char p[512], rename[256];
	int root = open(tmp, O_PATH | O_DIRECTORY), fd, dirfd, rc;

	snprintf(p, sizeof(p), "%s/%s", tmp, file);
	fd = open(p, O_RDONLY);
	rc = bxtar_target(root, 0, dst, single, &dirfd, rename, e);
	if (rc == 0) {
		rc = bxtar_extract(dirfd, rename, fd_read, &fd, flags, e);
		close(dirfd);
	}
	close(fd);
	close(root);
	return rc;
}

static int extract(const char *file, const char *dst, int single, struct bxtar_err *e)
{
	return extract_flags(file, dst, single, 0, e);
}

/* cp -L (BXTAR_FOLLOW: a top-level link's target under the link's name, a
 * link inside still a link) and --no-overwrite (BXTAR_NO_OVERWRITE). */
static void test_follow_and_keep(void)
{
	struct bxtar_err e = { 0 };

	CHECK(sh("mkdir -p fk/dir && echo target > fk/real.txt && ln -s real.txt fk/link.txt"
		 " && ln -s ../real.txt fk/dir/inner && ln -s dir fk/dirlink", NULL) == 0);
	CHECK(create_flags("fk/link.txt", "f1.tar", BXTAR_FOLLOW, &e) == 0);
	CHECK(sh("mkdir fo && tar -C fo -xf f1.tar && test -f fo/link.txt && ! test -L fo/link.txt"
		 " && grep -qx target fo/link.txt", NULL) == 0);
	CHECK(create_flags("fk/dirlink", "f2.tar", BXTAR_FOLLOW, &e) == 0);
	CHECK(sh("mkdir fo2 && tar -C fo2 -xf f2.tar && test -d fo2/dirlink && test -L fo2/dirlink/inner", NULL) == 0);
	CHECK(create("fk/link.txt", "f3.tar", &e) == 0); /* without: the link itself */
	CHECK(sh("mkdir fo3 && tar -C fo3 -xf f3.tar && test -L fo3/link.txt", NULL) == 0);

	/* keep what exists: a.txt kept, b.txt new, a subdirectory merged into */
	CHECK(sh("mkdir -p kin/sub kout/kin/sub && echo new > kin/a.txt && echo new > kin/b.txt"
		 " && echo new > kin/sub/c && echo old > kout/kin/a.txt && echo old > kout/kin/sub/c", NULL) == 0);
	CHECK(create("kin", "k.tar", &e) == 0);
	CHECK(extract_flags("k.tar", "kout", 1, BXTAR_NO_OVERWRITE, &e) == 0);
	CHECK(sh("grep -qx old kout/kin/a.txt && grep -qx new kout/kin/b.txt && grep -qx old kout/kin/sub/c", NULL) == 0);
	CHECK(extract("k.tar", "kout", 1, &e) == 0); /* and without: replaced */
	CHECK(sh("grep -qx new kout/kin/a.txt && grep -qx new kout/kin/sub/c", NULL) == 0);
}

int main(void)
{
	struct bxtar_err e = { 0 };
	char longname[300];

	snprintf(tmp, sizeof(tmp), "/tmp/test_bxtar.XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	memset(longname, 'n', 150);
	longname[150] = '\0';
	CHECK(sh("mkdir -p src/sub/empty src/%s/deeper && echo hi > src/a.txt && chmod 0750 src/a.txt"
		 " && head -c 3000000 /dev/urandom > src/sub/big && ln -s a.txt src/link"
		 " && ln -s / src/root && ln -s ../../../etc src/sub/up && chmod 0700 src/sub"
		 " && touch -d 2001-02-03T04:05:06 src/a.txt src/sub/big", longname) == 0);
	CHECK(sh("printf x > src/%s/deeper/f2", longname) == 0);
	/* a path over the ustar limits (pax), and a long symlink target */
	CHECK(sh("L=$(head -c 120 /dev/zero | tr '\\0' m) && mkdir -p src/$L/$L/$L && echo d > src/$L/$L/$L/f"
		 " && ln -s $L/$L/$L/f src/longlink", NULL) == 0);

	/* dir -> new name, then dir -> into existing dir */
	CHECK(create("src", "t1.tar", &e) == 0);
	CHECK(extract("t1.tar", "copy", 1, &e) == 0);
	if (e.code)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(sh("diff -r --no-dereference src copy", NULL) == 0);
	CHECK(sh("test \"$(stat -c %%a%%Y src/a.txt)\" = \"$(stat -c %%a%%Y copy/a.txt)\"", NULL) == 0);
	CHECK(sh("test \"$(stat -c %%a src/sub)\" = \"$(stat -c %%a copy/sub)\"", NULL) == 0);
	CHECK(sh("test \"$(readlink copy/root)\" = /", NULL) == 0);
	CHECK(sh("mkdir into", NULL) == 0);
	CHECK(extract("t1.tar", "into", 1, &e) == 0);
	CHECK(sh("diff -r --no-dereference src into/src", NULL) == 0);
	/* contents (src/.) into a new dir */
	CHECK(create("src/.", "t2.tar", &e) == 0);
	CHECK(extract("t2.tar", "contents", 1, &e) == 0);
	CHECK(sh("diff -r --no-dereference src contents", NULL) == 0);
	/* file -> file, file -> into dir */
	CHECK(create("src/a.txt", "t3.tar", &e) == 0);
	CHECK(extract("t3.tar", "renamed.txt", 1, &e) == 0);
	CHECK(sh("cmp src/a.txt renamed.txt", NULL) == 0);
	CHECK(extract("t3.tar", "into", 1, &e) == 0);
	CHECK(sh("cmp src/a.txt into/a.txt", NULL) == 0);
	/* to a name shorter than the file's own: a file, not a directory */
	CHECK(extract("t3.tar", "b", 1, &e) == 0);
	CHECK(sh("test -f b && cmp src/a.txt b", NULL) == 0);
	/* a missing parent, a trailing slash on a missing dir */
	memset(&e, 0, sizeof(e));
	CHECK(extract("t3.tar", "nodir/x", 1, &e) == -ENOENT);
	memset(&e, 0, sizeof(e));
	CHECK(extract("t3.tar", "nodir/", 1, &e) == -ENOENT);
	/* a dir over a file */
	memset(&e, 0, sizeof(e));
	CHECK(extract("t1.tar", "renamed.txt", 1, &e) == -ENOTDIR);

	test_follow_and_keep();

	/* GNU tar's output (pax and gnu formats) extracts identically */
	CHECK(sh("tar --format=pax -cf g1.tar src && tar --format=gnu -cf g2.tar src", NULL) == 0);
	CHECK(sh("mkdir gx1 gx2", NULL) == 0);
	memset(&e, 0, sizeof(e));
	CHECK(extract("g1.tar", "gx1", 0, &e) == 0);
	CHECK(extract("g2.tar", "gx2", 0, &e) == 0);
	CHECK(sh("diff -r --no-dereference src gx1/src && diff -r --no-dereference src gx2/src", NULL) == 0);
	/* and GNU tar reads ours */
	CHECK(sh("mkdir gr && tar -C gr -xf t1.tar && diff -r --no-dereference src gr/src", NULL) == 0);

	/* escapes: "..", a symlink to / then a file through it, an absolute
	 * symlink parent, a hard link out */
	CHECK(sh("python3 -c '\nimport tarfile,io\n"
		 "def add(t,name,data=b\"x\"):\n ti=tarfile.TarInfo(name);ti.size=len(data);t.addfile(ti,io.BytesIO(data))\n"
		 "def ln(t,name,target,kind=tarfile.SYMTYPE):\n ti=tarfile.TarInfo(name);ti.type=kind;ti.linkname=target;t.addfile(ti)\n"
		 "with tarfile.open(\"e1.tar\",\"w\") as t: add(t,\"../escaped\")\n"
		 "with tarfile.open(\"e2.tar\",\"w\") as t: ln(t,\"l\",\"/\"); add(t,\"l/tmp/escaped2\")\n"
		 "with tarfile.open(\"e3.tar\",\"w\") as t: ln(t,\"u\",\"../..\"); add(t,\"u/escaped3\")\n"
		 "with tarfile.open(\"e4.tar\",\"w\") as t: ln(t,\"h\",\"../../etc/passwd\",tarfile.LNKTYPE)\n"
		 "' && mkdir -p jail/a", NULL) == 0);
	memset(&e, 0, sizeof(e));
	CHECK(extract("e1.tar", "jail/a", 0, &e) == -EPERM);
	CHECK(strstr(e.msg, "../escaped") != NULL);
	memset(&e, 0, sizeof(e));
	CHECK(extract("e2.tar", "jail/a", 0, &e) == -EPERM);
	CHECK(strstr(e.msg, "l/tmp") != NULL);
	memset(&e, 0, sizeof(e));
	CHECK(extract("e3.tar", "jail/a", 0, &e) == -EPERM);
	memset(&e, 0, sizeof(e));
	CHECK(extract("e4.tar", "jail/a", 0, &e) == -EPERM);
	CHECK(access("/tmp/escaped2", F_OK) < 0);
	CHECK(sh("test ! -e jail/escaped3 && test ! -e escaped && test ! -e /tmp/escaped2", NULL) == 0);
	/* garbage */
	CHECK(sh("head -c 2048 /dev/urandom > junk.tar", NULL) == 0);
	memset(&e, 0, sizeof(e));
	CHECK(extract("junk.tar", "jail", 0, &e) == -EPROTO);

	if (!test_failures)
		sh("cd / && rm -rf %s", tmp);
	TEST_MAIN_END();
}
