/* Unit tests for the shim config: parse, reject, bound, serialize. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "shim_config.h"

#define SECRET "SENTINEL_SECRET_d41d8cd9"

static const char good[] =
	"{\"version\":1,\"box_id\":\"0123456789ab\",\"box_dir\":\"/abs/home/boxes/0123456789ab\","
	"\"detach\":false,\"qemu\":\"/usr/bin/qemu-system-x86_64\",\"accel\":\"tcg\","
	"\"kernel\":\"/abs/share/boxlite/vmlinux\",\"initramfs\":\"/abs/share/boxlite/initramfs.cpio.gz\","
	"\"cpus\":1,\"memory_mib\":512,\"root_disk\":\"disk.qcow2\",\"network\":\"user\","
	"\"hostname\":\"0123456789ab\",\"env\":[\"PATH=/usr/bin:/bin\",\"SECRET=" SECRET "\"],"
	"\"ready_timeout_ms\":30000}";

static const char *const keys[] = {
	"version", "box_id", "box_dir", "detach", "qemu", "accel", "kernel", "initramfs", "cpus",
	"memory_mib", "root_disk", "network", "hostname", "env", "ready_timeout_ms",
};

/* good with the member "key":<value> replaced (value NULL: removed). */
static char *with_field(const char *key, const char *value)
{
	char pat[64], *out = malloc(sizeof(good) + 256);
	const char *start, *end;
	int depth = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	start = strstr(good, pat);
	end = start + strlen(pat);
	for (; *end; end++) { /* end of the value */
		if (*end == '[' || *end == '{')
			depth++;
		else if (*end == ']' || *end == '}') {
			if (depth-- == 0)
				break;
		} else if (*end == ',' && depth == 0)
			break;
		else if (*end == '"') {
			for (end++; *end != '"'; end++)
				;
		}
	}
	if (value) {
		sprintf(out, "%.*s\"%s\":%s%s", (int)(start - good), good, key, value, end);
	} else {
		if (*end == ',')
			end++;
		else if (start[-1] == ',')
			start--;
		sprintf(out, "%.*s%s", (int)(start - good), good, end);
	}
	return out;
}

static int parse(const char *json, struct bx_shim_config *cfg, struct bx_error *err)
{
	bx_err_clear(err);
	return bx_shim_config_parse(json, strlen(json), cfg, err);
}

static void test_good(void)
{
	struct bx_shim_config cfg;
	struct bx_error err = { 0 };

	CHECK(parse(good, &cfg, &err) == 0);
	CHECK(cfg.version == 1);
	CHECK(!strcmp(cfg.box_id, "0123456789ab"));
	CHECK(!strcmp(cfg.box_dir, "/abs/home/boxes/0123456789ab"));
	CHECK(cfg.detach == 0);
	CHECK(cfg.accel == BX_ACCEL_TCG);
	CHECK(cfg.cpus == 1 && cfg.memory_mib == 512);
	CHECK(!strcmp(cfg.root_disk, "disk.qcow2"));
	CHECK(cfg.network == 1);
	CHECK(cfg.n_env == 2 && !strcmp(cfg.env[1], "SECRET=" SECRET) && cfg.env[2] == NULL);
	CHECK(cfg.ready_timeout_ms == 30000);
	bx_shim_config_free(&cfg);
	bx_shim_config_free(&cfg); /* idempotent */
}

static void test_missing(void)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct bx_shim_config cfg;
		struct bx_error err = { 0 };
		char *j = with_field(keys[i], NULL);
		char want[64];

		snprintf(want, sizeof(want), "\"%s\"", keys[i]);
		CHECK_MSG(parse(j, &cfg, &err) < 0, "missing %s accepted", keys[i]);
		CHECK_MSG(strstr(err.msg, want) != NULL, "message for missing %s: %s", keys[i], err.msg);
		CHECK(cfg.box_id == NULL); /* left empty */
		free(j);
	}
}

static void test_wrong_types(void)
{
	static const struct { const char *key, *value; } cases[] = {
		{ "cpus", "\"1\"" }, { "cpus", "0" }, { "cpus", "1.5" }, { "memory_mib", "-1" },
		{ "detach", "\"no\"" }, { "detach", "0" }, { "env", "\"PATH=/bin\"" },
		{ "env", "[1]" }, { "env", "[\"NOEQUALS\"]" }, { "box_dir", "\"relative/dir\"" },
		{ "kernel", "\"vmlinux\"" }, { "accel", "\"hvf\"" }, { "network", "\"bridge\"" },
		{ "box_id", "\"../etc\"" }, { "box_id", "\"\"" }, { "hostname", "null" },
		{ "ready_timeout_ms", "0" }, { "root_disk", "{}" }, { "version", "\"1\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bx_shim_config cfg;
		struct bx_error err = { 0 };
		char *j = with_field(cases[i].key, cases[i].value);

		CHECK_MSG(parse(j, &cfg, &err) == -EINVAL, "%s=%s accepted (%s)", cases[i].key,
			  cases[i].value, err.msg);
		CHECK_MSG(strstr(err.msg, cases[i].key) != NULL, "message names %s: %s", cases[i].key,
			  err.msg);
		CHECK(strstr(err.msg, SECRET) == NULL);
		free(j);
	}
}

static void test_version_and_unknown(void)
{
	struct bx_shim_config cfg;
	struct bx_error err = { 0 };
	char *j = with_field("version", "2");

	CHECK(parse(j, &cfg, &err) == -EPROTONOSUPPORT);
	CHECK(strstr(err.msg, "version 2") != NULL);
	free(j);

	j = with_field("hostname", "\"h\",\"hostnmae\":\"typo\"");
	CHECK(parse(j, &cfg, &err) == -EINVAL);
	CHECK(strstr(err.msg, "unknown field \"hostnmae\"") != NULL);
	free(j);

	CHECK(parse("[1,2]", &cfg, &err) == -EINVAL);
	CHECK(strstr(err.msg, "object") != NULL);
	/* Duplicate keys could smuggle a second value past a reviewer. */
	j = with_field("cpus", "1,\"cpus\":2");
	CHECK(parse(j, &cfg, &err) == -EINVAL);
	free(j);
}

static void test_invalid_json_hides_content(void)
{
	struct bx_shim_config cfg;
	struct bx_error err = { 0 };

	CHECK(parse("{\"env\":[\"K=" SECRET "\"] " SECRET "}", &cfg, &err) == -EINVAL);
	CHECK(strstr(err.msg, "invalid JSON at line 1") != NULL);
	CHECK_MSG(strstr(err.msg, SECRET) == NULL, "secret in message: %s", err.msg);
	CHECK(parse("{\"a\":\"" SECRET, &cfg, &err) == -EINVAL);
	CHECK(strstr(err.msg, SECRET) == NULL);
}

static int fd_with(size_t n)
{
	int fd = memfd_create("cfg", MFD_CLOEXEC);
	char *buf = malloc(n);

	memset(buf, ' ', n);
	if (n)
		buf[0] = '{', buf[n - 1] = '}';
	if (write(fd, buf, n) != (ssize_t)n)
		abort();
	lseek(fd, 0, SEEK_SET);
	free(buf);
	return fd;
}

static void test_size_bound(void)
{
	struct bx_error err = { 0 };
	char *buf;
	size_t len;
	int fd;

	fd = fd_with(BX_SHIM_CONFIG_MAX);
	CHECK(bx_shim_config_read_fd(fd, &buf, &len, &err) == 0);
	CHECK(len == BX_SHIM_CONFIG_MAX && buf[len] == '\0');
	free(buf);
	close(fd);

	fd = fd_with(BX_SHIM_CONFIG_MAX + 1);
	CHECK(bx_shim_config_read_fd(fd, &buf, &len, &err) == -EFBIG);
	CHECK(buf == NULL && strstr(err.msg, "exceeds") != NULL);
	close(fd);

	fd = fd_with(0);
	bx_err_clear(&err);
	CHECK(bx_shim_config_read_fd(fd, &buf, &len, &err) == 0 && len == 0);
	free(buf);
	close(fd);
}

static void test_round_trip(void)
{
	struct bx_shim_config a, b;
	struct bx_error err = { 0 };
	char *json = NULL;

	CHECK(parse(good, &a, &err) == 0);
	a.detach = 1;
	a.accel = BX_ACCEL_KVM;
	a.network = 0;
	CHECK(bx_shim_config_to_json(&a, &json, &err) == 0);
	CHECK(json && parse(json, &b, &err) == 0);
	CHECK(b.detach == 1 && b.accel == BX_ACCEL_KVM && b.network == 0);
	CHECK(!strcmp(a.box_dir, b.box_dir) && !strcmp(a.qemu, b.qemu) && !strcmp(a.kernel, b.kernel));
	CHECK(!strcmp(a.initramfs, b.initramfs) && !strcmp(a.hostname, b.hostname));
	CHECK(a.cpus == b.cpus && a.memory_mib == b.memory_mib && a.ready_timeout_ms == b.ready_timeout_ms);
	CHECK(b.n_env == 2 && !strcmp(b.env[1], a.env[1]));
	free(json);
	bx_shim_config_free(&b);

	a.env[1][0] = '\xff'; /* not UTF-8 */
	CHECK(bx_shim_config_to_json(&a, &json, &err) < 0 && json == NULL);
	bx_shim_config_free(&a);
}

/* "allow_net" (config_netvol.c): entries checked, kept, serialized. */
static void test_allow_net(void)
{
	struct bx_shim_config a, b;
	struct bx_error err = { 0 };
	char *json = with_field("ready_timeout_ms", "30000,\"allow_net\":[\"127.0.0.1\",\"*.pypi.org\",\"fd00::/8\"]");
	char *out = NULL;

	CHECK(parse(json, &a, &err) == 0);
	CHECK(a.n_allow_net == 3 && !strcmp(a.allow_net[1], "*.pypi.org"));
	CHECK(bx_shim_config_to_json(&a, &out, &err) == 0 && out && parse(out, &b, &err) == 0);
	CHECK(b.n_allow_net == 3 && !strcmp(b.allow_net[2], "fd00::/8"));
	bx_shim_config_free(&a);
	bx_shim_config_free(&b);
	free(out);
	free(json);
	json = with_field("ready_timeout_ms", "30000,\"allow_net\":[\"ok.com\",\"not ok\"]");
	CHECK(parse(json, &a, &err) == -EINVAL && strstr(err.msg, "allow_net[1]"));
	bx_shim_config_free(&a);
	free(json);
	json = with_field("ready_timeout_ms", "30000,\"allow_net\":\"1.2.3.4\"");
	CHECK(parse(json, &a, &err) == -EINVAL);
	bx_shim_config_free(&a);
	free(json);
}

/* "template_state" and "template_ram" (warm start): optional, absolute
 * paths, kept. */
static void test_template_state(void)
{
	struct bx_shim_config a, b;
	struct bx_error err = { 0 };
	char *json = with_field("ready_timeout_ms", "30000,\"template_state\":\"/h/templates/k/state\","
							 "\"template_ram\":\"/h/templates/k/ram\"");
	char *out = NULL;

	CHECK(parse(good, &a, &err) == 0 && a.template_state == NULL && a.template_ram == NULL);
	bx_shim_config_free(&a);
	CHECK(parse(json, &a, &err) == 0 && a.template_state && !strcmp(a.template_state, "/h/templates/k/state"));
	CHECK(bx_shim_config_to_json(&a, &out, &err) == 0 && out && parse(out, &b, &err) == 0);
	CHECK(b.template_state && !strcmp(b.template_state, a.template_state));
	CHECK(b.template_ram && !strcmp(b.template_ram, "/h/templates/k/ram"));
	bx_shim_config_free(&a);
	bx_shim_config_free(&b);
	free(out);
	free(json);
	json = with_field("ready_timeout_ms", "30000,\"template_state\":\"relative/state\"");
	CHECK(parse(json, &a, &err) == -EINVAL && strstr(err.msg, "template_state"));
	bx_shim_config_free(&a);
	free(json);
	json = with_field("ready_timeout_ms", "30000,\"template_ram\":\"ram\"");
	CHECK(parse(json, &a, &err) == -EINVAL && strstr(err.msg, "template_ram"));
	bx_shim_config_free(&a);
	free(json);
}

int main(void)
{
	test_template_state();
	test_allow_net();
	test_good();
	test_missing();
	test_wrong_types();
	test_version_and_unknown();
	test_invalid_json_hides_content();
	test_size_bound();
	test_round_trip();
	return check_summary("test_config");
}
