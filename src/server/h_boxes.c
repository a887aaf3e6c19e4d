/* Box routes: create, list, get, head, delete, start, stop, metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "srv.h"

/* NULL-terminated copy of a JSON array of strings (pointers into it). */
static const char **strv_of(json_t *arr)
{
	const char **v = calloc(json_array_size(arr) + 1, sizeof(*v));
	for (size_t i = 0; v && i < json_array_size(arr); i++)
		v[i] = json_string_value(json_array_get(arr, i));
	return v;
}

/* Applies one array of strings with fn(o, item); 0 or the first failure. */
static int each_string(boxlite_box_options *o, json_t *arr, int (*fn)(boxlite_box_options *, const char *))
{
	size_t i;
	json_t *it;
	int rc;
	json_array_foreach(arr, i, it) {
		if ((rc = fn(o, json_string_value(it))) < 0)
			return rc;
	}
	return 0;
}

static int allow_net(boxlite_box_options *o, const char *e) { return boxlite_box_options_add_allow_net(o, e); }
static int cap_add(boxlite_box_options *o, const char *c) { return boxlite_box_options_add_capability(o, c); }
static int cap_drop(boxlite_box_options *o, const char *c) { return boxlite_box_options_drop_capability(o, c); }

/* The request as box options; 0, or -EINVAL with what in *what. */
static int build_options(const struct srv_create_req *q, boxlite_box_options **out, const char **what)
{
	boxlite_box_options *o = boxlite_box_options_new(q->image ? q->image : "alpine:latest");
	const char *k;
	json_t *v;
	int rc = 0;

	*out = o;
	if (!o)
		return -ENOMEM;
#define TRY(field, call) \
	do { \
		if ((rc = (call)) < 0) { \
			*what = field; \
			return rc; \
		} \
	} while (0)
	if (q->rootfs_path)
		TRY("rootfs_path", boxlite_box_options_set_rootfs(o, q->rootfs_path));
	if (q->name)
		TRY("name", boxlite_box_options_set_name(o, q->name));
	if (q->cpus)
		TRY("cpus", boxlite_box_options_set_cpus(o, q->cpus));
	if (q->memory_mib)
		TRY("memory_mib", boxlite_box_options_set_memory_mib(o, q->memory_mib));
	if (q->disk_size_gb)
		TRY("disk_size_gb", boxlite_box_options_set_disk_size_gb(o, q->disk_size_gb));
	if (q->working_dir)
		TRY("working_dir", boxlite_box_options_set_workdir(o, q->working_dir));
	if (q->user)
		TRY("user", boxlite_box_options_set_user(o, q->user));
	json_object_foreach(q->env, k, v) {
		char *kv = NULL;
		if (asprintf(&kv, "%s=%s", k, json_string_value(v)) < 0)
			return -ENOMEM;
		rc = boxlite_box_options_add_env(o, kv);
		free(kv);
		TRY("env", rc);
	}
	if (q->entrypoint && json_array_size(q->entrypoint)) {
		const char **argv = strv_of(q->entrypoint);
		rc = argv ? boxlite_box_options_set_entrypoint(o, argv) : -ENOMEM;
		free(argv);
		TRY("entrypoint", rc);
	}
	if (q->cmd && json_array_size(q->cmd)) {
		const char **argv = strv_of(q->cmd);
		rc = argv ? boxlite_box_options_set_command(o, argv) : -ENOMEM;
		free(argv);
		TRY("cmd", rc);
	}
	if (q->network == 0)
		TRY("network.mode", boxlite_box_options_set_network(o, 0));
	TRY("network.allow_net", each_string(o, q->allow_net, allow_net));
	TRY("advanced.capabilities.add", each_string(o, q->cap_add, cap_add));
	TRY("advanced.capabilities.drop", each_string(o, q->cap_drop, cap_drop));
	if (q->tty == 1)
		TRY("tty", boxlite_box_options_set_tty(o, 0, 0));
	/* The reference server's default: a box outlives the server unless the
	 * request says detach:false (its SDKs always say which). */
	TRY("detach", boxlite_box_options_set_detach(o, q->detach != 0));
	if (q->auto_remove == 1 || q->auto_delete > 0)
		TRY("auto_remove", boxlite_box_options_set_auto_remove(o, 1));
#undef TRY
	return 0;
}

static void count(struct srv *s, uint64_t *counter)
{
	pthread_mutex_lock(&s->mu);
	(*counter)++;
	pthread_mutex_unlock(&s->mu);
}

/* Answers with the box's current info (status given). 404 if it went. */
void srv_reply_box(struct srv *s, struct srv_req *r, struct srv_resp *out, struct srv_box *b, unsigned status)
{
	boxlite_box_info info = { .struct_size = sizeof(info) };
	boxlite_error *e = NULL;
	int rc = boxlite_box_info_get(b->box, &info, &e);

	if (rc < 0) {
		if (rc == -ENOENT)
			srv_box_forget(s, b);
		return srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	}
	srv_json(out, status, srv_box_json(&info));
}

void h_box_create(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_create_req q;
	boxlite_box_options *o = NULL;
	boxlite_box *box = NULL;
	boxlite_error *e = NULL;
	struct srv_box *b;
	const char *what = "";
	char msg[512];
	int rc = srv_parse_create(r->body, r->body_len, &q, msg, sizeof(msg));

	if (rc)
		return srv_bad_request(out, r, rc, msg);
	rc = build_options(&q, &o, &what);
	if (rc < 0) {
		srv_error(out, r, rc == -ENOMEM ? 500 : 400, rc == -ENOMEM ? "InternalError" : "InvalidArgumentError",
			  rc == -ENOMEM ? "internal" : "invalid_argument", "%s: %s", what,
			  rc == -ENOMEM ? "out of memory" : "invalid value");
		goto done;
	}
	rc = boxlite_box_create(s->rt, o, &box, &e);
	if (rc < 0) {
		count(s, &s->n.boxes_failed);
		srv_error_lib(out, r, rc, e, SRV_CTX_CREATE);
		goto done;
	}
	count(s, &s->n.boxes_created);
	if (!(b = srv_box_adopt(s, box))) {
		boxlite_box_free(box);
		srv_error(out, r, 500, "InternalError", "internal", "out of memory");
		goto done;
	}
	srv_reply_box(s, r, out, b, 201);
	srv_box_put(s, b);
done:
	boxlite_box_options_free(o);
	srv_req_free(q.json);
}

void h_box_list(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	const char *want = srv_query(r, "status");
	boxlite_box_info *infos = NULL;
	boxlite_error *e = NULL;
	size_t n = 0;
	json_t *arr = json_array();
	int rc = boxlite_runtime_list_boxes(s->rt, &infos, &n, &e);

	if (rc < 0) {
		json_decref(arr);
		return srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *j = srv_box_json(&infos[i]);
		if (want && *want && j && strcmp(json_string_value(json_object_get(j, "status")), want)) {
			json_decref(j);
			continue;
		}
		json_array_append_new(arr, j);
	}
	boxlite_box_info_list_free(infos, n);
	srv_json(out, 200, json_pack("{s:o}", "boxes", arr));
}

void h_box_get(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_box *b = srv_route_box(s, r, out);
	if (!b)
		return;
	srv_reply_box(s, r, out, b, 200);
	srv_box_put(s, b);
}

void h_box_head(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	h_box_get(s, r, out);
	srv_empty(out, out->status == 200 ? 204 : out->status);
}

void h_box_delete(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	boxlite_box_info info = { .struct_size = sizeof(info) };
	int force = srv_query_bool(r, "force", 1); /* the reference server's default */
	boxlite_error *e = NULL;
	struct srv_box *b;
	int rc;

	if (force < 0)
		return srv_error(out, r, 400, "InvalidArgumentError", "invalid_argument", "force must be true or false");
	if (!(b = srv_route_box(s, r, out)))
		return;
	rc = boxlite_box_info_get(b->box, &info, &e);
	if (rc == 0 && !force &&
	    (info.state == BOXLITE_BOX_RUNNING || info.state == BOXLITE_BOX_STARTING || info.state == BOXLITE_BOX_PAUSED)) {
		srv_error(out, r, 409, "InvalidStateError", "invalid_state",
			  "box %s is %s: stop it first, or remove it with force=true", b->id,
			  boxlite_box_state_name(info.state));
	} else {
		boxlite_error_free(e);
		e = NULL;
		srv_execs_drop(s, b); /* their handles use the box's */
		rc = boxlite_box_remove(b->box, &e); /* frees the handle, even on failure */
		srv_box_forget(s, b);
		if (rc < 0)
			srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
		else
			srv_empty(out, 204);
	}
	srv_box_put(s, b);
}

void h_box_start(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_box *b = srv_route_box(s, r, out);
	boxlite_error *e = NULL;
	int rc;

	if (!b)
		return;
	rc = boxlite_box_start(b->box, &e);
	if (rc < 0 && rc != -EALREADY) {
		srv_error_lib(out, r, rc, e, SRV_CTX_START);
	} else {
		boxlite_error_free(e);
		srv_reply_box(s, r, out, b, 200);
	}
	srv_box_put(s, b);
}

void h_box_stop(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	uint32_t timeout_ms;
	struct srv_box *b;
	boxlite_error *e = NULL;
	char msg[256];
	int rc = srv_parse_stop(r->body, r->body_len, &timeout_ms, msg, sizeof(msg));

	if (rc)
		return srv_bad_request(out, r, rc, msg);
	if (!(b = srv_route_box(s, r, out)))
		return;
	rc = boxlite_box_stop(b->box, timeout_ms ? timeout_ms : 1, &e);
	if (rc < 0) {
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	} else {
		count(s, &s->n.boxes_stopped);
		srv_reply_box(s, r, out, b, 200);
	}
	srv_box_put(s, b);
}

/* POST /v1/boxes/{id}/checkpoint (boxlite's; docs/checkpoints.md): the box
 * saved and stopped; the next start resumes it. */
void h_box_checkpoint(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_box *b;
	boxlite_error *e = NULL;
	int rc;

	if (!(b = srv_route_box(s, r, out)))
		return;
	if ((rc = boxlite_box_checkpoint(b->box, &e)) < 0)
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	else
		srv_reply_box(s, r, out, b, 200);
	srv_box_put(s, b);
}

static json_t *ms_since(uint64_t from, uint64_t to)
{
	return from && to >= from ? json_integer((json_int_t)((to - from) / 1000000)) : json_null();
}

void h_box_metrics(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	boxlite_box_stats st = { .struct_size = sizeof(st) };
	struct srv_box *b = srv_route_box(s, r, out);
	boxlite_error *e = NULL;
	const boxlite_timings *t = &st.timings;
	int rc;

	if (!b)
		return;
	rc = boxlite_box_stats_get(b->box, &st, &e);
	if (rc < 0 && rc != -ENOTCONN) {
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
		srv_box_put(s, b);
		return;
	}
	boxlite_error_free(e);
	json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:n,s:o,s:n,s:n,s:n,s:n}", "commands_executed_total",
			      (json_int_t)b->commands, "exec_errors_total", (json_int_t)b->exec_errors,
			      "bytes_sent_total", (json_int_t)b->bytes_in, "bytes_received_total",
			      (json_int_t)b->bytes_out, "cpu_percent", "memory_bytes",
			      rc == 0 ? json_integer((json_int_t)st.host_rss_bytes) : json_null(), "network_bytes_sent",
			      "network_bytes_received", "network_tcp_connections", "network_tcp_errors");
	if (j && rc == 0 && t->ready)
		json_object_set_new(
			j, "boot_timing",
			json_pack("{s:o,s:o,s:o,s:o}", "total_create_ms", ms_since(t->spawn ? t->spawn : t->shim_start, t->ready),
				  "guest_boot_ms", ms_since(t->qemu_start, t->agent_hello), "box_spawn_ms",
				  ms_since(t->spawn, t->qemu_start), "container_init_ms", ms_since(t->agent_hello, t->ready)));
	srv_json(out, 200, j);
	srv_box_put(s, b);
}

void h_box_clone(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	const char *name;
	struct srv_box *b, *nb;
	boxlite_box *clone = NULL;
	boxlite_error *e = NULL;
	json_t *q;
	char msg[256];
	int rc = srv_parse_clone(r->body, r->body_len, &q, &name, msg, sizeof(msg));

	if (rc)
		return srv_bad_request(out, r, rc, msg);
	if ((b = srv_route_box(s, r, out))) {
		rc = boxlite_box_clone(b->box, 1, name ? (const char *const[]){ name } : NULL, &clone, &e);
		srv_box_put(s, b);
		if (rc < 0) {
			srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
		} else if (!(nb = srv_box_adopt(s, clone))) {
			boxlite_box_free(clone);
			srv_error(out, r, 500, "InternalError", "internal", "out of memory");
		} else {
			srv_reply_box(s, r, out, nb, 201);
			srv_box_put(s, nb);
		}
	}
	srv_req_free(q);
}
