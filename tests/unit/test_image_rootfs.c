/* Layer unpacking and ext4 building (src/lib/image/rootfs.c): whiteouts, opaque
 * directories, hardlinks, symlinks, refused escapes, and the metadata in the
 * ext4 image checked with debugfs. Fixtures are tar layers written here with
 * libarchive. Runs as root (privileged and rootless paths) or as a user
 * (rootless path only). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fsutil.h"
#include "rootfs.h"
#include "rootfs_dir.h"

#define PATHF(buf, ...) REQUIRE(bx_path_fmt(buf, sizeof(buf), __VA_ARGS__) == 0)

/* Stops the test at the first failure (later steps depend on earlier ones). */
#define REQUIRE(c)                                                                        \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

/* One tar entry. type: f file, d dir, l symlink, h hardlink, c/b device, p fifo, r raw name. */
struct ent {
	const char *path;
	char type;
	unsigned mode;
	unsigned uid, gid;
	const char *data; /* file content, or link target */
	unsigned maj, min;
	const char *xattr; /* one xattr "name" with value xval */
	const char *xval;
	size_t xlen;
};

enum comp { C_NONE, C_GZIP, C_ZSTD };

static char tmp_root[PATH_MAX];

static void write_layer(const char *file, const struct ent *e, size_t n, enum comp comp)
{
	struct archive *a = archive_write_new();
	size_t i;

	REQUIRE(a);
	REQUIRE(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
	if (comp == C_GZIP)
		REQUIRE(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
	else if (comp == C_ZSTD)
		REQUIRE(archive_write_add_filter_zstd(a) == ARCHIVE_OK);
	REQUIRE(archive_write_open_filename(a, file) == ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		size_t len = 0;

		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_uid(ae, e[i].uid);
		archive_entry_set_gid(ae, e[i].gid);
		archive_entry_set_mtime(ae, 981173106, 0); /* 2001-02-03 */
		switch (e[i].type) {
		case 'f':
			archive_entry_set_filetype(ae, AE_IFREG);
			len = e[i].data ? strlen(e[i].data) : 0;
			break;
		case 'd':
			archive_entry_set_filetype(ae, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, e[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].data);
			break;
		case 'c':
		case 'b':
			archive_entry_set_filetype(ae, e[i].type == 'c' ? AE_IFCHR : AE_IFBLK);
			archive_entry_set_rdev(ae, makedev(e[i].maj, e[i].min));
			break;
		case 'p':
			archive_entry_set_filetype(ae, AE_IFIFO);
			break;
		default:
			REQUIRE(0);
		}
		archive_entry_set_perm(ae, e[i].mode);
		archive_entry_set_size(ae, (la_int64_t)len);
		if (e[i].xattr)
			archive_entry_xattr_add_entry(ae, e[i].xattr, e[i].xval, e[i].xlen);
		REQUIRE(archive_write_header(a, ae) == ARCHIVE_OK);
		if (len)
			REQUIRE(archive_write_data(a, e[i].data, len) == (la_ssize_t)len);
		archive_entry_free(ae);
	}
	REQUIRE(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
}

/* A fresh case directory tmp_root/<name> with an empty tree/ in it. */
static void case_dir(const char *name, char *dir, char *tree)
{
	REQUIRE(bx_path_fmt(dir, PATH_MAX, "%s/%s", tmp_root, name) == 0);
	REQUIRE(bx_path_fmt(tree, PATH_MAX, "%s/tree", dir) == 0);
	REQUIRE(mkdir(dir, 0755) == 0);
	REQUIRE(mkdir(tree, 0755) == 0);
}

static bool exists(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	PATHF(p, "%s/%s", dir, rel);
	return lstat(p, &st) == 0;
}

static struct stat lst(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	PATHF(p, "%s/%s", dir, rel);
	if (lstat(p, &st) != 0) {
		fprintf(stderr, "missing %s\n", p);
		REQUIRE(0);
	}
	return st;
}

static bool has_whiteout_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;

	REQUIRE(d);
	while (!found && (de = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strncmp(de->d_name, ".wh.", 4))
			found = true;
		PATHF(p, "%s/%s", dir, de->d_name);
		if (!found && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			found = has_whiteout_files(p);
	}
	closedir(d);
	return found;
}

static int unpack(const char *dir, const char *tree, size_t n_layers, unsigned flags, struct bx_error *err)
{
	char paths[8][PATH_MAX];
	const char *layers[8];
	size_t i;

	for (i = 0; i < n_layers; i++) {
		REQUIRE(bx_path_fmt(paths[i], PATH_MAX, "%s/layer%zu.tar", dir, i) == 0);
		layers[i] = paths[i];
	}
	*err = (struct bx_error){ 0 };
	return bx_rootfs_unpack(layers, n_layers, tree, flags, NULL, err);
}

static void layer_path(char *out, const char *dir, int i)
{
	REQUIRE(bx_path_fmt(out, PATH_MAX, "%s/layer%d.tar", dir, i) == 0);
}

static void test_whiteouts(void)
{
	char dir[PATH_MAX], tree[PATH_MAX], l[PATH_MAX];
	struct bx_error err;
	const struct ent l0[] = {
		{ .path = "./", .type = 'd', .mode = 0755 },
		{ .path = "./etc/", .type = 'd', .mode = 0755 },
		{ .path = "./etc/motd", .type = 'f', .mode = 0644, .data = "lower motd\n" },
		{ .path = "./etc/keep", .type = 'f', .mode = 0644, .data = "keep\n" },
		{ .path = "./opt/olddir/a", .type = 'f', .mode = 0644, .data = "a" },
		{ .path = "./opt/olddir/sub/b", .type = 'f', .mode = 0644, .data = "b" },
		{ .path = "./var/opaque/lower1", .type = 'f', .mode = 0644, .data = "x" },
		{ .path = "./var/opaque/sub/lower2", .type = 'f', .mode = 0644, .data = "y" },
		{ .path = "./swap/dir2file/child", .type = 'f', .mode = 0644, .data = "c" },
		{ .path = "./swap/file2dir", .type = 'f', .mode = 0644, .data = "f" },
	};
	const struct ent l1[] = {
		{ .path = "etc/.wh.motd", .type = 'f', .mode = 0 },
		{ .path = "opt/.wh.olddir", .type = 'f', .mode = 0 },
		{ .path = "var/opaque/new", .type = 'f', .mode = 0644, .data = "same layer, before the marker" },
		{ .path = "var/opaque/.wh..wh..opq", .type = 'f', .mode = 0 }, /* after a same-layer sibling */
		{ .path = "var/.wh..wh.plnk", .type = 'd', .mode = 0700 },    /* aufs bookkeeping: ignored */
		{ .path = "etc/.wh.absent", .type = 'f', .mode = 0 },         /* whiteout of nothing */
		{ .path = "swap/dir2file", .type = 'f', .mode = 0600, .data = "now a file" },
		{ .path = "swap/file2dir/", .type = 'd', .mode = 0755 },
		{ .path = "swap/file2dir/inner", .type = 'f', .mode = 0644, .data = "now in a dir" },
	};
	const struct ent l2[] = {
		{ .path = "/etc/motd", .type = 'f', .mode = 0644, .data = "upper motd\n" }, /* re-created above its whiteout */
		{ .path = "/opt/.wh..wh..opq", .type = 'f', .mode = 0 },                   /* opaque dir that already is empty */
	};

	case_dir("whiteouts", dir, tree);
	layer_path(l, dir, 0);
	write_layer(l, l0, sizeof(l0) / sizeof(l0[0]), C_GZIP);
	layer_path(l, dir, 1);
	write_layer(l, l1, sizeof(l1) / sizeof(l1[0]), C_ZSTD);
	layer_path(l, dir, 2);
	write_layer(l, l2, sizeof(l2) / sizeof(l2[0]), C_NONE);
	if (unpack(dir, tree, 3, 0, &err) != 0) {
		fprintf(stderr, "unpack: %s\n", err.msg);
		REQUIRE(0);
	}
	REQUIRE(exists(tree, "etc/keep"));
	REQUIRE(exists(tree, "etc/motd") && lst(tree, "etc/motd").st_size == 11);
	REQUIRE(!exists(tree, "opt/olddir"));
	REQUIRE(exists(tree, "opt"));
	REQUIRE(!exists(tree, "var/opaque/lower1"));
	REQUIRE(!exists(tree, "var/opaque/sub"));
	REQUIRE(exists(tree, "var/opaque/new"));
	REQUIRE(!exists(tree, "var/.wh..wh.plnk"));
	REQUIRE(S_ISREG(lst(tree, "swap/dir2file").st_mode));
	REQUIRE(S_ISDIR(lst(tree, "swap/file2dir").st_mode) && exists(tree, "swap/file2dir/inner"));
	REQUIRE(!has_whiteout_files(tree));
	REQUIRE(lst(tree, "etc/motd").st_mtime == 981173106);
}

static void test_links(void)
{
	char dir[PATH_MAX], tree[PATH_MAX], l[PATH_MAX];
	struct bx_error err;
	struct stat a, b;
	const struct ent l0[] = {
		{ .path = "usr/lib/", .type = 'd', .mode = 0755 },
		{ .path = "usr/share/", .type = 'd', .mode = 0755 },
		{ .path = "lib", .type = 'l', .mode = 0777, .data = "usr/lib" },
		{ .path = "abs", .type = 'l', .mode = 0777, .data = "/usr" },
		{ .path = "loop1", .type = 'l', .mode = 0777, .data = "loop2" },
		{ .path = "loop2", .type = 'l', .mode = 0777, .data = "loop1" },
		{ .path = "bin/tool", .type = 'f', .mode = 0755, .data = "#!/bin/sh\n" },
		{ .path = "bin/tool-hl", .type = 'h', .mode = 0755, .data = "bin/tool" },
		{ .path = "./bin/dangling", .type = 'l', .mode = 0777, .data = "/nonexistent/target" },
	};
	const struct ent l1[] = {
		{ .path = "lib/libx.so", .type = 'f', .mode = 0644, .data = "ELF" }, /* through an in-root relative symlink */
		{ .path = "abs/share/y", .type = 'f', .mode = 0644, .data = "y" },   /* through an absolute symlink: root-relative */
		{ .path = "bin/tool-hl2", .type = 'h', .mode = 0755, .data = "/bin/tool-hl" },
	};
	const struct ent bad_hl[] = { { .path = "x", .type = 'h', .mode = 0644, .data = "no/such/file" } };
	const struct ent bad_dir_hl[] = { { .path = "x", .type = 'h', .mode = 0644, .data = "usr" } };
	const struct ent loop[] = { { .path = "loop1/x", .type = 'f', .mode = 0644, .data = "x" } };

	case_dir("links", dir, tree);
	layer_path(l, dir, 0);
	write_layer(l, l0, sizeof(l0) / sizeof(l0[0]), C_GZIP);
	layer_path(l, dir, 1);
	write_layer(l, l1, sizeof(l1) / sizeof(l1[0]), C_GZIP);
	if (unpack(dir, tree, 2, 0, &err) != 0) {
		fprintf(stderr, "unpack: %s\n", err.msg);
		REQUIRE(0);
	}
	REQUIRE(S_ISLNK(lst(tree, "lib").st_mode));
	REQUIRE(S_ISREG(lst(tree, "usr/lib/libx.so").st_mode));
	REQUIRE(S_ISREG(lst(tree, "usr/share/y").st_mode));
	a = lst(tree, "bin/tool");
	b = lst(tree, "bin/tool-hl2");
	REQUIRE(a.st_ino == b.st_ino && a.st_nlink == 3);
	REQUIRE(S_ISLNK(lst(tree, "bin/dangling").st_mode));

	layer_path(l, dir, 2);
	write_layer(l, bad_hl, 1, C_NONE);
	{
		const char *layers[] = { l };
		err = (struct bx_error){ 0 };
		REQUIRE(bx_rootfs_unpack(layers, 1, tree, 0, NULL, &err) == -EINVAL);
		REQUIRE(strstr(err.msg, "does not exist") && strstr(err.msg, "'x'"));
		write_layer(l, bad_dir_hl, 1, C_NONE);
		err = (struct bx_error){ 0 };
		REQUIRE(bx_rootfs_unpack(layers, 1, tree, 0, NULL, &err) == -EINVAL);
		REQUIRE(strstr(err.msg, "directory"));
		write_layer(l, loop, 1, C_NONE);
		err = (struct bx_error){ 0 };
		REQUIRE(bx_rootfs_unpack(layers, 1, tree, 0, NULL, &err) == -ELOOP);
	}
}

/* A single-layer unpack that must fail with code, mentioning needle. */
static void expect_refused(const char *name, const struct ent *e, size_t n, int code, const char *needle)
{
	char dir[PATH_MAX], tree[PATH_MAX], l[PATH_MAX];
	struct bx_error err;
	int r;

	case_dir(name, dir, tree);
	layer_path(l, dir, 0);
	write_layer(l, e, n, C_GZIP);
	r = unpack(dir, tree, 1, 0, &err);
	if (r != code || !strstr(err.msg, needle)) {
		fprintf(stderr, "%s: got %d '%s', want %d '%s'\n", name, r, err.msg, code, needle);
		REQUIRE(0);
	}
}

static void test_escapes(void)
{
	char outside[PATH_MAX], p[PATH_MAX];
	struct stat st;

	/* tree is tmp_root/<case>/tree: "../../" would land in tmp_root. */
	{
		const struct ent e[] = { { .path = "ok", .type = 'f', .mode = 0644, .data = "ok" },
					 { .path = "../../etc/passwd", .type = 'f', .mode = 0644, .data = "root::0:0::/:/bin/sh\n" } };
		expect_refused("dotdot", e, 2, -EINVAL, "../../etc/passwd");
	}
	{
		const struct ent e[] = { { .path = "a/../../../escaped", .type = 'f', .mode = 0644, .data = "x" } };
		expect_refused("dotdot2", e, 1, -EINVAL, "..");
	}
	{
		const struct ent e[] = { { .path = "ok", .type = 'f', .mode = 0644, .data = "ok" }, { .path = "hl", .type = 'h', .mode = 0644, .data = "../../etc/shadow" } };
		expect_refused("dotdot-hardlink", e, 2, -EINVAL, "../../etc/shadow");
	}
	{
		const struct ent e[] = { { .path = "esc", .type = 'l', .mode = 0777, .data = "../../.." }, { .path = "esc/pwned", .type = 'f', .mode = 0644, .data = "x" } };
		expect_refused("symlink-escape", e, 2, -EINVAL, "outside the root");
	}
	{
		const struct ent e[] = { { .path = "a", .type = 'l', .mode = 0777, .data = "b/c" },
					 { .path = "b/", .type = 'd', .mode = 0755 },
					 { .path = "b/c", .type = 'l', .mode = 0777, .data = "../../.." },
					 { .path = "a/pwned", .type = 'f', .mode = 0644, .data = "x" } };
		expect_refused("symlink-escape-chain", e, 4, -EINVAL, "'a/pwned'");
	}
	{
		const struct ent e[] = { { .path = "up", .type = 'l', .mode = 0777, .data = "/../.." }, { .path = "up/pwned", .type = 'f', .mode = 0644, .data = "x" } };
		expect_refused("symlink-escape-abs", e, 2, -EINVAL, "outside the root");
	}
	PATHF(p, "%s/etc/passwd", tmp_root);
	REQUIRE(stat(p, &st) != 0);
	PATHF(p, "%s/escaped", tmp_root);
	REQUIRE(stat(p, &st) != 0);
	PATHF(p, "%s/pwned", tmp_root);
	REQUIRE(stat(p, &st) != 0);

	/* An absolute symlink to a host directory stays inside the tree. */
	{
		char dir[PATH_MAX], tree[PATH_MAX], l[PATH_MAX], rel[PATH_MAX + 8];
		struct bx_error err;
		const struct ent e[] = { { .path = "host", .type = 'l', .mode = 0777, .data = outside }, { .path = "host/file", .type = 'f', .mode = 0644, .data = "x" } };

		PATHF(outside, "%s/outside", tmp_root);
		REQUIRE(mkdir(outside, 0755) == 0);
		case_dir("abs-host-symlink", dir, tree);
		layer_path(l, dir, 0);
		write_layer(l, e, 2, C_GZIP);
		REQUIRE(unpack(dir, tree, 1, 0, &err) == 0);
		PATHF(p, "%s/file", outside);
		REQUIRE(stat(p, &st) != 0);
		PATHF(rel, "%s/file", outside + 1);
		REQUIRE(exists(tree, rel));
	}
}

/* ---- ext4 checks ---- */

struct dstat {
	char type[32];
	unsigned mode, uid, gid, links, maj, min;
};

static bool debugfs_stat(const char *img, const char *path, struct dstat *ds)
{
	char dbg[PATH_MAX], cmd[3 * PATH_MAX], line[512];
	bool found = false;
	FILE *f;

	memset(ds, 0, sizeof(*ds));
	REQUIRE(bx_find_tool("debugfs", dbg, sizeof(dbg), NULL) == 0);
	PATHF(cmd, "%s -R 'stat \"%s\"' '%s' 2>/dev/null", dbg, path, img);
	f = popen(cmd, "r");
	REQUIRE(f);
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (!strncmp(line, "Inode:", 6)) {
			found = true;
			char *t = strstr(line, "Type: "), *m = strstr(line, "Mode: ");

			if (t && m && m > t) {
				size_t n = (size_t)(m - (t + 6));
				snprintf(ds->type, sizeof(ds->type), "%.*s", (int)n, t + 6);
				while (strlen(ds->type) && ds->type[strlen(ds->type) - 1] == ' ')
					ds->type[strlen(ds->type) - 1] = '\0';
				sscanf(m + 6, "%o", &ds->mode);
			}
		}
		if (!strncmp(line, "User:", 5))
			sscanf(line, "User: %u Group: %u", &ds->uid, &ds->gid);
		if (!strncmp(line, "Links:", 6))
			sscanf(line, "Links: %u", &ds->links);
		if ((p = strstr(line, "Device major/minor number:")))
			sscanf(p + 26, "%x:%x", &ds->maj, &ds->min);
	}
	pclose(f);
	return found;
}

static void expect_inode(const char *img, const char *path, const char *type, unsigned mode, unsigned uid,
			 unsigned gid)
{
	struct dstat ds;

	if (!debugfs_stat(img, path, &ds) || strcmp(ds.type, type) || ds.mode != mode || ds.uid != uid ||
	    ds.gid != gid) {
		fprintf(stderr, "%s: %s is '%s' %04o %u:%u, want '%s' %04o %u:%u\n", img, path, ds.type, ds.mode, ds.uid,
			ds.gid, type, mode, uid, gid);
		REQUIRE(0);
	}
}

static bool debugfs_output_has(const char *img, const char *request, const char *needle)
{
	char dbg[PATH_MAX], cmd[3 * PATH_MAX], line[1024];
	bool found = false;
	FILE *f;

	REQUIRE(bx_find_tool("debugfs", dbg, sizeof(dbg), NULL) == 0);
	PATHF(cmd, "%s -R '%s' '%s' 2>/dev/null", dbg, request, img);
	f = popen(cmd, "r");
	REQUIRE(f);
	while (fgets(line, sizeof(line), f))
		found = found || strstr(line, needle);
	pclose(f);
	return found;
}

static void test_ext4(bool rootless)
{
	static const char cap[] = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
	char dir[PATH_MAX], tree[PATH_MAX], l0p[PATH_MAX], l1p[PATH_MAX], img[PATH_MAX], fsck[PATH_MAX], cmd[3 * PATH_MAX];
	const char *layers[] = { l0p, l1p };
	struct bx_rootfs_stats st;
	struct bx_error err = { 0 };
	struct dstat ds;
	const struct ent l0[] = {
		{ .path = "./", .type = 'd', .mode = 0755 },
		{ .path = "./srv/", .type = 'd', .mode = 0755 },
		{ .path = "./srv/suid", .type = 'f', .mode = 04755, .uid = 1000, .gid = 1001, .data = "suid" },
		{ .path = "./srv/suid-hl", .type = 'h', .mode = 04755, .uid = 1000, .gid = 1001, .data = "./srv/suid" },
		{ .path = "./srv/sgid", .type = 'f', .mode = 02755, .uid = 0, .gid = 50, .data = "sgid" },
		{ .path = "./srv/secret", .type = 'f', .mode = 0000, .uid = 0, .gid = 42, .data = "nobody may read me" },
		{ .path = "./srv/ro/", .type = 'd', .mode = 0555 },
		{ .path = "./srv/ro/f", .type = 'f', .mode = 0444, .data = "inside a read-only dir\n" },
		{ .path = "./srv/fifo", .type = 'p', .mode = 0600, .uid = 7, .gid = 8 },
		{ .path = "./srv/link", .type = 'l', .mode = 0777, .uid = 1000, .gid = 1000, .data = "suid" },
		{ .path = "./srv/cap", .type = 'f', .mode = 0755, .data = "ping", .xattr = "security.capability", .xval = cap, .xlen = 20 },
		{ .path = "./srv/user-xattr", .type = 'f', .mode = 0644, .data = "u", .xattr = "user.note", .xval = "hello", .xlen = 5 },
		{ .path = "./private/", .type = 'd', .mode = 0700, .uid = 1000, .gid = 1000 },
		{ .path = "./private/key", .type = 'f', .mode = 0600, .uid = 1000, .gid = 1000, .data = "k" },
		{ .path = "./tmp/", .type = 'd', .mode = 01777 },
		{ .path = "./dev/", .type = 'd', .mode = 0755 },
		{ .path = "./dev/null", .type = 'c', .mode = 0666, .maj = 1, .min = 3 },
		{ .path = "./dev/loop0", .type = 'b', .mode = 0660, .uid = 0, .gid = 6, .maj = 7, .min = 0 },
		{ .path = "./dev/gone", .type = 'c', .mode = 0600, .maj = 1, .min = 5 },
		{ .path = "./dev/sub/tty", .type = 'c', .mode = 0620, .uid = 0, .gid = 5, .maj = 5, .min = 0 },
	};
	const struct ent l1[] = {
		{ .path = "dev/.wh.gone", .type = 'f', .mode = 0 },
		{ .path = "dev/sub/.wh..wh..opq", .type = 'f', .mode = 0 },
		{ .path = "dev/sub/ptmx", .type = 'c', .mode = 0666, .uid = 0, .gid = 5, .maj = 5, .min = 2 },
		{ .path = "implicit/parent/file", .type = 'f', .mode = 0640, .uid = 33, .gid = 33, .data = "w" },
	};

	case_dir(rootless ? "ext4-rootless" : "ext4-root", dir, tree);
	rmdir(tree); /* bx_rootfs_build_ext4 makes its own */
	layer_path(l0p, dir, 0);
	write_layer(l0p, l0, sizeof(l0) / sizeof(l0[0]), C_GZIP);
	layer_path(l1p, dir, 1);
	write_layer(l1p, l1, sizeof(l1) / sizeof(l1[0]), C_ZSTD);
	PATHF(img, "%s/base.ext4", dir);
	if (bx_rootfs_build_ext4(layers, 2, dir, img, rootless ? BX_ROOTFS_FORCE_ROOTLESS : 0, &st, &err) != 0) {
		fprintf(stderr, "build: %s\n", err.msg);
		REQUIRE(0);
	}
	REQUIRE(st.rootless == (rootless || geteuid() != 0));
	REQUIRE(st.entries == 22 && st.image_bytes >= 64ull << 20);
	REQUIRE(!exists(dir, "tree"));

	expect_inode(img, "/", "directory", 0755, 0, 0);
	expect_inode(img, "/srv", "directory", 0755, 0, 0);
	expect_inode(img, "/srv/suid", "regular", 04755, 1000, 1001);
	expect_inode(img, "/srv/sgid", "regular", 02755, 0, 50);
	expect_inode(img, "/srv/secret", "regular", 0000, 0, 42);
	expect_inode(img, "/srv/ro", "directory", 0555, 0, 0);
	expect_inode(img, "/srv/ro/f", "regular", 0444, 0, 0);
	expect_inode(img, "/srv/fifo", "FIFO", 0600, 7, 8);
	expect_inode(img, "/srv/link", "symlink", 0777, 1000, 1000);
	expect_inode(img, "/private", "directory", 0700, 1000, 1000);
	expect_inode(img, "/private/key", "regular", 0600, 1000, 1000);
	expect_inode(img, "/tmp", "directory", 01777, 0, 0);
	expect_inode(img, "/dev/null", "character special", 0666, 0, 0);
	expect_inode(img, "/dev/loop0", "block special", 0660, 0, 6);
	expect_inode(img, "/dev/sub/ptmx", "character special", 0666, 0, 5);
	expect_inode(img, "/implicit", "directory", 0755, 0, 0);
	expect_inode(img, "/implicit/parent/file", "regular", 0640, 33, 33);
	REQUIRE(debugfs_stat(img, "/dev/null", &ds) && ds.maj == 1 && ds.min == 3);
	REQUIRE(debugfs_stat(img, "/dev/loop0", &ds) && ds.maj == 7 && ds.min == 0);
	REQUIRE(debugfs_stat(img, "/srv/suid-hl", &ds) && ds.links == 2 && ds.mode == 04755);
	REQUIRE(!debugfs_stat(img, "/dev/gone", &ds));
	REQUIRE(!debugfs_stat(img, "/dev/sub/tty", &ds));
	REQUIRE(!debugfs_stat(img, "/dev/.wh.gone", &ds));
	REQUIRE(debugfs_output_has(img, "cat /srv/secret", "nobody may read me"));
	REQUIRE(debugfs_output_has(img, "cat /srv/ro/f", "inside a read-only dir"));
	REQUIRE(debugfs_output_has(img, "ea_list /srv/cap", "security.capability (20)"));
	REQUIRE(debugfs_output_has(img, "ea_list /srv/user-xattr", "user.note (5) = \"hello\""));

	REQUIRE(bx_find_tool("e2fsck", fsck, sizeof(fsck), NULL) == 0);
	PATHF(cmd, "%s -fn '%s' >/dev/null 2>&1", fsck, img);
	REQUIRE(system(cmd) == 0);
}

/* --rootfs: the tree's hash is stable, and changes with any file's content,
 * mode, a new entry or a link's target; it does not follow symlinks. */
static void test_dir_hash(void)
{
	char dir[PATH_MAX], p[PATH_MAX], h0[65], h1[65], h2[65];
	int fd;

	PATHF(dir, "%s/hashtree", tmp_root);
	REQUIRE(mkdir(dir, 0755) == 0);
	PATHF(p, "%s/etc", dir);
	REQUIRE(mkdir(p, 0755) == 0);
	PATHF(p, "%s/etc/msg", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	REQUIRE(fd >= 0 && write(fd, "one", 3) == 3);
	close(fd);
	PATHF(p, "%s/link", dir);
	REQUIRE(symlink("/etc/msg", p) == 0);
	PATHF(p, "%s/outside", dir);
	REQUIRE(symlink("/", p) == 0); /* never followed */
	REQUIRE(bx_rootfs_dir_hash(dir, h0, NULL) == 0 && strlen(h0) == 64);
	REQUIRE(bx_rootfs_dir_hash(dir, h1, NULL) == 0 && !strcmp(h0, h1));
	PATHF(p, "%s/etc/msg", dir);
	fd = open(p, O_WRONLY | O_TRUNC);
	REQUIRE(fd >= 0 && write(fd, "two", 3) == 3); /* same size, other content */
	close(fd);
	REQUIRE(bx_rootfs_dir_hash(dir, h1, NULL) == 0 && strcmp(h0, h1));
	REQUIRE(chmod(p, 0600) == 0);
	REQUIRE(bx_rootfs_dir_hash(dir, h2, NULL) == 0 && strcmp(h1, h2));
	PATHF(p, "%s/link", dir);
	REQUIRE(unlink(p) == 0 && symlink("/etc/other", p) == 0);
	REQUIRE(bx_rootfs_dir_hash(dir, h1, NULL) == 0 && strcmp(h1, h2));
	PATHF(p, "%s/etc/new", dir);
	REQUIRE(mkdir(p, 0755) == 0);
	REQUIRE(bx_rootfs_dir_hash(dir, h2, NULL) == 0 && strcmp(h1, h2));
	PATHF(p, "%s/etc/msg", dir);
	REQUIRE(bx_rootfs_dir_hash(p, h2, NULL) == -ENOTDIR);
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	int fd;

	snprintf(tmp_root, sizeof(tmp_root), "%s/test_image_rootfs.XXXXXX", t && *t ? t : "/tmp");
	REQUIRE(mkdtemp(tmp_root));
	test_whiteouts();
	test_links();
	test_escapes();
	test_dir_hash();
	if (geteuid() == 0)
		test_ext4(false);
	test_ext4(true);
	fd = open(tmp_root, O_RDONLY | O_DIRECTORY);
	REQUIRE(fd >= 0);
	REQUIRE(bx_rm_rf_at(AT_FDCWD, tmp_root, NULL) == 0);
	close(fd);
	printf("test_image_rootfs: ok%s\n", geteuid() == 0 ? "" : " (rootless path only: not root)");
	return 0;
}
