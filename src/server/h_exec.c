/* Execution routes: start a command, its info, kill, signal, resize, and
 * the WebSocket attaches (to an execution, or to the box's main command). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"
#include "srv.h"
#include "ws.h"

static void count_exec(struct srv *s, struct srv_box *b, int failed)
{
	pthread_mutex_lock(&s->mu);
	s->n.commands++;
	b->commands++;
	if (failed) {
		s->n.exec_errors++;
		b->exec_errors++;
	}
	pthread_mutex_unlock(&s->mu);
}

/* Writes the request's stdin, then closes it, off the request's thread: a
 * command that never reads must not hold the POST. */
struct stdin_job {
	struct srv *s;
	struct srv_exec *x;
	char *data;
	size_t len;
};

static void *stdin_writer(void *arg)
{
	struct stdin_job *j = arg;
	if (j->len)
		boxlite_exec_write_stdin(j->x->h, j->data, j->len, NULL);
	boxlite_exec_close_stdin(j->x->h);
	pthread_mutex_lock(&j->x->mu);
	j->x->stdin_busy = 0;
	pthread_mutex_unlock(&j->x->mu);
	srv_exec_put(j->s, j->x);
	free(j->data);
	free(j);
	return NULL;
}

static int start_stdin_writer(struct srv *s, struct srv_exec *x, const char *data, size_t len)
{
	struct stdin_job *j = calloc(1, sizeof(*j));
	pthread_t t;

	if (!j || !(j->data = malloc(len + 1))) {
		free(j);
		return -ENOMEM;
	}
	memcpy(j->data, data, len);
	j->len = len;
	j->s = s;
	j->x = x;
	pthread_mutex_lock(&s->mu);
	x->refs++;
	pthread_mutex_unlock(&s->mu);
	x->stdin_busy = 1; /* before anyone else can see x */
	if (pthread_create(&t, NULL, stdin_writer, j) != 0) {
		x->stdin_busy = 0;
		srv_exec_put(s, x);
		free(j->data);
		free(j);
		return -EAGAIN;
	}
	pthread_detach(t);
	return 0;
}

void h_exec_start(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	boxlite_exec_options eo = { .struct_size = sizeof(eo) };
	struct srv_exec_req q;
	struct srv_box *b = NULL;
	struct srv_exec *x;
	boxlite_exec *h = NULL;
	boxlite_error *e = NULL;
	const char **argv = NULL, **env = NULL;
	char msg[512], *envbuf = NULL;
	const char *k;
	json_t *v;
	size_t i = 0, envlen = 0;
	int rc = srv_parse_exec(r->body, r->body_len, &q, msg, sizeof(msg));

	if (rc)
		return srv_bad_request(out, r, rc, msg);
	argv = calloc(json_array_size(q.args) + 2, sizeof(*argv));
	env = calloc(json_object_size(q.env) + 1, sizeof(*env));
	json_object_foreach(q.env, k, v)
		envlen += strlen(k) + json_string_length(v) + 2;
	envbuf = malloc(envlen + 1);
	if (!argv || !env || !envbuf) {
		srv_error(out, r, 500, "InternalError", "internal", "out of memory");
		goto done;
	}
	argv[0] = q.command;
	for (i = 0; i < json_array_size(q.args); i++)
		argv[i + 1] = json_string_value(json_array_get(q.args, i));
	i = 0;
	envlen = 0;
	json_object_foreach(q.env, k, v) {
		env[i++] = envbuf + envlen;
		envlen += (size_t)sprintf(envbuf + envlen, "%s=%s", k, json_string_value(v)) + 1;
	}
	eo.argv = argv;
	eo.env = env;
	eo.workdir = q.working_dir;
	eo.user = q.user;
	eo.timeout_ms = q.timeout_seconds > 0 ? (uint32_t)(q.timeout_seconds * 1000 + 0.5) : 0;
	if (q.timeout_seconds > 0 && !eo.timeout_ms)
		eo.timeout_ms = 1;
	eo.tty = (uint32_t)q.tty;

	if ((rc = srv_box_get(s, r->params[0], &b, &e)) < 0) {
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
		goto done;
	}
	rc = boxlite_exec_start(b->box, &eo, &h, &e); /* boots a box made without a command */
	count_exec(s, b, rc < 0);
	if (rc < 0) {
		srv_error_lib(out, r, rc, e, SRV_CTX_EXEC);
		goto done;
	}
	if (!(x = srv_exec_add(s, b, h, 0, q.tty, eo.timeout_ms))) {
		boxlite_exec_free(h);
		srv_error(out, r, 500, "InternalError", "internal", "out of memory");
		goto done;
	}
	if (q.stdin_data && start_stdin_writer(s, x, q.stdin_data, q.stdin_len) < 0) {
		srv_exec_evict(s, x);
		srv_exec_put(s, x);
		srv_error(out, r, 429, "ResourceExhaustedError", "resource_exhausted", "cannot start a thread for stdin");
		goto done;
	}
	srv_json(out, 201, json_pack("{s:s}", "execution_id", x->id));
	snprintf(out->header_name, sizeof(out->header_name), "Location");
	snprintf(out->header_value, sizeof(out->header_value), "/v1/boxes/%s/executions/%s", x->box_id, x->id);
	srv_exec_put(s, x);
done:
	srv_box_put(s, b);
	free(argv);
	free(env);
	free(envbuf);
	srv_req_free(q.json);
}

/* The route's execution, referenced, checked to belong to {box_id} (id,
 * or a name or prefix the store resolves to it). Answers 404 itself. */
static struct srv_exec *route_exec(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_exec *x = srv_exec_find(s, r->params[1]);
	struct srv_box *b = NULL;

	if (x && strcmp(x->box_id, r->params[0])) {
		int same = srv_box_get(s, r->params[0], &b, NULL) == 0 && b == x->box;
		srv_box_put(s, b);
		if (!same) {
			srv_exec_put(s, x);
			x = NULL;
		}
	}
	if (!x)
		srv_error(out, r, 404, "NotFoundError", "not_found", "no execution %s in box %s", r->params[1],
			  r->params[0]);
	return x;
}

void h_exec_get(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_exec *x = route_exec(s, r, out);
	json_t *j;

	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	srv_exec_poll_locked(x, 0);
	j = json_pack("{s:s,s:s,s:I}", "execution_id", x->id, "status",
		      !x->done ? "running" : x->killed ? "killed" : "completed", "duration_ms",
		      (json_int_t)(((x->done ? x->done_ns : srv_now_ns()) - x->started_ns) / 1000000));
	if (j && x->done) {
		int code = x->st.signal ? -x->st.signal : x->st.exit_code; /* -N: killed by signal N, as the reference */
		json_object_set_new(j, "exit_code", x->wait_rc ? json_null() : json_integer(code));
		if (x->wait_rc)
			json_object_set_new(j, "error_message", json_string("the box stopped while the command ran"));
		if (x->timeout_ms && x->st.signal && x->done_ns - x->started_ns >= (uint64_t)x->timeout_ms * 1000000)
			json_object_set_new(j, "status", json_string("timed_out"));
	}
	pthread_mutex_unlock(&x->mu);
	srv_json(out, 200, j);
	srv_exec_put(s, x);
}

void h_exec_kill(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_exec *x = route_exec(s, r, out);
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	if (!srv_exec_poll_locked(x, 0)) {
		boxlite_exec_signal(x->h, SIGKILL);
		x->killed = 1;
	}
	pthread_mutex_unlock(&x->mu);
	/* An attached client still gets its exit frame: it holds a reference. */
	srv_exec_evict(s, x);
	srv_exec_put(s, x);
	srv_empty(out, 204);
}

void h_exec_signal(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_exec *x;
	char msg[256];
	int sig, rc = srv_parse_signal(r->body, r->body_len, &sig, msg, sizeof(msg));

	if (rc)
		return srv_bad_request(out, r, rc, msg);
	if (!(x = route_exec(s, r, out)))
		return;
	pthread_mutex_lock(&x->mu);
	rc = x->h ? boxlite_exec_signal(x->h, sig) : -ESRCH;
	pthread_mutex_unlock(&x->mu);
	if (rc < 0)
		srv_error(out, r, 409, "StoppedError", "stopped", "execution %s has ended", x->id);
	else
		srv_empty(out, 204);
	srv_exec_put(s, x);
}

void h_exec_resize(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_exec *x;
	uint16_t cols, rows;
	char msg[256];
	int rc = srv_parse_resize(r->body, r->body_len, &cols, &rows, msg, sizeof(msg));

	if (rc)
		return srv_bad_request(out, r, rc, msg);
	if (!(x = route_exec(s, r, out)))
		return;
	pthread_mutex_lock(&x->mu);
	rc = x->h ? boxlite_exec_resize(x->h, rows, cols) : -ESRCH;
	pthread_mutex_unlock(&x->mu);
	if (rc == -EINVAL)
		srv_error(out, r, 409, "InvalidStateError", "invalid_state", "execution %s has no terminal (tty)", x->id);
	else if (rc < 0)
		srv_error(out, r, 409, "StoppedError", "stopped", "execution %s has ended", x->id);
	else
		srv_empty(out, 204);
	srv_exec_put(s, x);
}

/* The handshake's checks (RFC 6455 §4.2.1); 0 with accept filled. */
static int ws_handshake(struct srv_req *r, struct srv_resp *out, char accept[29])
{
	const char *up = srv_header(r, "Upgrade"), *conn = srv_header(r, "Connection"),
		   *ver = srv_header(r, "Sec-WebSocket-Version"), *key = srv_header(r, "Sec-WebSocket-Key");

	if (!up || strcasecmp(up, "websocket") || !conn || !strcasestr(conn, "upgrade")) {
		srv_error(out, r, 426, "InvalidArgumentError", "upgrade_required",
			  "attach is a WebSocket: send Upgrade: websocket and Connection: Upgrade");
		return -1;
	}
	if (!ver || strcmp(ver, "13") || ws_accept_key(key, accept) < 0) {
		srv_error(out, r, 400, "InvalidArgumentError", "invalid_argument",
			  "bad WebSocket handshake: Sec-WebSocket-Version must be 13 and Sec-WebSocket-Key 16 bytes "
			  "in base64");
		return -1;
	}
	return 0;
}

/* Claims the single attach slot of x and answers 101; 409 when taken. */
static void upgrade_to(struct srv *s, struct srv_req *r, struct srv_resp *out, struct srv_exec *x,
		       const char *accept)
{
	int taken;
	pthread_mutex_lock(&x->mu);
	taken = x->attached;
	x->attached = !taken ? 1 : taken;
	pthread_mutex_unlock(&x->mu);
	if (taken)
		return srv_error(out, r, 409, "InvalidStateError", "invalid_state",
				 "another client is already attached to execution %s", x->id);
	if (srv_upgrade(out, s, x, accept) < 0) {
		pthread_mutex_lock(&x->mu);
		x->attached = 0;
		pthread_mutex_unlock(&x->mu);
		srv_error(out, r, 500, "InternalError", "internal", "cannot upgrade the connection");
	}
}

void h_exec_attach(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_exec *x;
	char accept[29];

	if (ws_handshake(r, out, accept) < 0 || !(x = route_exec(s, r, out)))
		return;
	upgrade_to(s, r, out, x, accept);
	srv_exec_put(s, x);
}

/* The box's main command (docker's create → attach → start): boots a box
 * that was never started; a second attach reuses the running session. */
void h_box_attach(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_box *b = NULL;
	struct srv_exec *x;
	boxlite_exec *h = NULL;
	boxlite_error *e = NULL;
	char accept[29];
	int rc;

	if (ws_handshake(r, out, accept) < 0)
		return;
	if ((rc = srv_box_get(s, r->params[0], &b, &e)) < 0)
		return srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	x = srv_exec_find_main(s, b->id);
	if (x) {
		pthread_mutex_lock(&x->mu);
		if (srv_exec_poll_locked(x, 0) && !x->attached) { /* ended: a new start makes a new session */
			pthread_mutex_unlock(&x->mu);
			srv_exec_evict(s, x);
			srv_exec_put(s, x);
			x = NULL;
		} else
			pthread_mutex_unlock(&x->mu);
	}
	if (!x) {
		boxlite_box_info info = { .struct_size = sizeof(info) };
		if (boxlite_box_info_get(b->box, &info, NULL) == 0 && info.state == BOXLITE_BOX_STOPPED) {
			srv_error(out, r, 409, "StoppedError", "stopped",
				  "box %s has stopped; its main command is not run again by attach (start it first)",
				  b->id);
			goto done;
		}
		if ((rc = boxlite_box_attach_start(b->box, BOXLITE_ATTACH_STDIN, &h, &e)) < 0) {
			/* The main command's own failure (not found...) is an execution's. */
			srv_error_lib(out, r, rc, e, e && boxlite_error_origin(e) == BOXLITE_ORIGIN_EXEC ? SRV_CTX_EXEC : SRV_CTX_START);
			goto done;
		}
		if (!(x = srv_exec_add(s, b, h, 1, 0, 0))) {
			boxlite_exec_free(h);
			srv_error(out, r, 500, "InternalError", "internal", "out of memory");
			goto done;
		}
	}
	upgrade_to(s, r, out, x, accept);
	if (out->status == 101) {
		snprintf(out->header_name, sizeof(out->header_name), "X-Boxlite-Execution-Id");
		snprintf(out->header_value, sizeof(out->header_value), "%s", x->id);
	}
	srv_exec_put(s, x);
done:
	srv_box_put(s, b);
}
