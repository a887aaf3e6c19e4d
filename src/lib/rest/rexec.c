/* Executions of a remote runtime: POST /exec, then a WebSocket attach
 * pumped by the exec handle's thread between the server's frames and the
 * handle's three sockets, so callers see the same fds, wait, signal and
 * resize as for a local command. Flow control holds end to end: output is
 * written to the caller's socket before the next frame is read, so a caller
 * that stops reading stalls the server's reader and, through it, the
 * command. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec_internal.h"
#include "remote.h"
#include "rest.h"
#include "strv.h"

struct bx_rexec {
	struct bx_rest *rest;
	char box_id[160];
	char eid[96];
	struct bx_ws *ws;
	int no_stdin;
};

/* Writes all of buf to the caller's socket s, giving up when told to quit.
 * 0, or -1 when the caller closed its end or the handle is being freed. */
static int deliver(boxlite_exec *x, int s, const uint8_t *buf, size_t len)
{
	while (len) {
		struct pollfd p[2] = { { .fd = x->pump_fd[s], .events = POLLOUT }, { .fd = x->wake[0], .events = POLLIN } };
		ssize_t n = send(x->pump_fd[s], buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1; /* the caller closed it: drop this stream */
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (p[1].revents)
			return -1;
	}
	return 0;
}

/* A text frame from the server: exit or error. 1 on exit. */
static int control(const uint8_t *data, size_t len, boxlite_exit_status *st, struct bx_error *err)
{
	json_t *j = json_loadb((const char *)data, len, 0, NULL);
	const char *type = json_string_value(json_object_get(j, "type"));
	int done = 0;

	if (type && !strcmp(type, "exit")) {
		int code = (int)json_integer_value(json_object_get(j, "exit_code"));
		/* The API reports a death by signal N as -N. */
		st->exit_code = code < 0 ? -1 : code;
		st->signal = code < 0 ? -code : 0;
		done = 1;
	} else if (type && !strcmp(type, "error") && !err->code) {
		bx_err(err, -EIO, "%s", json_string_value(json_object_get(j, "message")) ?: "the server reported an error");
	}
	json_decref(j);
	return done;
}

static void *pump_main(void *arg)
{
	boxlite_exec *x = arg;
	struct bx_rexec *rx = x->remote;
	struct bx_error err = { 0 };
	boxlite_exit_status st = { .exit_code = -1 };
	static __thread uint8_t buf[65536];
	int in_done = rx->no_stdin, gone[3] = { 0 }, exited = 0, broken = 0;

	while (!exited && !broken) {
		struct pollfd p[3] = {
			{ .fd = bx_ws_fd(rx->ws), .events = POLLIN },
			{ .fd = in_done ? -1 : x->pump_fd[0], .events = POLLIN },
			{ .fd = x->wake[0], .events = POLLIN },
		};
		enum ws_opcode op;
		uint8_t *data;
		size_t len;
		int n;

		/* What has come (TLS may hold bytes the socket does not show). */
		while (!exited && (n = bx_ws_recv(rx->ws, 0, &op, &data, &len)) != 0) {
			if (n < 0) {
				broken = 1;
				break;
			}
			if (op == WS_BINARY && len >= 1 && (data[0] == 1 || data[0] == 2)) {
				int s = data[0];
				if (!gone[s] && deliver(x, s, data + 1, len - 1) < 0) {
					gone[s] = 1;
					if (x->quit)
						goto out;
				}
			} else if (op == WS_TEXT) {
				exited = control(data, len, &st, &err);
			}
		}
		if (exited || broken)
			break;
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			goto out; /* the handle is being freed */
		if (p[1].revents) {
			ssize_t k = read(x->pump_fd[0], buf, sizeof(buf));
			if (k > 0) {
				if (bx_ws_send(rx->ws, WS_BINARY, buf, (size_t)k) < 0)
					broken = 1;
			} else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
				static const char eof[] = "{\"type\":\"stdin_eof\"}";
				in_done = 1;
				bx_ws_send(rx->ws, WS_TEXT, eof, sizeof(eof) - 1);
			}
		}
	}
out:
	for (int s = 1; s <= 2; s++)
		bx_exec_close_pump(x, s);
	if (exited)
		bx_exec_end(x, 0, &st, NULL);
	else {
		if (!err.code)
			bx_err(&err, -EIO, "the connection to the server (%s) broke while the command ran",
			       bx_rest_url(rx->rest));
		bx_exec_end(x, err.code, NULL, &err);
	}
	return NULL;
}

int bx_remote_exec_start(boxlite_box *box, const boxlite_exec_options *o, int attach, boxlite_exec **out,
			 enum boxlite_error_origin *origin, struct bx_error *err)
{
	struct bx_rest *rest = box->rt->remote;
	struct bx_rexec *rx = calloc(1, sizeof(*rx));
	boxlite_exec *x = NULL;
	json_t *resp = NULL;
	char *path = NULL;
	long status = 0;
	int rc, tty = !attach && o && o->struct_size >= offsetof(boxlite_exec_options, tty) + sizeof(o->tty) && o->tty;

	*origin = BOXLITE_ORIGIN_RUNTIME;
	*out = NULL;
	if (!rx)
		return bx_err(err, -ENOMEM, "out of memory");
	rx->rest = rest;
	snprintf(rx->box_id, sizeof(rx->box_id), "%s", bx_remote_box_id(box));
	if (!attach) {
		json_t *req;
		if (!o || !o->argv || !o->argv[0] || !o->argv[0][0]) {
			free(rx);
			return bx_err(err, -EINVAL, "no command given (a remote box's main command is reached by attach)");
		}
		req = json_pack("{s:s,s:o,s:o,s:b}", "command", o->argv[0], "args", bx_strv_json(o->argv + 1), "env",
				bx_env_json(o->env), "tty", tty);
		if (o->workdir)
			json_object_set_new(req, "working_dir", json_string(o->workdir));
		if (o->user)
			json_object_set_new(req, "user", json_string(o->user));
		if (o->timeout_ms)
			json_object_set_new(req, "timeout_seconds", json_real(o->timeout_ms / 1000.0));
		if (asprintf(&path, "/boxes/%s/exec", rx->box_id) < 0)
			path = NULL;
		rc = path ? bx_rest_json(rest, "POST", path, req, &resp, &status, err) : bx_err(err, -ENOMEM, "out of memory");
		json_decref(req);
		free(path);
		path = NULL;
		if (rc < 0) {
			if (status == 422) /* execution_failed: the command's, as locally */
				*origin = BOXLITE_ORIGIN_EXEC;
			free(rx);
			return rc;
		}
		snprintf(rx->eid, sizeof(rx->eid), "%s", json_string_value(json_object_get(resp, "execution_id")) ?: "");
		json_decref(resp);
		if (asprintf(&path, "/boxes/%s/executions/%s/attach", rx->box_id, rx->eid) < 0)
			path = NULL;
	} else {
		rx->no_stdin = !(attach & 2);
		if (asprintf(&path, "/boxes/%s/attach", rx->box_id) < 0)
			path = NULL;
	}
	if (!path) {
		free(rx);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	if (!(x = bx_exec_alloc(box, tty, 0, err))) {
		free(path);
		free(rx);
		return err->code;
	}
	x->remote = rx;
	rc = bx_ws_open(rest, path, attach ? "X-Boxlite-Execution-Id" : NULL, attach ? rx->eid : NULL,
			attach ? sizeof(rx->eid) : 0, &rx->ws, &status, err);
	free(path);
	if (rc < 0) {
		if (status == 422) /* the main command could not start */
			*origin = BOXLITE_ORIGIN_EXEC;
		goto fail;
	}
	if ((rc = bx_exec_start_pump(x, pump_main, err)) < 0)
		goto fail;
	*out = x;
	return 0;
fail:
	bx_exec_free_handle(x);
	return rc;
}

static int post(boxlite_exec *x, const char *what, json_t *body)
{
	struct bx_rexec *rx = x->remote;
	char *path = NULL;
	int rc;

	if (asprintf(&path, "/boxes/%s/executions/%s%s", rx->box_id, rx->eid, what) < 0) {
		json_decref(body);
		return -ENOMEM;
	}
	rc = bx_rest_json(rx->rest, *what ? "POST" : "DELETE", path, body, NULL, NULL, NULL);
	json_decref(body);
	free(path);
	return rc;
}

int bx_remote_exec_signal(boxlite_exec *x, int sig)
{
	/* SIGKILL is the API's DELETE; the others go by number. */
	int rc = sig == 9 ? post(x, "", NULL) : post(x, "/signal", json_pack("{s:i}", "signal", sig));
	return rc == -ENOTCONN || rc == -ENOENT ? -ESRCH : rc;
}

int bx_remote_exec_resize(boxlite_exec *x, uint16_t rows, uint16_t cols)
{
	int rc = post(x, "/resize", json_pack("{s:i,s:i}", "cols", cols, "rows", rows));
	return rc == -EBUSY ? -EINVAL : rc == -ENOTCONN || rc == -ENOENT ? -ESRCH : rc;
}

void bx_remote_exec_free(boxlite_exec *x)
{
	struct bx_rexec *rx = x->remote;
	if (!rx)
		return;
	bx_ws_close(rx->ws);
	free(rx);
	x->remote = NULL;
}
