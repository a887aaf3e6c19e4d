/* The image store (src/lib/image/image_store.c): importing hand-written OCI
 * layouts into a home, idempotence, digest verification, image indexes,
 * lookups, concurrent imports and stale work dirs, root disks shared by the
 * layer chain and their reference counting by rmi. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "image_refs.h"
#include "image_store.h"

/* Stops the test at the first failure (later steps depend on earlier ones). */
#define REQUIRE(c)                                                                        \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                          \
		}                                                                         \
	} while (0)
#define PATHF(buf, ...) REQUIRE(bx_path_fmt(buf, sizeof(buf), __VA_ARGS__) == 0)

static char tmp_root[PATH_MAX];

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	REQUIRE(f);
	REQUIRE(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	REQUIRE(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	REQUIRE(buf);
	REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_all(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	REQUIRE(f);
	REQUIRE(fwrite(data, 1, len, f) == len);
	REQUIRE(fclose(f) == 0);
}

/* Stores data as a blob of layout; returns its digest in out. */
static void put_blob(const char *layout, const void *data, size_t len, char out[BX_DIGEST_MAX])
{
	char p[PATH_MAX];

	bx_sha256_digest(data, len, out);
	PATHF(p, "%s/blobs/sha256/%s", layout, out + 7);
	write_all(p, data, len);
}

/* A gzip tar layer with a few files; variant changes the content. */
static void make_layer(const char *file, int variant)
{
	struct archive *a = archive_write_new();
	const char *names[] = { "bin/", "bin/hello", "etc/", "etc/os-release", "tmp/" };
	size_t i;

	REQUIRE(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
	REQUIRE(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
	/* No time in the gzip header: the same variant must give the same
	 * digest in every second (the tests compare layer chains). */
	REQUIRE(archive_write_set_options(a, "gzip:!timestamp") == ARCHIVE_OK);
	REQUIRE(archive_write_open_filename(a, file) == ARCHIVE_OK);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct archive_entry *e = archive_entry_new();
		char data[64];
		bool dir = names[i][strlen(names[i]) - 1] == '/';
		size_t len = dir ? 0 : (size_t)snprintf(data, sizeof(data), "%s v%d\n", names[i], variant);

		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(e, !strcmp(names[i], "tmp/") ? 01777 : !strcmp(names[i], "bin/hello") ? 04755 : 0755);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_size(e, (la_int64_t)len);
		REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
		if (len)
			REQUIRE(archive_write_data(a, data, len) == (la_ssize_t)len);
		archive_entry_free(e);
	}
	REQUIRE(archive_write_close(a) == ARCHIVE_OK);
	archive_write_free(a);
}

struct layout_info {
	char manifest[BX_DIGEST_MAX];
	char config[BX_DIGEST_MAX];
	char layer[BX_DIGEST_MAX];
	char index[BX_DIGEST_MAX]; /* when with_index */
	char chain[BX_DIGEST_MAX]; /* the root disk's key */
};

static void chain_of(const char *layer, char out[BX_DIGEST_MAX])
{
	struct bx_oci_descriptor d = { 0 };
	struct bx_oci_manifest m = { .layers = &d, .n_layers = 1 };

	snprintf(d.digest, sizeof(d.digest), "%s", layer);
	REQUIRE(bx_image_chain_id(&m, out) == 0);
}

/* Writes an OCI layout at dir with one image tagged tag. With with_index,
 * the tag names an image index holding a foreign-arch and a native manifest. */
static void make_layout(const char *dir, const char *tag, int variant, bool with_index, struct layout_info *info)
{
	char p[PATH_MAX], layer_file[PATH_MAX], json[4096], foreign[BX_DIGEST_MAX];
	char *layer;
	size_t layer_len;
	int n;

	REQUIRE(bx_mkdir_p(dir, 0755, NULL) == 0);
	PATHF(p, "%s/blobs/sha256", dir);
	REQUIRE(bx_mkdir_p(p, 0755, NULL) == 0);
	PATHF(p, "%s/oci-layout", dir);
	write_all(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);

	PATHF(layer_file, "%s/layer.tmp", dir);
	make_layer(layer_file, variant);
	layer = read_all(layer_file, &layer_len);
	put_blob(dir, layer, layer_len, info->layer);
	unlink(layer_file);

	n = snprintf(json, sizeof(json),
		     "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\",\"V=%d\"],"
		     "\"Entrypoint\":[\"/bin/hello\"],\"Cmd\":[\"--flag\",\"x y\"],\"WorkingDir\":\"/srv\",\"User\":\"0:0\"},"
		     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%064d\"]}}",
		     BX_OCI_HOST_ARCH, variant, 0);
	put_blob(dir, json, (size_t)n, info->config);
	n = snprintf(json, sizeof(json),
		     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" BX_MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%d},"
		     "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\","
		     "\"size\":%zu}]}",
		     info->config, n, info->layer, layer_len);
	put_blob(dir, json, (size_t)n, info->manifest);
	chain_of(info->layer, info->chain);
	free(layer);

	if (!with_index) {
		n = snprintf(json, sizeof(json),
			     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" BX_MT_OCI_MANIFEST
			     "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"%s\"}}]}",
			     info->manifest, strlen(json), tag);
	} else {
		size_t mlen = strlen(json);
		char idx[2048];
		int k;

		/* a foreign-arch manifest that must not be chosen (its blobs are absent) */
		bx_sha256_digest("foreign", 7, foreign);
		k = snprintf(idx, sizeof(idx),
			     "{\"schemaVersion\":2,\"mediaType\":\"" BX_MT_OCI_INDEX "\",\"manifests\":["
			     "{\"mediaType\":\"" BX_MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":7,"
			     "\"platform\":{\"architecture\":\"riscv64\",\"os\":\"linux\"}},"
			     "{\"mediaType\":\"" BX_MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
			     "\"platform\":{\"architecture\":\"%s\",\"os\":\"linux\"}}]}",
			     foreign, info->manifest, mlen, BX_OCI_HOST_ARCH);
		put_blob(dir, idx, (size_t)k, info->index);
		n = snprintf(json, sizeof(json),
			     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" BX_MT_OCI_INDEX
			     "\",\"digest\":\"%s\",\"size\":%d,\"annotations\":{\"org.opencontainers.image.ref.name\":\"%s\"}}]}",
			     info->index, k, tag);
	}
	PATHF(p, "%s/index.json", dir);
	write_all(p, json, (size_t)n);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void import_ok(const char *home, const char *layout, const char *tag, const char *ref, struct bx_image *img,
		      struct bx_rootfs_stats *st)
{
	struct bx_error err = { 0 };

	if (bx_image_import_layout_ex(home, layout, tag, ref, 0, img, st, &err) != 0) {
		fprintf(stderr, "import %s: %s\n", layout, err.msg);
		REQUIRE(0);
	}
}

static void test_import(void)
{
	char home[PATH_MAX], layout[PATH_MAX], p[PATH_MAX];
	struct bx_image img, again;
	struct bx_rootfs_stats st;
	struct layout_info li;
	struct bx_error err = { 0 };
	struct stat st1, st2;
	char *ref;
	size_t len;

	PATHF(home, "%s/home", tmp_root);
	PATHF(layout, "%s/layout-plain", tmp_root);
	make_layout(layout, "1.0", 1, false, &li);

	import_ok(home, layout, "1.0", "localhost/test:1.0", &img, &st);
	REQUIRE(!strcmp(img.digest, li.manifest));
	REQUIRE(st.entries == 5);
	PATHF(p, "%s/images/bases/%s.ext4", home, li.chain + 7);
	REQUIRE(!strcmp(img.base_path, p));
	REQUIRE(stat(p, &st1) == 0 && (st1.st_mode & 07777) == 0444);
	REQUIRE(img.env && !strcmp(img.env[0], "PATH=/bin") && !strcmp(img.env[1], "V=1") && !img.env[2]);
	REQUIRE(img.entrypoint && !strcmp(img.entrypoint[0], "/bin/hello") && !img.entrypoint[1]);
	REQUIRE(img.cmd && !strcmp(img.cmd[0], "--flag") && !strcmp(img.cmd[1], "x y") && !img.cmd[2]);
	REQUIRE(!strcmp(img.workdir, "/srv") && !strcmp(img.user, "0:0"));
	PATHF(p, "%s/images/blobs/sha256", home);
	REQUIRE(count_entries(p) == 3);
	PATHF(p, "%s/images/blobs/sha256/%s", home, li.layer + 7);
	REQUIRE(exists(p));
	PATHF(p, "%s/images/refs/localhost%%2Ftest%%3A1.0", home);
	ref = read_all(p, &len);
	REQUIRE(len == strlen(li.manifest) + 1 && !strncmp(ref, li.manifest, len - 1) && ref[len - 1] == '\n');
	free(ref);
	PATHF(p, "%s/images/tmp", home);
	REQUIRE(count_entries(p) == 0);

	/* again: same answer, nothing rebuilt or added */
	PATHF(p, "%s/images/bases/%s.ext4", home, li.chain + 7);
	import_ok(home, layout, "1.0", "localhost/test:1.0", &again, &st);
	REQUIRE(st.entries == 0);
	REQUIRE(stat(p, &st2) == 0 && st1.st_ino == st2.st_ino && st1.st_mtime == st2.st_mtime);
	REQUIRE(!strcmp(again.digest, img.digest) && !strcmp(again.base_path, img.base_path));
	bx_image_free(&again);
	PATHF(p, "%s/images/blobs/sha256", home);
	REQUIRE(count_entries(p) == 3);

	/* a second name for the same image shares everything */
	import_ok(home, layout, "1.0", "other:latest", &again, &st);
	REQUIRE(st.entries == 0 && !strcmp(again.digest, img.digest));
	bx_image_free(&again);

	/* lookup */
	REQUIRE(bx_image_lookup(home, "localhost/test:1.0", &again, &err) == 0);
	REQUIRE(!strcmp(again.digest, img.digest) && !strcmp(again.base_path, img.base_path));
	REQUIRE(!strcmp(again.cmd[1], "x y") && !strcmp(again.workdir, "/srv"));
	bx_image_free(&again);
	bx_image_free(&again); /* safe twice */
	err = (struct bx_error){ 0 };
	REQUIRE(bx_image_lookup(home, "localhost/nope:1", &again, &err) == -ENOENT);
	REQUIRE(strstr(err.msg, "localhost/nope:1") && !again.base_path);
	PATHF(p, "%s/no-such-home", tmp_root);
	REQUIRE(bx_image_lookup(p, "localhost/test:1.0", &again, NULL) == -ENOENT);
	REQUIRE(!exists(p));

	/* a missing base is rebuilt by lookup */
	PATHF(p, "%s/images/bases/%s.ext4", home, li.chain + 7);
	REQUIRE(unlink(p) == 0);
	REQUIRE(bx_image_lookup(home, "localhost/test:1.0", &again, &err) == 0);
	REQUIRE(exists(p));
	bx_image_free(&again);

	/* errors */
	err = (struct bx_error){ 0 };
	REQUIRE(bx_image_import_layout(home, layout, "2.0", "x:2", &again, &err) == -ENOENT);
	REQUIRE(strstr(err.msg, "2.0"));
	REQUIRE(bx_image_import_layout(home, tmp_root, "1.0", "x:2", &again, NULL) == -ENOENT);
	REQUIRE(bx_image_import_layout(home, layout, "1.0", "bad ref", &again, NULL) == -EINVAL);
	REQUIRE(bx_image_import_layout(home, layout, "1.0", "", &again, NULL) == -EINVAL);
	bx_image_free(&img);
}

static void test_index(void)
{
	char home[PATH_MAX], layout[PATH_MAX], p[PATH_MAX];
	struct layout_info li;
	struct bx_image img;

	PATHF(home, "%s/home-index", tmp_root);
	PATHF(layout, "%s/layout-index", tmp_root);
	make_layout(layout, "multi", 2, true, &li);
	import_ok(home, layout, "multi", "localhost/multi:1", &img, NULL);
	REQUIRE(!strcmp(img.digest, li.manifest)); /* the native manifest, not the index */
	PATHF(p, "%s/images/blobs/sha256/%s", home, li.index + 7);
	REQUIRE(exists(p));
	bx_image_free(&img);
}

static void flip_byte(const char *layout, const char *digest, long at)
{
	char p[PATH_MAX];
	unsigned char c;
	FILE *f;

	PATHF(p, "%s/blobs/sha256/%s", layout, digest + 7);
	f = fopen(p, "r+b");
	REQUIRE(f);
	REQUIRE(fseek(f, at, SEEK_SET) == 0 && fread(&c, 1, 1, f) == 1);
	c ^= 0x5a;
	REQUIRE(fseek(f, at, SEEK_SET) == 0 && fwrite(&c, 1, 1, f) == 1);
	REQUIRE(fclose(f) == 0);
}

static void test_corrupt(void)
{
	char home[PATH_MAX], layout[PATH_MAX], p[PATH_MAX];
	struct layout_info li;
	struct bx_error err = { 0 };
	struct bx_image img;

	PATHF(home, "%s/home-corrupt", tmp_root);
	PATHF(layout, "%s/layout-corrupt", tmp_root);
	make_layout(layout, "1", 3, false, &li);
	flip_byte(layout, li.layer, 100);
	REQUIRE(bx_image_import_layout(home, layout, "1", "corrupt:1", &img, &err) == -EBADMSG);
	REQUIRE(strstr(err.msg, "is corrupt: digest mismatch") && strstr(err.msg, li.layer));
	PATHF(p, "%s/images/blobs/sha256", home);
	REQUIRE(count_entries(p) == 0); /* not even the (valid) manifest and config */
	PATHF(p, "%s/images/refs", home);
	REQUIRE(count_entries(p) == 0);
	PATHF(p, "%s/images/bases", home);
	REQUIRE(count_entries(p) == 0);
	PATHF(p, "%s/images/tmp", home);
	REQUIRE(count_entries(p) == 0);
	REQUIRE(bx_image_lookup(home, "corrupt:1", &img, NULL) == -ENOENT);

	/* a corrupt config (same size) is caught too */
	make_layout(layout, "1", 3, false, &li);
	flip_byte(layout, li.config, 3);
	err = (struct bx_error){ 0 };
	REQUIRE(bx_image_import_layout(home, layout, "1", "corrupt:1", &img, &err) == -EBADMSG);
	REQUIRE(strstr(err.msg, li.config));
	/* and a truncated one by its size */
	make_layout(layout, "1", 3, false, &li);
	PATHF(p, "%s/blobs/sha256/%s", layout, li.layer + 7);
	REQUIRE(truncate(p, 10) == 0);
	err = (struct bx_error){ 0 };
	REQUIRE(bx_image_import_layout(home, layout, "1", "corrupt:1", &img, &err) == -EBADMSG);
	REQUIRE(strstr(err.msg, "size"));
	PATHF(p, "%s/images/blobs/sha256", home);
	REQUIRE(count_entries(p) == 0);
}

static void test_concurrent_and_stale(void)
{
	char home[PATH_MAX], layout[PATH_MAX], p[PATH_MAX];
	struct layout_info li;
	struct bx_image img;
	pid_t pids[4];
	int i, status;

	PATHF(home, "%s/home-conc", tmp_root);
	PATHF(layout, "%s/layout-conc", tmp_root);
	make_layout(layout, "c", 4, false, &li);
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		REQUIRE(pids[i] >= 0);
		if (pids[i] == 0) {
			struct bx_error err = { 0 };
			struct bx_image child;
			int r = bx_image_import_layout(home, layout, "c", "conc:c", &child, &err);
			if (r)
				fprintf(stderr, "child: %s\n", err.msg);
			_exit(r ? 1 : 0);
		}
	}
	for (i = 0; i < 4; i++) {
		REQUIRE(waitpid(pids[i], &status, 0) == pids[i]);
		REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	PATHF(p, "%s/images/bases", home);
	REQUIRE(count_entries(p) == 2); /* the base and its lock file */
	PATHF(p, "%s/images/tmp", home);
	REQUIRE(count_entries(p) == 0);

	/* work dirs of a killed import (no lock held) are swept by the next one */
	PATHF(p, "%s/images/tmp/import.dead01", home);
	REQUIRE(mkdir(p, 0700) == 0);
	PATHF(p, "%s/images/tmp/import.dead01/base.ext4", home);
	write_all(p, "half", 4);
	import_ok(home, layout, "c", "conc:c", &img, NULL);
	PATHF(p, "%s/images/tmp", home);
	REQUIRE(count_entries(p) == 0);
	bx_image_free(&img);
}

/* Retags layout's image as tag with another config (same layer): a new
 * manifest whose layer chain is the same. */
static void retag_with_config(const char *layout, const struct layout_info *li, const char *tag,
			      struct layout_info *out)
{
	char p[PATH_MAX], json[2048], *layer;
	size_t layer_len;
	int n;

	*out = *li;
	PATHF(p, "%s/blobs/sha256/%s", layout, li->layer + 7);
	layer = read_all(p, &layer_len);
	free(layer);
	n = snprintf(json, sizeof(json),
		     "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Env\":[\"CHANGED=1\"]},"
		     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:%064d\"]}}",
		     BX_OCI_HOST_ARCH, 0);
	put_blob(layout, json, (size_t)n, out->config);
	n = snprintf(json, sizeof(json),
		     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" BX_MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%d},"
		     "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\","
		     "\"size\":%zu}]}",
		     out->config, n, li->layer, layer_len);
	put_blob(layout, json, (size_t)n, out->manifest);
	n = snprintf(json, sizeof(json),
		     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" BX_MT_OCI_MANIFEST
		     "\",\"digest\":\"%s\",\"size\":%d,\"annotations\":{\"org.opencontainers.image.ref.name\":\"%s\"}}]}",
		     out->manifest, (int)strlen(json), tag);
	PATHF(p, "%s/index.json", layout);
	write_all(p, json, (size_t)n);
}

/* A box directory whose disk.qcow2 names base as its backing file. */
static void fake_box(const char *home, const char *id, const char *base)
{
	char p[PATH_MAX], hdr[64 + PATH_MAX] = { 0 };
	uint64_t off = htobe64(64);
	uint32_t len = htobe32((uint32_t)strlen(base));

	PATHF(p, "%s/boxes/%s", home, id);
	REQUIRE(bx_mkdir_p(p, 0700, NULL) == 0);
	memcpy(hdr, "QFI\xfb\0\0\0\3", 8);
	memcpy(hdr + 8, &off, 8);
	memcpy(hdr + 16, &len, 4);
	memcpy(hdr + 64, base, strlen(base));
	PATHF(p, "%s/boxes/%s/disk.qcow2", home, id);
	write_all(p, hdr, 64 + strlen(base));
}

static void test_shared_base(void)
{
	char home[PATH_MAX], layout[PATH_MAX], p[PATH_MAX], base[PATH_MAX];
	struct layout_info li, li2;
	struct bx_image a, b;
	struct bx_rootfs_stats st;
	struct bx_error err = { 0 };
	struct stat st1, st2;

	PATHF(home, "%s/home-shared", tmp_root);
	PATHF(layout, "%s/layout-shared", tmp_root);
	make_layout(layout, "a", 6, false, &li);
	import_ok(home, layout, "a", "shared:a", &a, &st);
	REQUIRE(st.entries > 0);
	PATHF(base, "%s/images/bases/%s.ext4", home, li.chain + 7);
	REQUIRE(!strcmp(a.base_path, base) && stat(base, &st1) == 0);

	/* a config-only change: another manifest, the same layers, no second build */
	retag_with_config(layout, &li, "b", &li2);
	REQUIRE(strcmp(li2.manifest, li.manifest) && !strcmp(li2.chain, li.chain));
	import_ok(home, layout, "b", "shared:b", &b, &st);
	REQUIRE(st.entries == 0);
	REQUIRE(!strcmp(b.digest, li2.manifest) && strcmp(b.digest, a.digest));
	REQUIRE(!strcmp(b.base_path, a.base_path));
	REQUIRE(stat(base, &st2) == 0 && st1.st_ino == st2.st_ino);
	REQUIRE(b.env && !strcmp(b.env[0], "CHANGED=1") && !b.cmd);
	PATHF(p, "%s/images/bases", home);
	REQUIRE(count_entries(p) == 2); /* one base and its lock file */

	/* rmi of one keeps the base for the other */
	REQUIRE(bx_image_refs_remove(home, "shared:a", &err) == 0);
	REQUIRE(exists(base));
	PATHF(p, "%s/images/blobs/sha256/%s", home, li.layer + 7);
	REQUIRE(exists(p));
	PATHF(p, "%s/images/blobs/sha256/%s", home, li.config + 7);
	REQUIRE(!exists(p)); /* a's config is a's alone */
	bx_image_free(&a);
	REQUIRE(bx_image_lookup(home, "shared:b", &a, &err) == 0 && !strcmp(a.base_path, base));
	bx_image_free(&a);

	/* a box on the base: the last image using it cannot go */
	fake_box(home, "0123456789ab", base);
	err = (struct bx_error){ 0 };
	REQUIRE(bx_image_refs_remove(home, "shared:b", &err) == -EBUSY);
	REQUIRE(strstr(err.msg, "0123456789ab") && exists(base));
	/* ... but another name for the same layers can come and go */
	import_ok(home, layout, "b", "shared:c", &a, &st);
	REQUIRE(st.entries == 0);
	bx_image_free(&a);
	REQUIRE(bx_image_refs_remove(home, "shared:b", &err) == 0);
	REQUIRE(exists(base));
	PATHF(p, "%s/boxes/0123456789ab", home);
	REQUIRE(bx_rm_rf_at(AT_FDCWD, p, NULL) == 0);
	REQUIRE(bx_image_refs_remove(home, "shared:c", &err) == 0);
	REQUIRE(!exists(base));
	PATHF(p, "%s/images/blobs/sha256", home);
	REQUIRE(count_entries(p) == 0);
	PATHF(p, "%s/images/bases", home);
	REQUIRE(count_entries(p) == 0);

	/* a base an older home keyed by the manifest digest is adopted, not rebuilt */
	make_layout(layout, "a", 6, false, &li);
	import_ok(home, layout, "a", "shared:a", &a, &st);
	PATHF(p, "%s/images/bases/%s.ext4", home, li.manifest + 7);
	REQUIRE(rename(base, p) == 0);
	bx_image_free(&b);
	REQUIRE(bx_image_lookup(home, "shared:a", &b, &err) == 0 && !strcmp(b.base_path, base));
	REQUIRE(stat(base, &st2) == 0 && stat(p, &st1) == 0 && st1.st_ino == st2.st_ino);
	bx_image_free(&b);
	REQUIRE(bx_image_refs_remove(home, "shared:a", &err) == 0);
	REQUIRE(!exists(base) && !exists(p));
	bx_image_free(&a);
}

static void test_ref_escape(void)
{
	char out[NAME_MAX + 1], longref[300];

	REQUIRE(bx_image_ref_escape("localhost/busybox:latest", out, sizeof(out), NULL) == 0);
	REQUIRE(!strcmp(out, "localhost%2Fbusybox%3Alatest"));
	REQUIRE(bx_image_ref_escape("a@sha256:00", out, sizeof(out), NULL) == 0 && !strcmp(out, "a%40sha256%3A00"));
	REQUIRE(bx_image_ref_escape("..", out, sizeof(out), NULL) == 0 && !strcmp(out, "%2E."));
	REQUIRE(bx_image_ref_escape("100%", out, sizeof(out), NULL) == 0 && !strcmp(out, "100%25"));
	REQUIRE(bx_image_ref_escape("a b", out, sizeof(out), NULL) == -EINVAL);
	REQUIRE(bx_image_ref_escape("a\nb", out, sizeof(out), NULL) == -EINVAL);
	REQUIRE(bx_image_ref_escape("", out, sizeof(out), NULL) == -EINVAL);
	memset(longref, 'a', sizeof(longref) - 1);
	longref[sizeof(longref) - 1] = '\0';
	REQUIRE(bx_image_ref_escape(longref, out, sizeof(out), NULL) == -EINVAL);
	memset(longref, '/', 100);
	longref[100] = '\0';
	REQUIRE(bx_image_ref_escape(longref, out, sizeof(out), NULL) == -ENAMETOOLONG);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	PATHF(tmp_root, "%s/test_image_store.XXXXXX", t && *t ? t : "/tmp");
	REQUIRE(mkdtemp(tmp_root));
	test_ref_escape();
	test_import();
	test_index();
	test_corrupt();
	test_concurrent_and_stale();
	test_shared_base();
	REQUIRE(bx_rm_rf_at(AT_FDCWD, tmp_root, NULL) == 0);
	printf("test_image_store: ok\n");
	return 0;
}
