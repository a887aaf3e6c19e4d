/* Image reference normalization, WWW-Authenticate parsing, platform
 * selection and credential files (src/lib/image/{reference,www_auth,pull,registry_config}.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pull.h"
#include "reference.h"
#include "registry_config.h"
#include "test.h"
#include "www_auth.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void norm(const char *in, const char *want)
{
	struct bx_error err = { 0 };
	struct bx_image_ref r;
	char out[BX_REF_STRING_MAX] = "";
	int rc = bx_image_ref_parse(in, NULL, &r, &err);

	if (rc == 0)
		bx_image_ref_format(&r, out, sizeof(out));
	if (rc != 0 || strcmp(out, want)) {
		fprintf(stderr, "parse('%s') = %d '%s' (%s), want '%s'\n", in, rc, out, err.msg, want);
		CHECK(0);
	}
}

static void bad(const char *in, const char *why)
{
	struct bx_error err = { 0 };
	struct bx_image_ref r;
	int rc = bx_image_ref_parse(in, NULL, &r, &err);

	if (rc != -EINVAL || !strstr(err.msg, why)) {
		fprintf(stderr, "parse('%s') = %d (%s), want -EINVAL mentioning '%s'\n", in, rc, err.msg, why);
		CHECK(0);
	}
}

static void test_references(void)
{
	struct bx_image_ref r;

	norm("alpine", "docker.io/library/alpine:latest");
	norm("alpine:3.19", "docker.io/library/alpine:3.19");
	norm("user/app", "docker.io/user/app:latest");
	norm("docker.io/alpine", "docker.io/library/alpine:latest");
	norm("index.docker.io/library/alpine:1", "docker.io/library/alpine:1");
	norm("library/python:3.12-slim", "docker.io/library/python:3.12-slim");
	norm("127.0.0.1:5000/test/busybox:1", "127.0.0.1:5000/test/busybox:1");
	norm("localhost/busybox", "localhost/busybox:latest");
	norm("localhost:5000/a/b/c", "localhost:5000/a/b/c:latest");
	norm("ghcr.io/o/n@sha256:" D64, "ghcr.io/o/n@sha256:" D64);
	norm("ghcr.io/o/n:v1@sha256:" D64, "ghcr.io/o/n:v1@sha256:" D64);
	norm("quay.io/a__b/c-d.e_f", "quay.io/a__b/c-d.e_f:latest");
	norm("[::1]:5000/x", "[::1]:5000/x:latest");
	norm("Registry.Example.com/x", "Registry.Example.com/x:latest");

	bad("", "empty");
	bad("Alpine", "lowercase");
	bad("docker.io/Library/alpine", "lowercase");
	bad("alpine:", "tag");
	bad("alpine:-x", "tag");
	bad("a//b", "empty path component");
	bad("a/b/", "empty path component");
	bad("-a", "start and end");
	bad("a-/b", "must not end");
	bad("alpine@sha256:abc", "64 lowercase hex");
	bad("alpine@md5:" D64, "only sha256");
	bad("host:99999/x", "port");
	bad("host:/x", "port");
	bad("a b", "space");
	bad("-x.com/a", "host name");

	CHECK(bx_image_ref_parse("busybox:1", "127.0.0.1:5000", &r, NULL) == 0);
	CHECK(!strcmp(r.domain, "127.0.0.1:5000") && !strcmp(r.path, "busybox") && !r.qualified);
	CHECK(bx_image_ref_parse("quay.io/x", NULL, &r, NULL) == 0 && r.qualified);

	CHECK(bx_image_ref_domain_is_loopback("localhost"));
	CHECK(bx_image_ref_domain_is_loopback("localhost:5000"));
	CHECK(bx_image_ref_domain_is_loopback("127.0.0.1:34567"));
	CHECK(bx_image_ref_domain_is_loopback("127.9.8.7"));
	CHECK(bx_image_ref_domain_is_loopback("[::1]:5000"));
	CHECK(!bx_image_ref_domain_is_loopback("128.0.0.1"));
	CHECK(!bx_image_ref_domain_is_loopback("127.0.0.1.evil.com"));
	CHECK(!bx_image_ref_domain_is_loopback("localhost.evil.com"));
	CHECK(!bx_image_ref_domain_is_loopback("docker.io"));
}

static void test_www_auth(void)
{
	struct bx_auth_challenge c;
	const char *h;

	h = "Bearer realm=\"http://127.0.0.1:5080/cgi-bin/token\",service=\"test-registry\",scope=\"repository:test/busybox:pull\"";
	CHECK(bx_www_auth_parse(h, strlen(h), &c, NULL) == 0);
	CHECK(c.scheme == BX_AUTH_BEARER);
	CHECK(!strcmp(c.realm, "http://127.0.0.1:5080/cgi-bin/token"));
	CHECK(!strcmp(c.service, "test-registry"));
	CHECK(!strcmp(c.scope, "repository:test/busybox:pull"));

	h = "Basic realm=\"test-realm\"";
	CHECK(bx_www_auth_parse(h, strlen(h), &c, NULL) == 0 && c.scheme == BX_AUTH_BASIC &&
	      !strcmp(c.realm, "test-realm"));

	h = "bearer realm=\"r\", error=\"insufficient_scope\", scope=\"repository:a:pull,push\"";
	CHECK(bx_www_auth_parse(h, strlen(h), &c, NULL) == 0 && c.scheme == BX_AUTH_BEARER &&
	      !strcmp(c.error, "insufficient_scope") && !strcmp(c.scope, "repository:a:pull,push"));

	/* Unknown schemes are skipped; a later known one wins. */
	h = "Negotiate abc==, Basic realm=\"x\"";
	CHECK(bx_www_auth_parse(h, strlen(h), &c, NULL) == 0 && c.scheme == BX_AUTH_BASIC);
	h = "Digest realm=\"x\", nonce=\"y\"";
	CHECK(bx_www_auth_parse(h, strlen(h), &c, NULL) == -ENOTSUP);
	h = "Bearer realm=\"unterminated";
	CHECK(bx_www_auth_parse(h, strlen(h), &c, NULL) == -EINVAL);
	h = "Bearer realm=\"a\\\"b\"";
	CHECK(bx_www_auth_parse(h, strlen(h), &c, NULL) == 0 && !strcmp(c.realm, "a\"b"));
	h = "Bearer realm=tok";
	CHECK(bx_www_auth_parse(h, strlen(h), &c, NULL) == 0 && !strcmp(c.realm, "tok"));
	CHECK(bx_www_auth_parse("", 0, &c, NULL) == -ENOTSUP);
	/* Not NUL-terminated: only len bytes count. */
	CHECK(bx_www_auth_parse("Basic realm=\"ab\"XYZ", 16, &c, NULL) == 0 && !strcmp(c.realm, "ab"));
}

static void test_platforms(void)
{
	static const char idx[] =
		"{\"schemaVersion\":2,\"manifests\":["
		"{\"digest\":\"sha256:" D64 "\",\"size\":10,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
		"{\"digest\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\",\"size\":11,"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
		"{\"digest\":\"sha256:2222222222222222222222222222222222222222222222222222222222222222\",\"size\":12,"
		"\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";
	struct bx_oci_descriptor d;
	struct bx_error err = { 0 };
	char os[32], arch[32], var[32];

	CHECK(bx_index_select_platform(idx, strlen(idx), "linux", "amd64", "", &d, NULL) == 0 && d.size == 11);
	CHECK(bx_index_select_platform(idx, strlen(idx), "linux", "arm64", "", &d, NULL) == 0 && d.size == 10);
	CHECK(bx_index_select_platform(idx, strlen(idx), "linux", "arm64", "v8", &d, NULL) == 0 && d.size == 10);
	CHECK(bx_index_select_platform(idx, strlen(idx), "linux", "arm", "v7", &d, &err) == -ENOENT);
	CHECK(strstr(err.msg, "linux/arm64/v8, linux/amd64") != NULL);
	CHECK(bx_index_select_platform("[]", 2, "linux", "amd64", "", &d, NULL) == -EINVAL);

	CHECK(bx_platform_parse("linux/arm64/v8", os, arch, var, NULL) == 0 && !strcmp(os, "linux") &&
	      !strcmp(arch, "arm64") && !strcmp(var, "v8"));
	CHECK(bx_platform_parse("linux/amd64", os, arch, var, NULL) == 0 && !var[0]);
	CHECK(bx_platform_parse("linux", os, arch, var, NULL) == -EINVAL);
	CHECK(bx_platform_parse("linux//", os, arch, var, NULL) == -EINVAL);
	CHECK(bx_platform_parse("a/b/c/d", os, arch, var, NULL) == -EINVAL);
}

static void test_creds(void)
{
	char home[] = "/tmp/boxlite-unit-creds.XXXXXX", path[256];
	char *u = NULL, *p = NULL;
	struct stat st;
	struct bx_registry_conf conf;

	CHECK(mkdtemp(home) != NULL);
	setenv("DOCKER_CONFIG", home, 1); /* no docker config.json there */
	CHECK(bx_registry_creds_find(home, "127.0.0.1:5000", &u, &p, NULL) == 0);
	CHECK(bx_registry_creds_store(home, "127.0.0.1:5000", "alice", "s3:cret", NULL) == 0);
	snprintf(path, sizeof(path), "%s/auth.json", home);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(bx_registry_creds_find(home, "127.0.0.1:5000", &u, &p, NULL) == 1);
	CHECK(u && p && !strcmp(u, "alice") && !strcmp(p, "s3:cret"));
	free(u);
	free(p);
	CHECK(bx_registry_creds_store(home, "127.0.0.1:5000", NULL, NULL, NULL) == 0);
	CHECK(bx_registry_creds_find(home, "127.0.0.1:5000", &u, &p, NULL) == 0);
	CHECK(bx_registry_creds_store(home, "127.0.0.1:5000", NULL, NULL, NULL) == -ENOENT);

	/* docker's config.json, "https://" keys, username/password form */
	snprintf(path, sizeof(path), "%s/config.json", home);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "{\"auths\":{\"https://reg.example\":{\"auth\":\"Ym9iOnB3\"},\"other\":{\"username\":\"u\",\"password\":\"v\"}}}");
	fclose(f);
	CHECK(bx_registry_creds_find(home, "reg.example", &u, &p, NULL) == 1 && !strcmp(u, "bob") && !strcmp(p, "pw"));
	free(u);
	free(p);
	CHECK(bx_registry_creds_find(home, "other", &u, &p, NULL) == 1 && !strcmp(u, "u") && !strcmp(p, "v"));
	free(u);
	free(p);

	CHECK(bx_registry_conf_load(home, NULL, &conf, NULL) == 0);
	CHECK(!strcmp(conf.search[0], "docker.io") && conf.insecure[0] == NULL);
	CHECK(bx_registry_conf_plain_http(&conf, "127.0.0.1:5000") && !bx_registry_conf_plain_http(&conf, "reg.example"));
	bx_registry_conf_free(&conf);
	snprintf(path, sizeof(path), "%s/registries.json", home);
	f = fopen(path, "w");
	fprintf(f, "{\"insecure\":[\"reg.lan:5000\"],\"search\":[\"reg.lan:5000\",\"docker.io\"]}");
	fclose(f);
	CHECK(bx_registry_conf_load(home, NULL, &conf, NULL) == 0);
	CHECK(!strcmp(conf.search[0], "reg.lan:5000") && bx_registry_conf_plain_http(&conf, "reg.lan:5000"));
	bx_registry_conf_free(&conf);
	f = fopen(path, "w");
	fprintf(f, "{not json");
	fclose(f);
	CHECK(bx_registry_conf_load(home, NULL, &conf, NULL) == -EINVAL);
	f = fopen(path, "w");
	fprintf(f, "{\"insecure\":[\"reg.lan:5000\"],\"search\":[\"reg.lan:5000\"]}");
	fclose(f);

	/* The runtime's registries: their search hosts replace the file's,
	 * in order; transport http and skip_verify per host; the file's
	 * insecure list still holds. */
	{
		struct bx_error e = { 0 };
		struct bx_registries regs = { 0 };
		boxlite_image_registry r[] = {
			{ sizeof(r[0]), "ghcr.io", NULL, 0, 1, "u", "p", NULL },
			{ sizeof(r[0]), "registry.local:5000", "http", 0, 1, NULL, NULL, NULL },
			{ sizeof(r[0]), "private.example", "https", 1, 0, NULL, NULL, "tok" },
		};
		boxlite_image_registry bad[] = {
			{ sizeof(r[0]), "https://ghcr.io", NULL, 0, 1, NULL, NULL, NULL },
			{ sizeof(r[0]), "h", "ftp", 0, 1, NULL, NULL, NULL },
			{ sizeof(r[0]), "h", NULL, 0, 1, "user-without-password", NULL, NULL },
			{ sizeof(r[0]), "h", NULL, 0, 1, "u", "p", "and-a-token" },
			{ sizeof(r[0]), "", NULL, 0, 1, NULL, NULL, NULL },
		};

		CHECK(bx_registries_set(&regs, r, 3, &e) == 0 && regs.n == 3);
		CHECK(bx_registry_conf_load(home, &regs, &conf, NULL) == 0);
		CHECK(!strcmp(conf.search[0], "ghcr.io") && !strcmp(conf.search[1], "registry.local:5000") &&
		      conf.search[2] == NULL);
		CHECK(bx_registry_conf_plain_http(&conf, "registry.local:5000") &&
		      bx_registry_conf_plain_http(&conf, "reg.lan:5000") && !bx_registry_conf_plain_http(&conf, "ghcr.io"));
		CHECK(bx_registry_conf_skip_verify(&conf, "PRIVATE.example") && !bx_registry_conf_skip_verify(&conf, "ghcr.io"));
		bx_registry_conf_free(&conf);
		CHECK(bx_registries_find(&regs, "ghcr.io")->user && !strcmp(bx_registries_find(&regs, "ghcr.io")->pass, "p"));
		CHECK(!strcmp(bx_registries_find(&regs, "private.example")->token, "tok"));
		CHECK(bx_registries_find(&regs, "docker.io") == NULL);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			bx_err_clear(&e);
			CHECK(bx_registries_set(&regs, &bad[i], 1, &e) == -EINVAL && e.msg[0]);
		}
		CHECK(regs.n == 3); /* a refused list leaves the old one */
		/* Search on none of them: the file's list stays. */
		r[0].search = r[1].search = 0;
		CHECK(bx_registries_set(&regs, r, 2, &e) == 0);
		CHECK(bx_registry_conf_load(home, &regs, &conf, NULL) == 0 && !strcmp(conf.search[0], "reg.lan:5000"));
		bx_registry_conf_free(&conf);
		bx_registries_free(&regs);
	}

	snprintf(path, sizeof(path), "rm -rf '%s'", home);
	CHECK(system(path) == 0);
}

int main(void)
{
	test_references();
	test_www_auth();
	test_platforms();
	test_creds();
	TEST_MAIN_END();
}
