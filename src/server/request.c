#include "request.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(int kind, char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(int kind, char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return kind;
}

/* The body as a JSON object; an empty body is {} (clients send none for
 * optional bodies). Duplicate keys are refused: which one would win is
 * exactly the kind of ambiguity a proxy and a server disagree on. */
static json_t *load_object(const char *body, size_t len, char *err, size_t n)
{
	json_error_t je;
	json_t *j;

	if (len == 0)
		return json_object();
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, n, "malformed JSON body: %s (line %d, column %d)", je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, n, "the body must be a JSON object");
		return NULL;
	}
	return j;
}

static int want_string(json_t *v, const char *key, const char **out, char *err, size_t n)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(SRV_BAD_REQUEST, err, n, "%s must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(SRV_BAD_REQUEST, err, n, "%s must not contain NUL", key);
	*out = json_string_value(v);
	return 0;
}

static int want_bool(json_t *v, const char *key, int *out, char *err, size_t n)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return fail(SRV_BAD_REQUEST, err, n, "%s must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

static int want_int(json_t *v, const char *key, int64_t min, int64_t max, int64_t *out, char *err, size_t n)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(SRV_BAD_REQUEST, err, n, "%s must be an integer in %lld..%lld", key, (long long)min,
			    (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int want_u32(json_t *v, const char *key, int64_t min, int64_t max, uint32_t *out, char *err, size_t n)
{
	int64_t x = -1;
	int rc = want_int(v, key, min, max, &x, err, n);
	if (rc == 0 && x >= 0)
		*out = (uint32_t)x;
	return rc;
}

static int check_string_items(json_t *v, const char *key, char *err, size_t n)
{
	size_t i;
	json_t *it;
	json_array_foreach(v, i, it) {
		if (!json_is_string(it) || strlen(json_string_value(it)) != json_string_length(it))
			return fail(SRV_BAD_REQUEST, err, n, "%s[%zu] must be a string", key, i);
	}
	return 0;
}

static int want_strings(json_t *v, const char *key, json_t **out, char *err, size_t n)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(SRV_BAD_REQUEST, err, n, "%s must be an array of strings", key);
	*out = v;
	return check_string_items(v, key, err, n);
}

/* env: {"K": "V"}; keys without '=' or NUL. */
static int want_env(json_t *v, const char *key, json_t **out, char *err, size_t n)
{
	const char *k;
	json_t *val;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(SRV_BAD_REQUEST, err, n, "%s must be an object of strings", key);
	json_object_foreach(v, k, val) {
		if (!*k || strchr(k, '='))
			return fail(SRV_BAD_REQUEST, err, n, "%s: bad variable name \"%.64s\"", key, k);
		if (!json_is_string(val) || strlen(json_string_value(val)) != json_string_length(val))
			return fail(SRV_BAD_REQUEST, err, n, "%s.%.64s must be a string", key, k);
	}
	*out = v;
	return 0;
}

/* {mode, allow_net} on its own level; mode is "enabled" or "disabled". */
static int parse_mode(json_t *v, const char *where, int allow, const char **mode, json_t **allow_net, char *err,
		      size_t n)
{
	const char *k;
	json_t *val;
	int rc;

	if (!json_is_object(v))
		return fail(SRV_BAD_REQUEST, err, n, "%s must be an object", where);
	json_object_foreach(v, k, val) {
		if (!strcmp(k, "mode"))
			rc = want_string(val, "mode", mode, err, n);
		else if (allow && !strcmp(k, "allow_net"))
			rc = want_strings(val, "allow_net", allow_net, err, n);
		else
			rc = fail(SRV_BAD_REQUEST, err, n, "%s: unknown field \"%.64s\"", where, k);
		if (rc)
			return rc;
	}
	if (*mode && strcmp(*mode, "enabled") && strcmp(*mode, "disabled"))
		return fail(SRV_BAD_REQUEST, err, n, "%s.mode must be \"enabled\" or \"disabled\"", where);
	return 0;
}

/* network: {mode, allow_net} (rest-api.md), or the 0.10 clients'
 * {outbound: {mode, allow_net}, inbound: {mode}}. Inbound traffic is only
 * ever what a box publishes, and boxes made over REST publish nothing, so
 * inbound is accepted either way. */
static int parse_network(json_t *v, struct srv_create_req *r, char *err, size_t n)
{
	const char *mode = NULL, *in_mode = NULL;
	json_t *out = json_object_get(v, "outbound"), *in = json_object_get(v, "inbound");
	int rc;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(SRV_BAD_REQUEST, err, n, "network must be an object {mode, allow_net}");
	if (out || in) {
		const char *k;
		json_t *val;
		json_object_foreach(v, k, val) {
			if (strcmp(k, "outbound") && strcmp(k, "inbound"))
				return fail(SRV_BAD_REQUEST, err, n, "network: unknown field \"%.64s\"", k);
		}
		if (out && !json_is_null(out) &&
		    (rc = parse_mode(out, "network.outbound", 1, &mode, &r->allow_net, err, n)))
			return rc;
		if (in && !json_is_null(in) && (rc = parse_mode(in, "network.inbound", 0, &in_mode, NULL, err, n)))
			return rc;
	} else if ((rc = parse_mode(v, "network", 1, &mode, &r->allow_net, err, n)))
		return rc;
	r->network = mode ? !strcmp(mode, "enabled") : 1;
	return 0;
}

static int parse_advanced(json_t *v, struct srv_create_req *r, char *err, size_t n)
{
	const char *k;
	json_t *val, *caps;
	int rc;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(SRV_BAD_REQUEST, err, n, "advanced must be an object");
	json_object_foreach(v, k, val) {
		if (!strcmp(k, "security"))
			return fail(SRV_UNSUPPORTED, err, n,
				    "advanced.security is set by the server's operator, not by clients");
		if (strcmp(k, "capabilities"))
			return fail(SRV_BAD_REQUEST, err, n, "advanced: unknown field \"%.64s\"", k);
	}
	caps = json_object_get(v, "capabilities");
	if (!caps || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return fail(SRV_BAD_REQUEST, err, n, "advanced.capabilities must be an object {add, drop}");
	json_object_foreach(caps, k, val) {
		if (!strcmp(k, "add"))
			rc = want_strings(val, "advanced.capabilities.add", &r->cap_add, err, n);
		else if (!strcmp(k, "drop"))
			rc = want_strings(val, "advanced.capabilities.drop", &r->cap_drop, err, n);
		else
			rc = fail(SRV_BAD_REQUEST, err, n, "advanced.capabilities: unknown field \"%.64s\"", k);
		if (rc)
			return rc;
	}
	return 0;
}

int srv_parse_create(const char *body, size_t len, struct srv_create_req *r, char *err, size_t n)
{
	const char *k;
	json_t *v;
	int64_t num;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->network = r->detach = r->auto_remove = r->tty = r->auto_resume = -1;
	r->auto_pause = r->auto_delete = -1;
	if (!(r->json = load_object(body, len, err, n)))
		return SRV_BAD_REQUEST;
	json_object_foreach(r->json, k, v) {
		if (!strcmp(k, "name"))
			rc = want_string(v, k, &r->name, err, n);
		else if (!strcmp(k, "image"))
			rc = want_string(v, k, &r->image, err, n);
		else if (!strcmp(k, "rootfs_path"))
			rc = want_string(v, k, &r->rootfs_path, err, n);
		else if (!strcmp(k, "working_dir"))
			rc = want_string(v, k, &r->working_dir, err, n);
		else if (!strcmp(k, "user"))
			rc = want_string(v, k, &r->user, err, n);
		else if (!strcmp(k, "cpus"))
			rc = want_u32(v, k, 1, 64, &r->cpus, err, n);
		else if (!strcmp(k, "memory_mib"))
			rc = want_u32(v, k, 64, 65536, &r->memory_mib, err, n);
		else if (!strcmp(k, "disk_size_gb"))
			rc = want_u32(v, k, 1, 4096, &r->disk_size_gb, err, n);
		else if (!strcmp(k, "env"))
			rc = want_env(v, k, &r->env, err, n);
		else if (!strcmp(k, "entrypoint"))
			rc = want_strings(v, k, &r->entrypoint, err, n);
		else if (!strcmp(k, "cmd"))
			rc = want_strings(v, k, &r->cmd, err, n);
		else if (!strcmp(k, "network"))
			rc = parse_network(v, r, err, n);
		else if (!strcmp(k, "advanced"))
			rc = parse_advanced(v, r, err, n);
		else if (!strcmp(k, "detach"))
			rc = want_bool(v, k, &r->detach, err, n);
		else if (!strcmp(k, "auto_remove"))
			rc = want_bool(v, k, &r->auto_remove, err, n);
		else if (!strcmp(k, "tty"))
			rc = want_bool(v, k, &r->tty, err, n);
		else if (!strcmp(k, "auto_resume"))
			rc = want_bool(v, k, &r->auto_resume, err, n);
		else if (!strcmp(k, "auto_pause") || !strcmp(k, "auto_delete")) {
			num = -1;
			rc = want_int(v, k, 0, INT32_MAX, &num, err, n);
			*(k[5] == 'p' ? &r->auto_pause : &r->auto_delete) = num;
		} else if (!strcmp(k, "volumes"))
			rc = fail(SRV_UNSUPPORTED, err, n,
				  "volumes are not taken over REST: host paths are the server operator's");
		else if (!strcmp(k, "secrets"))
			rc = fail(SRV_UNSUPPORTED, err, n, "secrets are not supported by this server yet");
		else if (!strcmp(k, "security"))
			rc = fail(SRV_UNSUPPORTED, err, n, "security is set by the server's operator, not by clients");
		else if (!strcmp(k, "ports"))
			rc = fail(SRV_UNSUPPORTED, err, n, "ports are not published over REST; use a tunnel");
		else
			rc = fail(SRV_BAD_REQUEST, err, n, "unknown field \"%.64s\"", k);
		if (rc)
			break;
	}
	if (rc) {
		srv_req_free(r->json);
		r->json = NULL;
	}
	return rc;
}

int srv_parse_exec(const char *body, size_t len, struct srv_exec_req *r, char *err, size_t n)
{
	const char *k;
	json_t *v;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	if (!(r->json = load_object(body, len, err, n)))
		return SRV_BAD_REQUEST;
	json_object_foreach(r->json, k, v) {
		if (!strcmp(k, "command"))
			rc = want_string(v, k, &r->command, err, n);
		else if (!strcmp(k, "args"))
			rc = want_strings(v, k, &r->args, err, n);
		else if (!strcmp(k, "env"))
			rc = want_env(v, k, &r->env, err, n);
		else if (!strcmp(k, "working_dir"))
			rc = want_string(v, k, &r->working_dir, err, n);
		else if (!strcmp(k, "user"))
			rc = want_string(v, k, &r->user, err, n);
		else if (!strcmp(k, "tty"))
			rc = want_bool(v, k, &r->tty, err, n);
		else if (!strcmp(k, "stdin")) {
			/* Bytes, NUL included: JSON strings may carry \u0000. */
			if (!json_is_null(v) && !json_is_string(v))
				rc = fail(SRV_BAD_REQUEST, err, n, "stdin must be a string");
			else if (json_is_string(v)) {
				r->stdin_data = json_string_value(v);
				r->stdin_len = json_string_length(v);
			}
		} else if (!strcmp(k, "timeout_seconds")) {
			if (!json_is_null(v) && (!json_is_number(v) || !isfinite(json_number_value(v)) ||
						 json_number_value(v) < 0 || json_number_value(v) > 4294967.0))
				rc = fail(SRV_BAD_REQUEST, err, n, "timeout_seconds must be a number in 0..4294967");
			else if (json_is_number(v))
				r->timeout_seconds = json_number_value(v);
		} else
			rc = fail(SRV_BAD_REQUEST, err, n, "unknown field \"%.64s\"", k);
		if (rc)
			break;
	}
	if (!rc && (!r->command || !*r->command))
		rc = fail(SRV_BAD_REQUEST, err, n, "command is required");
	if (rc) {
		srv_req_free(r->json);
		r->json = NULL;
	}
	return rc;
}

int srv_signal_allowed(int sig)
{
	static const int ok[] = { 1, 2, 3, 6, 10, 12, 15, 28 };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (ok[i] == sig)
			return 1;
	return 0;
}

static int check_signal(json_t *v, int *sig, char *err, size_t n)
{
	if (!json_is_integer(v))
		return fail(SRV_BAD_REQUEST, err, n, "signal must be an integer");
	if (!srv_signal_allowed((int)json_integer_value(v)) || json_integer_value(v) != (int)json_integer_value(v))
		return fail(SRV_BAD_REQUEST, err, n,
			    "signal %lld is not allowed (1,2,3,6,10,12,15,28; to kill, DELETE the execution)",
			    (long long)json_integer_value(v));
	*sig = (int)json_integer_value(v);
	return 0;
}

static int check_size(json_t *j, uint16_t *cols, uint16_t *rows, char *err, size_t n)
{
	json_t *c = json_object_get(j, "cols"), *r = json_object_get(j, "rows");
	if (!json_is_integer(c) || !json_is_integer(r) || json_integer_value(c) < 1 ||
	    json_integer_value(c) > 65535 || json_integer_value(r) < 1 || json_integer_value(r) > 65535)
		return fail(SRV_BAD_REQUEST, err, n, "cols and rows must be integers in 1..65535");
	*cols = (uint16_t)json_integer_value(c);
	*rows = (uint16_t)json_integer_value(r);
	return 0;
}

/* Every key of j must be one of the NULL-terminated names. */
static int only_keys(json_t *j, const char *const *names, char *err, size_t n)
{
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v) {
		size_t i;
		for (i = 0; names[i] && strcmp(names[i], k); i++)
			;
		if (!names[i])
			return fail(SRV_BAD_REQUEST, err, n, "unknown field \"%.64s\"", k);
	}
	return 0;
}

int srv_parse_signal(const char *body, size_t len, int *sig, char *err, size_t n)
{
	json_t *j = load_object(body, len, err, n);
	int rc;
	if (!j)
		return SRV_BAD_REQUEST;
	rc = only_keys(j, (const char *const[]){ "signal", NULL }, err, n);
	if (!rc)
		rc = check_signal(json_object_get(j, "signal"), sig, err, n);
	json_decref(j);
	return rc;
}

int srv_parse_resize(const char *body, size_t len, uint16_t *cols, uint16_t *rows, char *err, size_t n)
{
	json_t *j = load_object(body, len, err, n);
	int rc;
	if (!j)
		return SRV_BAD_REQUEST;
	rc = only_keys(j, (const char *const[]){ "cols", "rows", NULL }, err, n);
	if (!rc)
		rc = check_size(j, cols, rows, err, n);
	json_decref(j);
	return rc;
}

int srv_parse_stop(const char *body, size_t len, uint32_t *timeout_ms, char *err, size_t n)
{
	json_t *j = load_object(body, len, err, n), *t;
	int rc;
	if (!j)
		return SRV_BAD_REQUEST;
	*timeout_ms = 30000;
	rc = only_keys(j, (const char *const[]){ "timeout_seconds", NULL }, err, n);
	t = json_object_get(j, "timeout_seconds");
	if (!rc && t && !json_is_null(t)) {
		if (!json_is_number(t) || !isfinite(json_number_value(t)) || json_number_value(t) < 0 ||
		    json_number_value(t) > 3600)
			rc = fail(SRV_BAD_REQUEST, err, n, "timeout_seconds must be a number in 0..3600");
		else
			*timeout_ms = (uint32_t)(json_number_value(t) * 1000);
	}
	json_decref(j);
	return rc;
}

/* A body with one required string field; *val points into *json. */
static int one_string(const char *body, size_t len, const char *key, json_t **json, const char **val, char *err,
		      size_t n)
{
	json_t *j = load_object(body, len, err, n);
	int rc;

	*json = NULL;
	*val = NULL;
	if (!j)
		return SRV_BAD_REQUEST;
	rc = only_keys(j, (const char *const[]){ key, NULL }, err, n);
	if (!rc)
		rc = want_string(json_object_get(j, key), key, val, err, n);
	if (!rc && (!*val || !**val))
		rc = fail(SRV_BAD_REQUEST, err, n, "%s is required", key);
	if (rc)
		json_decref(j);
	else
		*json = j;
	return rc;
}

int srv_parse_snapshot(const char *body, size_t len, json_t **json, const char **name, char *err, size_t n)
{
	return one_string(body, len, "name", json, name, err, n);
}

int srv_parse_pull(const char *body, size_t len, json_t **json, const char **ref, char *err, size_t n)
{
	return one_string(body, len, "reference", json, ref, err, n);
}

int srv_parse_clone(const char *body, size_t len, json_t **json, const char **name, char *err, size_t n)
{
	json_t *j = load_object(body, len, err, n);
	int rc;

	*json = NULL;
	*name = NULL;
	if (!j)
		return SRV_BAD_REQUEST;
	rc = only_keys(j, (const char *const[]){ "name", NULL }, err, n);
	if (!rc && json_object_get(j, "name"))
		rc = want_string(json_object_get(j, "name"), "name", name, err, n);
	if (rc)
		json_decref(j);
	else
		*json = j;
	return rc;
}

int srv_parse_control(const char *text, size_t len, struct srv_control *out, char *err, size_t n)
{
	json_t *j = load_object(text, len, err, n), *t;
	const char *type;
	int rc;

	if (!j)
		return SRV_BAD_REQUEST;
	memset(out, 0, sizeof(*out));
	t = json_object_get(j, "type");
	type = json_is_string(t) ? json_string_value(t) : "";
	if (!strcmp(type, "resize")) {
		out->type = SRV_CTL_RESIZE;
		rc = check_size(j, &out->cols, &out->rows, err, n);
	} else if (!strcmp(type, "signal")) {
		out->type = SRV_CTL_SIGNAL;
		rc = check_signal(json_object_get(j, "sig"), &out->sig, err, n);
	} else if (!strcmp(type, "stdin_eof")) {
		out->type = SRV_CTL_STDIN_EOF;
		rc = 0;
	} else
		rc = fail(SRV_BAD_REQUEST, err, n, "unknown control message type \"%.32s\" (resize, signal, stdin_eof)",
			  type);
	json_decref(j);
	return rc;
}

void srv_req_free(json_t *json)
{
	json_decref(json);
}
