/* Shim configuration: JSON <-> struct bx_shim_config (see shim_config.h). */
#include "shim_config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "config_netvol.h"

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void bx_shim_config_free(struct bx_shim_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->box_id);
	free(cfg->box_dir);
	free(cfg->qemu);
	free(cfg->kernel);
	free(cfg->initramfs);
	free(cfg->root_disk);
	free(cfg->hostname);
	free(cfg->template_state);
	free(cfg->resume_state);
	free(cfg->template_ram);
	free(cfg->template_error);
	bx_shim_config_free_netvol(cfg);
	if (cfg->main_argv) {
		for (size_t i = 0; cfg->main_argv[i]; i++)
			wipe_free(cfg->main_argv[i]);
		free(cfg->main_argv);
	}
	free(cfg->main_cwd);
	free(cfg->main_user);
	if (cfg->env) {
		for (size_t i = 0; i < cfg->n_env; i++)
			wipe_free(cfg->env[i]);
		free(cfg->env);
	}
	memset(cfg, 0, sizeof(*cfg));
}

int bx_shim_config_read_fd(int fd, char **buf_out, size_t *len_out, struct bx_error *err)
{
	size_t cap = 16 * 1024, len = 0;
	char *buf = malloc(cap + 1);

	*buf_out = NULL;
	*len_out = 0;
	if (!buf)
		return bx_err(err, -ENOMEM, "reading config: out of memory");
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;
			if (cap > BX_SHIM_CONFIG_MAX) {
				explicit_bzero(buf, len);
				free(buf);
				return bx_err(err, -EFBIG, "config on stdin exceeds %d bytes",
					      BX_SHIM_CONFIG_MAX);
			}
			cap *= 2;
			if (cap > BX_SHIM_CONFIG_MAX)
				cap = BX_SHIM_CONFIG_MAX + 1; /* one more byte detects overflow */
			nb = malloc(cap + 1);
			if (!nb) {
				explicit_bzero(buf, len);
				free(buf);
				return bx_err(err, -ENOMEM, "reading config: out of memory");
			}
			/* Copy instead of realloc so no stale copy of secrets is left behind. */
			memcpy(nb, buf, len);
			explicit_bzero(buf, len);
			free(buf);
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			explicit_bzero(buf, len);
			free(buf);
			return bx_err_sys(err, -e, "reading config from stdin");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > BX_SHIM_CONFIG_MAX) {
		explicit_bzero(buf, len);
		free(buf);
		return bx_err(err, -EFBIG, "config on stdin exceeds %d bytes", BX_SHIM_CONFIG_MAX);
	}
	buf[len] = '\0';
	*buf_out = buf;
	*len_out = len;
	return 0;
}

/* ---- parsing: each getter names the key, never the value. */

static int get_member(json_t *root, const char *key, json_type type, const char *type_name,
		      json_t **out, struct bx_error *err)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		return bx_err(err, -EINVAL, "config: missing field \"%s\"", key);
	if (json_typeof(v) != type)
		return bx_err(err, -EINVAL, "config: field \"%s\" must be %s", key, type_name);
	*out = v;
	return 0;
}

static int get_str(json_t *root, const char *key, char **out, struct bx_error *err)
{
	json_t *v = NULL;
	int rc = get_member(root, key, JSON_STRING, "a string", &v, err);

	if (rc < 0)
		return rc;
	if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
		return bx_err(err, -EINVAL, "config: field \"%s\" must be a non-empty string without NUL", key);
	*out = strdup(json_string_value(v));
	if (!*out)
		return bx_err(err, -ENOMEM, "config: out of memory");
	return 0;
}

static int get_abs_path(json_t *root, const char *key, char **out, struct bx_error *err)
{
	int rc = get_str(root, key, out, err);

	if (rc < 0)
		return rc;
	if ((*out)[0] != '/')
		return bx_err(err, -EINVAL, "config: field \"%s\" must be an absolute path", key);
	return 0;
}

static int get_uint(json_t *root, const char *key, unsigned min, unsigned max, unsigned *out,
		    struct bx_error *err)
{
	json_t *v = NULL;
	json_int_t n;
	int rc = get_member(root, key, JSON_INTEGER, "an integer", &v, err);

	if (rc < 0)
		return rc;
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return bx_err(err, -EINVAL, "config: field \"%s\" out of range %u..%u", key, min, max);
	*out = (unsigned)n;
	return 0;
}

static int get_bool(json_t *root, const char *key, int *out, struct bx_error *err)
{
	json_t *v = json_object_get(root, key);

	if (!v)
		return bx_err(err, -EINVAL, "config: missing field \"%s\"", key);
	if (!json_is_boolean(v))
		return bx_err(err, -EINVAL, "config: field \"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int get_env(json_t *root, struct bx_shim_config *cfg, struct bx_error *err)
{
	json_t *arr = NULL, *item;
	size_t i;
	int rc = get_member(root, "env", JSON_ARRAY, "an array of strings", &arr, err);

	if (rc < 0)
		return rc;
	cfg->env = calloc(json_array_size(arr) + 1, sizeof(char *));
	if (!cfg->env)
		return bx_err(err, -ENOMEM, "config: out of memory");
	json_array_foreach(arr, i, item) {
		const char *s = json_string_value(item);

		if (!json_is_string(item))
			return bx_err(err, -EINVAL, "config: env[%zu] must be a string", i);
		if (strlen(s) != json_string_length(item) || !strchr(s, '=') || s[0] == '=')
			return bx_err(err, -EINVAL, "config: env[%zu] must look like KEY=VALUE", i);
		cfg->env[i] = strdup(s);
		if (!cfg->env[i])
			return bx_err(err, -ENOMEM, "config: out of memory");
		cfg->n_env = i + 1;
	}
	return 0;
}

static int valid_box_id(const char *id)
{
	size_t n = strlen(id);

	if (n > 64)
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_'))
			return 0;
	return 1;
}

static const char *const known_keys[] = {
	"version", "box_id", "box_dir", "detach", "qemu", "accel", "kernel", "initramfs", "cpus",
	"memory_mib", "root_disk", "network", "hostname", "env", "ready_timeout_ms", "main",
	"security", "ports", "volumes", "allow_net", "discard", "template_state", "resume_state",
	"template_ram", "template_error", "capabilities",
};

/* The optional "main" object (shim_config.h). */
static int get_main(json_t *root, struct bx_shim_config *cfg, struct bx_error *err)
{
	json_t *m = json_object_get(root, "main"), *argv, *item, *v;
	const char *key;
	size_t i;
	int rc;

	if (!m)
		return 0;
	if (!json_is_object(m))
		return bx_err(err, -EINVAL, "config: field \"main\" must be an object");
	json_object_foreach(m, key, v)
		if (strcmp(key, "argv") && strcmp(key, "cwd") && strcmp(key, "user") && strcmp(key, "hold") &&
		    strcmp(key, "close_stdin") && strcmp(key, "tty") && strcmp(key, "rows") && strcmp(key, "cols"))
			return bx_err(err, -EINVAL, "config: unknown field \"main.%.64s\"", key);
	if ((rc = get_member(m, "argv", JSON_ARRAY, "an array of strings", &argv, err)) < 0)
		return rc;
	if (json_array_size(argv) == 0)
		return bx_err(err, -EINVAL, "config: main.argv must not be empty");
	cfg->main_argv = calloc(json_array_size(argv) + 1, sizeof(char *));
	if (!cfg->main_argv)
		return bx_err(err, -ENOMEM, "config: out of memory");
	json_array_foreach(argv, i, item) {
		if (!json_is_string(item) || strlen(json_string_value(item)) != json_string_length(item))
			return bx_err(err, -EINVAL, "config: main.argv[%zu] must be a string without NUL", i);
		if (!(cfg->main_argv[i] = strdup(json_string_value(item))))
			return bx_err(err, -ENOMEM, "config: out of memory");
	}
	if (json_object_get(m, "cwd") && (rc = get_abs_path(m, "cwd", &cfg->main_cwd, err)) < 0)
		return rc;
	if (json_object_get(m, "user") && (rc = get_str(m, "user", &cfg->main_user, err)) < 0)
		return rc;
	if (json_object_get(m, "hold") && (rc = get_bool(m, "hold", &cfg->main_hold, err)) < 0)
		return rc;
	if (json_object_get(m, "close_stdin") &&
	    (rc = get_bool(m, "close_stdin", &cfg->main_close_stdin, err)) < 0)
		return rc;
	if (json_object_get(m, "tty") && (rc = get_bool(m, "tty", &cfg->main_tty, err)) < 0)
		return rc;
	if (json_object_get(m, "rows") && (rc = get_uint(m, "rows", 1, 65535, &cfg->main_rows, err)) < 0)
		return rc;
	if (json_object_get(m, "cols") && (rc = get_uint(m, "cols", 1, 65535, &cfg->main_cols, err)) < 0)
		return rc;
	return 0;
}

static int parse_root(json_t *root, struct bx_shim_config *cfg, struct bx_error *err)
{
	_cleanup_free_ char *accel = NULL, *network = NULL;
	const char *key;
	json_t *v = NULL;
	unsigned version;
	int rc;

	if (!json_is_object(root))
		return bx_err(err, -EINVAL, "config: top level must be an object");
	/* The version decides how everything else reads, so check it first. */
	rc = get_member(root, "version", JSON_INTEGER, "an integer", &v, err);
	if (rc < 0)
		return rc;
	if (json_integer_value(v) != BX_SHIM_CONFIG_VERSION)
		return bx_err(err, -EPROTONOSUPPORT,
			      "config: unsupported version %lld (this shim understands %d)",
			      (long long)json_integer_value(v), BX_SHIM_CONFIG_VERSION);
	version = BX_SHIM_CONFIG_VERSION;
	json_object_foreach(root, key, v) {
		size_t k;
		for (k = 0; k < sizeof(known_keys) / sizeof(known_keys[0]); k++)
			if (!strcmp(key, known_keys[k]))
				break;
		if (k == sizeof(known_keys) / sizeof(known_keys[0]))
			return bx_err(err, -EINVAL, "config: unknown field \"%.64s\"", key);
	}
	cfg->version = (int)version;

	if ((rc = get_str(root, "box_id", &cfg->box_id, err)) < 0 ||
	    (rc = get_abs_path(root, "box_dir", &cfg->box_dir, err)) < 0 ||
	    (rc = get_bool(root, "detach", &cfg->detach, err)) < 0 ||
	    (rc = get_abs_path(root, "qemu", &cfg->qemu, err)) < 0 ||
	    (rc = get_str(root, "accel", &accel, err)) < 0 ||
	    (rc = get_abs_path(root, "kernel", &cfg->kernel, err)) < 0 ||
	    (rc = get_abs_path(root, "initramfs", &cfg->initramfs, err)) < 0 ||
	    (rc = get_uint(root, "cpus", 1, 255, &cfg->cpus, err)) < 0 ||
	    (rc = get_uint(root, "memory_mib", 16, 1024 * 1024, &cfg->memory_mib, err)) < 0 ||
	    (rc = get_str(root, "root_disk", &cfg->root_disk, err)) < 0 ||
	    (rc = get_str(root, "network", &network, err)) < 0 ||
	    (rc = get_str(root, "hostname", &cfg->hostname, err)) < 0 ||
	    (rc = get_env(root, cfg, err)) < 0 ||
	    (rc = get_uint(root, "ready_timeout_ms", 1, 24u * 3600 * 1000, &cfg->ready_timeout_ms, err)) < 0 ||
	    (rc = get_main(root, cfg, err)) < 0 || (rc = bx_shim_config_parse_netvol(root, cfg, err)) < 0)
		return rc;
	if (json_object_get(root, "discard") && (rc = get_bool(root, "discard", &cfg->discard, err)) < 0)
		return rc;
	if (json_object_get(root, "template_state") &&
	    (rc = get_abs_path(root, "template_state", &cfg->template_state, err)) < 0)
		return rc;
	if (json_object_get(root, "resume_state") &&
	    (rc = get_abs_path(root, "resume_state", &cfg->resume_state, err)) < 0)
		return rc;
	if (json_object_get(root, "capabilities")) {
		json_t *c = json_object_get(root, "capabilities");

		if (!json_is_integer(c) || json_integer_value(c) < 0 ||
		    (json_integer_value(c) >> 41) != 0)
			return bx_err(err, -EINVAL, "config: \"capabilities\" must be a mask of capabilities 0..40");
		cfg->has_caps = 1;
		cfg->caps = (uint64_t)json_integer_value(c);
	}
	if (json_object_get(root, "template_ram") &&
	    (rc = get_abs_path(root, "template_ram", &cfg->template_ram, err)) < 0)
		return rc;
	if (json_object_get(root, "template_error") &&
	    (rc = get_str(root, "template_error", &cfg->template_error, err)) < 0)
		return rc;

	if (!valid_box_id(cfg->box_id))
		return bx_err(err, -EINVAL, "config: box_id must be 1..64 of [A-Za-z0-9_-]");
	if (!strcmp(accel, "tcg"))
		cfg->accel = BX_ACCEL_TCG;
	else if (!strcmp(accel, "kvm"))
		cfg->accel = BX_ACCEL_KVM;
	else
		return bx_err(err, -EINVAL, "config: field \"accel\" must be \"tcg\" or \"kvm\"");
	if (!strcmp(network, "user"))
		cfg->network = 1;
	else if (!strcmp(network, "none"))
		cfg->network = 0;
	else
		return bx_err(err, -EINVAL, "config: field \"network\" must be \"user\" or \"none\"");
	if (strlen(cfg->hostname) > 64)
		return bx_err(err, -EINVAL, "config: field \"hostname\" longer than 64 bytes");
	/* Optional: "jail" (the default) or "development" (no jail). */
	if (json_object_get(root, "security")) {
		_cleanup_free_ char *sec = NULL;
		if ((rc = get_str(root, "security", &sec, err)) < 0)
			return rc;
		if (!strcmp(sec, "jail"))
			cfg->security = BX_SECURITY_JAIL;
		else if (!strcmp(sec, "development"))
			cfg->security = BX_SECURITY_DEVELOPMENT;
		else
			return bx_err(err, -EINVAL, "config: field \"security\" must be \"jail\" or \"development\"");
	}
	return 0;
}

int bx_shim_config_parse(const char *json, size_t len, struct bx_shim_config *cfg, struct bx_error *err)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (len > BX_SHIM_CONFIG_MAX)
		return bx_err(err, -EFBIG, "config exceeds %d bytes", BX_SHIM_CONFIG_MAX);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		/* jerr.text can quote the offending token: report its place only. */
		return bx_err(err, -EINVAL, "config: invalid JSON at line %d column %d", jerr.line,
			      jerr.column);
	rc = parse_root(root, cfg, err);
	json_decref(root);
	if (rc < 0)
		bx_shim_config_free(cfg);
	return rc;
}

/* ---- serializing */

int bx_shim_config_to_json(const struct bx_shim_config *cfg, char **json_out, struct bx_error *err)
{
	json_t *root, *env;
	int bad = 0;

	*json_out = NULL;
	if (!cfg->box_id || !cfg->box_dir || !cfg->qemu || !cfg->kernel || !cfg->initramfs ||
	    !cfg->root_disk || !cfg->hostname)
		return bx_err(err, -EINVAL, "shim config: a required field is NULL");
	root = json_object();
	env = json_array();
	if (!root || !env) {
		json_decref(root);
		json_decref(env);
		return bx_err(err, -ENOMEM, "shim config: out of memory");
	}
	for (size_t i = 0; cfg->env && i < cfg->n_env && cfg->env[i]; i++)
		bad |= json_array_append_new(env, json_string(cfg->env[i]));
	bad |= json_object_set_new(root, "version", json_integer(BX_SHIM_CONFIG_VERSION));
	bad |= json_object_set_new(root, "box_id", json_string(cfg->box_id));
	bad |= json_object_set_new(root, "box_dir", json_string(cfg->box_dir));
	bad |= json_object_set_new(root, "detach", json_boolean(cfg->detach));
	bad |= json_object_set_new(root, "qemu", json_string(cfg->qemu));
	bad |= json_object_set_new(root, "accel", json_string(bx_accel_name(cfg->accel)));
	bad |= json_object_set_new(root, "kernel", json_string(cfg->kernel));
	bad |= json_object_set_new(root, "initramfs", json_string(cfg->initramfs));
	bad |= json_object_set_new(root, "cpus", json_integer(cfg->cpus));
	bad |= json_object_set_new(root, "memory_mib", json_integer(cfg->memory_mib));
	bad |= json_object_set_new(root, "root_disk", json_string(cfg->root_disk));
	bad |= json_object_set_new(root, "network", json_string(cfg->network ? "user" : "none"));
	bad |= json_object_set_new(root, "hostname", json_string(cfg->hostname));
	bad |= json_object_set_new(root, "env", env);
	bad |= json_object_set_new(root, "ready_timeout_ms", json_integer(cfg->ready_timeout_ms));
	if (cfg->security == BX_SECURITY_DEVELOPMENT)
		bad |= json_object_set_new(root, "security", json_string("development"));
	if (cfg->discard)
		bad |= json_object_set_new(root, "discard", json_true());
	if (cfg->template_state)
		bad |= json_object_set_new(root, "template_state", json_string(cfg->template_state));
	if (cfg->resume_state)
		bad |= json_object_set_new(root, "resume_state", json_string(cfg->resume_state));
	if (cfg->template_ram)
		bad |= json_object_set_new(root, "template_ram", json_string(cfg->template_ram));
	if (cfg->has_caps)
		bad |= json_object_set_new(root, "capabilities", json_integer((json_int_t)cfg->caps));
	if (cfg->template_error)
		bad |= json_object_set_new(root, "template_error", json_string(cfg->template_error));
	bad |= bx_shim_config_netvol_json(cfg, root);
	if (cfg->main_argv && cfg->main_argv[0]) {
		json_t *m = json_object(), *argv = json_array();
		bad |= !m || !argv;
		for (size_t i = 0; argv && cfg->main_argv[i]; i++)
			bad |= json_array_append_new(argv, json_string(cfg->main_argv[i]));
		bad |= json_object_set_new(m, "argv", argv);
		if (cfg->main_cwd)
			bad |= json_object_set_new(m, "cwd", json_string(cfg->main_cwd));
		if (cfg->main_user)
			bad |= json_object_set_new(m, "user", json_string(cfg->main_user));
		if (cfg->main_hold)
			bad |= json_object_set_new(m, "hold", json_true());
		if (cfg->main_close_stdin)
			bad |= json_object_set_new(m, "close_stdin", json_true());
		if (cfg->main_tty)
			bad |= json_object_set_new(m, "tty", json_true());
		if (cfg->main_rows)
			bad |= json_object_set_new(m, "rows", json_integer(cfg->main_rows));
		if (cfg->main_cols)
			bad |= json_object_set_new(m, "cols", json_integer(cfg->main_cols));
		bad |= json_object_set_new(root, "main", m);
	}
	if (!bad)
		*json_out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!*json_out)
		return bx_err(err, -EINVAL, "shim config: cannot serialize (a string is not valid UTF-8?)");
	return 0;
}
