/* OCI JSON parsers and digests (src/lib/image/oci_layout.c): pure, no files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci_layout.h"

/* Stops the test at the first failure (later steps depend on earlier ones). */
#define REQUIRE(c)                                                                        \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #c); \
			exit(1);                                                          \
		}                                                                         \
	} while (0)

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static int parse_manifest(const char *json, struct bx_oci_manifest *m, struct bx_error *err)
{
	*err = (struct bx_error){ 0 };
	return bx_oci_manifest_parse(json, strlen(json), m, err);
}

static int parse_config(const char *json, struct bx_oci_config *c, struct bx_error *err)
{
	*err = (struct bx_error){ 0 };
	return bx_oci_config_parse(json, strlen(json), c, err);
}

static void test_digests(void)
{
	struct bx_error err = { 0 };
	char hex[BX_DIGEST_HEX_LEN + 1], d[BX_DIGEST_MAX];

	REQUIRE(bx_digest_parse(D1, hex, &err) == 0 && strlen(hex) == 64);
	REQUIRE(bx_digest_parse("sha512:" "11", NULL, NULL) == -ENOTSUP);
	REQUIRE(bx_digest_parse("sha256:ABCD111111111111111111111111111111111111111111111111111111111111", NULL, NULL) ==
	      -EINVAL);
	REQUIRE(bx_digest_parse("sha256:111", NULL, NULL) == -EINVAL);
	REQUIRE(bx_digest_parse("sha256", NULL, NULL) == -EINVAL);
	REQUIRE(bx_digest_parse(":11", NULL, NULL) == -EINVAL);
	REQUIRE(bx_digest_parse(NULL, NULL, NULL) == -EINVAL);
	bx_sha256_digest("", 0, d);
	REQUIRE(!strcmp(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

static void test_index(void)
{
	struct bx_oci_descriptor d;
	struct bx_error err = { 0 };
	const char *idx =
		"{\"schemaVersion\":2,\"manifests\":["
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D1 "\",\"size\":10,"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D2 "\",\"size\":20,"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"multi\"},"
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
		"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" D3 "\",\"size\":30,"
		"\"annotations\":{\"org.opencontainers.image.ref.name\":\"multi\"},"
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"" BX_OCI_HOST_ARCH "\"}}]}";
	const char *image_index =
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
		"{\"digest\":\"" D1 "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x\"}},"
		"{\"digest\":\"" D2 "\",\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":\"" BX_OCI_HOST_ARCH
		"\"}}]}";

	REQUIRE(bx_oci_index_find_tag(idx, strlen(idx), "latest", &d, &err) == 0);
	REQUIRE(!strcmp(d.digest, D1) && d.size == 10 && !strcmp(d.media_type, BX_MT_OCI_MANIFEST));
	REQUIRE(bx_oci_index_find_tag(idx, strlen(idx), "multi", &d, &err) == 0);
	REQUIRE(!strcmp(d.digest, D3) && d.size == 30);
	REQUIRE(bx_oci_index_find_tag(idx, strlen(idx), "nope", &d, &err) == -ENOENT);
	REQUIRE(strstr(err.msg, "nope"));
	REQUIRE(bx_oci_index_find_tag("[]", 2, "latest", &d, NULL) == -EINVAL);
	REQUIRE(bx_oci_index_find_tag("{\"schemaVersion\":2}", 19, "latest", &d, NULL) == -EINVAL);
	REQUIRE(bx_oci_index_find_tag("{\"schemaVersion\":2,", 19, "latest", &d, NULL) == -EINVAL);
	/* duplicate keys are refused */
	REQUIRE(bx_oci_index_find_tag("{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", 50, "x", &d, NULL) ==
	      -EINVAL);

	REQUIRE(bx_oci_index_find_platform(image_index, strlen(image_index), &d, NULL) == 0);
	REQUIRE(!strcmp(d.digest, D2) && d.size == 2);
	REQUIRE(bx_oci_kind_of(image_index, strlen(image_index)) == BX_OCI_KIND_INDEX);
	REQUIRE(bx_oci_kind_of(idx, strlen(idx)) == BX_OCI_KIND_INDEX);
	REQUIRE(bx_oci_kind_of("{\"config\":{}}", 13) == BX_OCI_KIND_MANIFEST);
	REQUIRE(bx_oci_kind_of("{}", 2) == BX_OCI_KIND_UNKNOWN);
	REQUIRE(bx_oci_kind_of("nope", 4) == BX_OCI_KIND_UNKNOWN);
	{
		const char *no_native = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1
					"\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"mips\"}}]}";
		REQUIRE(bx_oci_index_find_platform(no_native, strlen(no_native), &d, &err) == -ENOENT);
	}
}

static void test_manifest(void)
{
	struct bx_oci_manifest m;
	struct bx_error err;
	const char *ok =
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		"\"digest\":\"" D1 "\",\"size\":100},\"layers\":["
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D2 "\",\"size\":5},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D3 "\",\"size\":6},"
		"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" D2 "\",\"size\":7},"
		"{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" D3 "\",\"size\":8}]}";

	REQUIRE(parse_manifest(ok, &m, &err) == 0);
	REQUIRE(m.n_layers == 4 && !strcmp(m.config.digest, D1) && m.config.size == 100);
	REQUIRE(m.compression[0] == BX_LAYER_GZIP && m.compression[1] == BX_LAYER_ZSTD && m.compression[2] == BX_LAYER_TAR &&
	      m.compression[3] == BX_LAYER_GZIP);
	REQUIRE(m.layers[3].size == 8);
	bx_oci_manifest_free(&m);
	bx_oci_manifest_free(&m); /* idempotent */

	REQUIRE(parse_manifest("{\"schemaVersion\":1}", &m, &err) == -EINVAL);
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
			     "\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
			     &m, &err) == -EINVAL);
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}", &m,
			     &err) == -EINVAL);
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":\"1\"},\"layers\":[]}", &m,
			     &err) == -EINVAL);
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:00\",\"size\":1},\"layers\":[]}", &m,
			     &err) == -ENOTSUP);
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1}}", &m, &err) == -EINVAL);
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\","
			     "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
			     &m, &err) == -ENOTSUP);
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":["
			     "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+bzip2\",\"digest\":\"" D2
			     "\",\"size\":1}]}",
			     &m, &err) == -ENOTSUP);
	REQUIRE(strstr(err.msg, "tar+bzip2"));
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":["
			     "{\"digest\":\"" D2 "\",\"size\":1}]}",
			     &m, &err) == -ENOTSUP);
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[7]}", &m,
			     &err) == -EINVAL);
	/* no layers is a valid (empty) image */
	REQUIRE(parse_manifest("{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}", &m,
			     &err) == 0);
	REQUIRE(m.n_layers == 0);
	bx_oci_manifest_free(&m);
}

static void test_config(void)
{
	struct bx_oci_config c;
	struct bx_error err;

	REQUIRE(parse_config("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
			   "\"Env\":[\"PATH=/bin\",\"A=b c\"],\"Entrypoint\":[\"/init\",\"-x\"],\"Cmd\":null,"
			   "\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\"},"
			   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}",
			   &c, &err) == 0);
	REQUIRE(c.env && !strcmp(c.env[0], "PATH=/bin") && !strcmp(c.env[1], "A=b c") && !c.env[2]);
	REQUIRE(c.entrypoint && !strcmp(c.entrypoint[0], "/init") && !strcmp(c.entrypoint[1], "-x") && !c.entrypoint[2]);
	REQUIRE(c.cmd == NULL);
	REQUIRE(!strcmp(c.workdir, "/srv") && !strcmp(c.user, "1000:1000"));
	REQUIRE(!strcmp(c.architecture, "amd64") && !strcmp(c.os, "linux") && c.n_diff_ids == 2);
	bx_oci_config_free(&c);

	REQUIRE(parse_config("{}", &c, &err) == 0);
	REQUIRE(c.env && !c.env[0] && !c.cmd && !c.entrypoint && !c.workdir && !c.user);
	bx_oci_config_free(&c);
	REQUIRE(parse_config("{\"config\":{\"Cmd\":[]}}", &c, &err) == 0);
	REQUIRE(c.cmd && !c.cmd[0]);
	bx_oci_config_free(&c);

	REQUIRE(parse_config("{\"config\":{\"Env\":[\"A=1\",2]}}", &c, &err) == -EINVAL);
	REQUIRE(strstr(err.msg, "Env[1]"));
	REQUIRE(parse_config("{\"config\":{\"Cmd\":\"sh\"}}", &c, &err) == -EINVAL);
	REQUIRE(parse_config("{\"config\":{\"User\":5}}", &c, &err) == -EINVAL);
	REQUIRE(parse_config("{\"config\":[]}", &c, &err) == -EINVAL);
	REQUIRE(parse_config("{\"rootfs\":{\"diff_ids\":[\"nope\"]}}", &c, &err) == -EINVAL);
	REQUIRE(parse_config("{\"config\":{\"Env\":[\"A\\u0000B\"]}}", &c, &err) == -EINVAL); /* NUL in a string */
	REQUIRE(parse_config("[1]", &c, &err) == -EINVAL);
}

int main(void)
{
	test_digests();
	test_index();
	test_manifest();
	test_config();
	printf("test_image_oci: ok\n");
	return 0;
}
