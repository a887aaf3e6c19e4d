/* Boxes of a remote runtime: the public box calls as REST requests
 * (rest-api.md §4, §5). A remote box handle holds the box's id and the last
 * Box document the server sent, whose strings boxlite_box_info_get hands
 * out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "box_impl.h"
#include "remote.h"
#include "rest.h"
#include "strv.h"

struct bx_rbox {
	char *id;
	json_t *last; /* the last Box document */
};

int bx_remote_unsupported(struct bx_error *err, const char *what)
{
	return bx_err(err, -ENOTSUP, "%s is not available on a remote runtime (it works on a local one)", what);
}

static uint64_t rfc3339_ns(const char *s)
{
	struct tm tm = { 0 };
	const char *rest;
	uint64_t frac = 0, scale = 1000000000ull;

	if (!s || !(rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*rest == '.')
		for (rest++; *rest >= '0' && *rest <= '9'; rest++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*rest - '0') * scale;
			}
	return (uint64_t)timegm(&tm) * 1000000000ull + frac;
}

static enum boxlite_box_state state_of(const char *s)
{
	static const struct { const char *name; enum boxlite_box_state st; } m[] = {
		{ "configured", BOXLITE_BOX_CONFIGURED }, { "running", BOXLITE_BOX_RUNNING },
		{ "paused", BOXLITE_BOX_PAUSED },         { "stopping", BOXLITE_BOX_STOPPING },
		{ "stopped", BOXLITE_BOX_STOPPED },       { "failed", BOXLITE_BOX_FAILED },
		{ "starting", BOXLITE_BOX_STARTING },
	};
	for (size_t i = 0; s && i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcmp(m[i].name, s))
			return m[i].st;
	return BOXLITE_BOX_FAILED;
}

static const char *str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

/* A Box document as info; strings point into j. */
static void info_of(json_t *j, boxlite_box_info *info)
{
	uint32_t size = info->struct_size ? info->struct_size : sizeof(*info);
	json_t *ec = json_object_get(j, "exit_code"), *pid = json_object_get(j, "pid");
	boxlite_box_info full = {
		.struct_size = size > sizeof(full) ? (uint32_t)sizeof(full) : size,
		.id = str(j, "box_id"),
		.name = str(j, "name"),
		.image = str(j, "image"),
		.reason = str(j, "reason"),
		.state = state_of(json_string_value(json_object_get(j, "status"))),
		.exit_code = json_is_integer(ec) ? (int32_t)json_integer_value(ec) : -1,
		.shim_pid = json_is_integer(pid) ? (int32_t)json_integer_value(pid) : 0,
		.detached = json_is_true(json_object_get(j, "detach")),
		.created_at = rfc3339_ns(json_string_value(json_object_get(j, "created_at"))),
		.cpus = (uint32_t)json_integer_value(json_object_get(j, "cpus")),
		.memory_mib = (uint32_t)json_integer_value(json_object_get(j, "memory_mib")),
		.auto_remove = json_is_true(json_object_get(j, "auto_remove")),
	};
	if (full.state != BOXLITE_BOX_CONFIGURED)
		full.started_at = rfc3339_ns(json_string_value(json_object_get(j, "updated_at")));
	memcpy(info, &full, full.struct_size);
}

int bx_remote_box_from_json(boxlite_runtime *rt, json_t *j, boxlite_box **out, struct bx_error *err)
{
	boxlite_box *box = bx_box_alloc(rt);
	struct bx_rbox *rb = calloc(1, sizeof(*rb));
	const char *id = json_string_value(json_object_get(j, "box_id"));

	if (!id) {
		free(rb);
		bx_box_destroy(box);
		json_decref(j);
		return bx_err(err, -EPROTO, "the server's Box has no box_id");
	}
	if (!box || !rb || !(rb->id = strdup(id))) {
		free(rb);
		bx_box_destroy(box);
		json_decref(j);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	rb->last = j;
	snprintf(box->id, sizeof(box->id), "%s", id);
	if (json_is_string(json_object_get(j, "name")))
		box->name = strdup(json_string_value(json_object_get(j, "name")));
	box->remote = rb;
	*out = box;
	return 0;
}

/* "/boxes/ID" + rest, with the id escaped for a path. */
static char *box_path(const boxlite_box *box, const char *rest)
{
	char *p = NULL;
	return asprintf(&p, "/boxes/%s%s", box->remote->id, rest) < 0 ? NULL : p;
}

static int call(boxlite_box *box, const char *method, const char *rest, json_t *body, json_t **resp,
		struct bx_error *err)
{
	char *p = box_path(box, rest);
	int rc = p ? bx_rest_json(box->rt->remote, method, p, body, resp, NULL, err) : bx_err(err, -ENOMEM, "out of memory");
	free(p);
	json_decref(body);
	return rc;
}

/* Keeps a fresh Box document. */
static int refresh(boxlite_box *box, json_t *j)
{
	if (!j)
		return 0;
	json_decref(box->remote->last);
	box->remote->last = j;
	return 0;
}

int bx_remote_list(boxlite_runtime *rt, boxlite_box_info **out, size_t *count, struct bx_error *err)
{
	json_t *resp = NULL, *arr, *b;
	boxlite_box_info *v;
	size_t i;
	int rc = bx_rest_json(rt->remote, "GET", "/boxes", NULL, &resp, NULL, err);

	*out = NULL;
	*count = 0;
	if (rc < 0)
		return rc;
	arr = json_object_get(resp, "boxes");
	if (!(v = calloc(json_array_size(arr) + 1, sizeof(*v)))) {
		json_decref(resp);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	json_array_foreach(arr, i, b) {
		v[i].struct_size = sizeof(v[i]);
		info_of(b, &v[i]);
		v[i].id = strdup(v[i].id);
		v[i].name = strdup(v[i].name);
		v[i].image = strdup(v[i].image);
		v[i].reason = strdup(v[i].reason);
	}
	*out = v;
	*count = json_array_size(arr);
	json_decref(resp);
	return 0;
}

int bx_remote_create(boxlite_runtime *rt, const boxlite_box_options *o, boxlite_box **out, struct bx_error *err)
{
	json_t *req, *resp = NULL;
	int rc;

	*out = NULL;
	if (o->nv.n_ports)
		return bx_err(err, -ENOTSUP, "published ports are not available on a remote runtime");
	if (o->nv.n_vols)
		return bx_err(err, -ENOTSUP, "volumes are not available on a remote runtime: the server's host paths "
					     "are its operator's");
	if (o->security == BOXLITE_SECURITY_DEVELOPMENT)
		return bx_err(err, -ENOTSUP, "the security mode is set by the server's operator, not by clients");
	req = json_pack("{s:i,s:i,s:b}", "cpus", (int)o->cpus, "memory_mib", (int)o->memory_mib, "detach", o->detach);
	json_object_set_new(req, "env", bx_env_json((const char *const *)o->env));
	if (o->rootfs)
		json_object_set_new(req, "rootfs_path", json_string(o->rootfs));
	else if (o->image && *o->image)
		json_object_set_new(req, "image", json_string(o->image));
	if (o->name)
		json_object_set_new(req, "name", json_string(o->name));
	if (o->workdir)
		json_object_set_new(req, "working_dir", json_string(o->workdir));
	if (o->user)
		json_object_set_new(req, "user", json_string(o->user));
	if (o->command)
		json_object_set_new(req, "cmd", bx_strv_json((const char *const *)o->command));
	if (o->entrypoint)
		json_object_set_new(req, "entrypoint", o->entrypoint[0] ? bx_strv_json((const char *const *)o->entrypoint)
									: json_pack("[s]", ""));
	if (o->disk_size_gb)
		json_object_set_new(req, "disk_size_gb", json_integer(o->disk_size_gb));
	if (o->auto_remove)
		json_object_set_new(req, "auto_remove", json_true());
	if (o->tty)
		json_object_set_new(req, "tty", json_true());
	if (!o->network || o->nv.n_allow)
		json_object_set_new(req, "network", json_pack("{s:s,s:o}", "mode", o->network ? "enabled" : "disabled",
							      "allow_net", bx_strv_json((const char *const *)o->nv.allow)));
	if (o->cap_add || o->cap_drop)
		json_object_set_new(req, "advanced",
				    json_pack("{s:{s:o,s:o}}", "capabilities", "add", bx_strv_json((const char *const *)o->cap_add), "drop",
					      bx_strv_json((const char *const *)o->cap_drop)));
	rc = bx_rest_json(rt->remote, "POST", "/boxes", req, &resp, NULL, err);
	json_decref(req);
	return rc < 0 ? rc : bx_remote_box_from_json(rt, resp, out, err);
}

int bx_remote_get(boxlite_runtime *rt, const char *key, boxlite_box **out, struct bx_error *err)
{
	json_t *resp = NULL;
	char *p = NULL;
	int rc;

	*out = NULL;
	if (!key || !*key || strchr(key, '/') || asprintf(&p, "/boxes/%s", key) < 0)
		return bx_err(err, key && *key && !strchr(key, '/') ? -ENOMEM : -EINVAL, "bad box name \"%s\"",
			      key ? key : "");
	rc = bx_rest_json(rt->remote, "GET", p, NULL, &resp, NULL, err);
	free(p);
	return rc < 0 ? rc : bx_remote_box_from_json(rt, resp, out, err);
}

const char *bx_remote_box_id(const boxlite_box *box)
{
	return box->remote->id;
}

void bx_remote_box_free(boxlite_box *box)
{
	json_decref(box->remote->last);
	free(box->remote->id);
	free(box->remote);
	box->remote = NULL;
	bx_box_destroy(box);
}

int bx_remote_start(boxlite_box *box, struct bx_error *err)
{
	json_t *resp = NULL;
	int rc = call(box, "POST", "/start", NULL, &resp, err);
	return rc < 0 ? rc : refresh(box, resp);
}

int bx_remote_stop(boxlite_box *box, uint32_t timeout_ms, struct bx_error *err)
{
	json_t *resp = NULL;
	int rc = call(box, "POST", "/stop", json_pack("{s:f}", "timeout_seconds", (timeout_ms ? timeout_ms : 10000) / 1000.0),
		      &resp, err);
	return rc < 0 ? rc : refresh(box, resp);
}

int bx_remote_checkpoint(boxlite_box *box, struct bx_error *err)
{
	json_t *resp = NULL;
	int rc = call(box, "POST", "/checkpoint", json_object(), &resp, err);
	return rc < 0 ? rc : refresh(box, resp);
}

int bx_remote_remove(boxlite_box *box, struct bx_error *err)
{
	int rc = call(box, "DELETE", "?force=true", NULL, NULL, err);
	bx_remote_box_free(box);
	return rc;
}

int bx_remote_info(boxlite_box *box, boxlite_box_info *info, struct bx_error *err)
{
	json_t *resp = NULL;
	int rc = call(box, "GET", "", NULL, &resp, err);
	if (rc < 0)
		return rc;
	refresh(box, resp);
	info_of(box->remote->last, info);
	return 0;
}

int bx_remote_inspect(boxlite_box *box, char **json, struct bx_error *err)
{
	json_t *resp = NULL;
	int rc = call(box, "GET", "", NULL, &resp, err);
	if (rc < 0)
		return rc;
	*json = json_dumps(resp, JSON_INDENT(2));
	refresh(box, resp);
	return *json ? 0 : bx_err(err, -ENOMEM, "out of memory");
}

int bx_remote_wait(boxlite_box *box, uint32_t timeout_ms, int32_t *exit_code, struct bx_error *err)
{
	struct timespec t0, now;
	boxlite_box_info info = { .struct_size = sizeof(info) };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int rc = bx_remote_info(box, &info, err);
		if (rc < 0)
			return rc;
		if (info.state == BOXLITE_BOX_STOPPED || info.state == BOXLITE_BOX_FAILED) {
			if (exit_code)
				*exit_code = info.exit_code;
			return 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_ms && (uint64_t)(now.tv_sec - t0.tv_sec) * 1000 + (uint64_t)(now.tv_nsec - t0.tv_nsec) / 1000000 >=
					  timeout_ms)
			return bx_err(err, -ETIMEDOUT, "box %s is still running", box->remote->id);
		usleep(200 * 1000); /* the API has no wait: poll, gently */
	}
}

int bx_remote_stats(boxlite_box *box, boxlite_box_stats *out, struct bx_error *err)
{
	json_t *resp = NULL, *mem;
	uint32_t size = out->struct_size;
	int rc = call(box, "GET", "/metrics", NULL, &resp, err);

	if (rc < 0)
		return rc;
	memset(out, 0, size < sizeof(*out) ? size : sizeof(*out));
	out->struct_size = size;
	mem = json_object_get(resp, "memory_bytes");
	if (json_is_integer(mem))
		out->host_rss_bytes = (uint64_t)json_integer_value(mem);
	json_decref(resp);
	return json_is_integer(mem) ? 0 : bx_err(err, -ENOTCONN, "box %s is not running", box->remote->id);
}

int bx_remote_clone(boxlite_box *box, size_t count, const char *const *names, boxlite_box **out, struct bx_error *err)
{
	/* The API clones one at a time, as the reference's clients call it. */
	for (size_t i = 0; i < count; i++) {
		json_t *resp = NULL;
		int rc = call(box, "POST", "/clone", names && names[i] ? json_pack("{s:s}", "name", names[i]) : json_object(),
			      &resp, err);
		if (rc == 0)
			rc = bx_remote_box_from_json(box->rt, resp, &out[i], err);
		if (rc < 0) {
			for (size_t k = 0; k < i; k++) {
				bx_remote_remove(out[k], NULL);
				out[k] = NULL;
			}
			return rc;
		}
	}
	return 0;
}
