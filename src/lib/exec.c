/* Running a command in a box: one connection, one channel, streamed output
 * with credit-based flow control (we grant the agent a window per stream and
 * top it up as the caller's callback consumes the bytes). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "cleanup.h"
#include "strv.h"

#define EXEC_CHAN 1
#define STDIO_CAP (64u * 1024u * 1024u)

static int send_exec(struct bx_conn *c, boxlite_box *box, const boxlite_exec_options *o,
		     struct bx_error *err)
{
	_cleanup_free_ uint8_t *buf = malloc(BXP_MAX_PAYLOAD);
	struct bxp_writer w;
	char **env;

	if (!buf)
		return bx_err(err, -ENOMEM, "out of memory");
	env = bx_env_merge((const char *const *)box->env, o->env);
	if (!env)
		return bx_err(err, -ENOMEM, "out of memory");
	bxp_writer_init(&w, buf, BXP_MAX_PAYLOAD);
	for (size_t i = 0; o->argv[i]; i++)
		bxp_put_str(&w, BXT_ARG, o->argv[i]);
	for (size_t i = 0; env[i]; i++)
		bxp_put_str(&w, BXT_ENV, env[i]);
	bx_strv_free(env);
	bxp_put_str(&w, BXT_CWD, o->workdir ? o->workdir : box->workdir ? box->workdir : "/");
	if (o->user || box->user)
		bxp_put_str(&w, BXT_USER, o->user ? o->user : box->user);
	bxp_put_u32(&w, BXT_WINDOW, BXP_DEFAULT_WINDOW);
	if (o->timeout_ms)
		bxp_put_u32(&w, BXT_TIMEOUT_MS, o->timeout_ms);
	if (!bxp_writer_ok(&w))
		return bx_err(err, -E2BIG, "command line and environment exceed %u bytes",
			      BXP_MAX_PAYLOAD);
	return bx_conn_send(c, EXEC_CHAN, BXP_EXEC, 0, buf, w.len, err);
}

static void parse_exit(const uint8_t *p, size_t len, boxlite_exit_status *st)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint32_t v;

	st->exit_code = -1;
	st->signal = 0;
	bxp_reader_init(&r, p, len);
	while (bxp_next(&r, &f) == 1) {
		if (bxp_field_u32(&f, &v) < 0)
			continue;
		if (f.tag == BXT_EXIT_CODE)
			st->exit_code = (int32_t)v;
		else if (f.tag == BXT_SIGNAL)
			st->signal = (int32_t)v;
	}
}

static int grant(struct bx_conn *c, uint8_t stream, uint32_t n, struct bx_error *err)
{
	uint8_t buf[16];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_CREDIT, n);
	return bx_conn_send(c, EXEC_CHAN, BXP_WINDOW, stream, buf, w.len, err);
}

static int exec_run(boxlite_box *box, const boxlite_exec_options *o, boxlite_output_fn output,
		    void *ud, boxlite_exit_status *st, enum boxlite_error_origin *origin,
		    struct bx_error *err)
{
	struct bx_conn *c = NULL;
	uint32_t unacked[BXP_STREAM_MAX] = { 0 };
	int started = 0, rc;

	if (!o)
		return bx_err(err, -EINVAL, "no exec options given");
	if (!o->argv) {
		/* The box's main command. */
		boxlite_exec_options main = *o;
		main.argv = (const char *const *)box->main_argv;
		if (!main.argv[0])
			return bx_err(err, -EINVAL, "no command given and the image defines none");
		return exec_run(box, &main, output, ud, st, origin, err);
	}
	if (!o->argv[0] || !o->argv[0][0])
		return bx_err(err, -EINVAL, "no command given");
	if (box->shim_pid <= 0 && !box->detach)
		return bx_err(err, -ENOTCONN, "box %s is not running", box->id);
	rc = bx_conn_open(box, 5000, &c, err);
	if (rc < 0)
		return rc;
	box->timings.exec_start = bx_now_ns();
	box->timings.exec_started = box->timings.exec_exit = 0;
	if ((rc = send_exec(c, box, o, err)) < 0)
		goto out;
	for (;;) {
		struct bxp_header h;
		const uint8_t *p;

		rc = bx_conn_recv(c, -1, &h, &p, err);
		if (rc == -ECONNRESET) {
			bx_err_clear(err);
			rc = bx_err(err, -EIO, "box %s stopped while running %s", box->id, o->argv[0]);
		}
		if (rc < 0)
			goto out;
		if (h.chan != EXEC_CHAN)
			continue;
		switch (h.type) {
		case BXP_EXEC_STARTED:
			started = 1;
			box->timings.exec_started = bx_now_ns();
			/* Empty stdin for now: close it at once. */
			if ((rc = bx_conn_send(c, EXEC_CHAN, BXP_EOF, BXP_STDIN, NULL, 0, err)) < 0)
				goto out;
			break;
		case BXP_DATA:
			if (h.stream != BXP_STDOUT && h.stream != BXP_STDERR)
				break;
			if (output && h.len)
				output(ud, (enum boxlite_stream)h.stream, p, h.len);
			unacked[h.stream] += h.len;
			if (unacked[h.stream] >= BXP_DEFAULT_WINDOW / 2) {
				if ((rc = grant(c, h.stream, unacked[h.stream], err)) < 0)
					goto out;
				unacked[h.stream] = 0;
			}
			break;
		case BXP_EXIT:
			parse_exit(p, h.len, st);
			box->timings.exec_exit = bx_now_ns();
			rc = 0;
			goto out;
		case BXP_ERROR: {
			char msg[512];
			int e;
			bx_conn_parse_error(p, h.len, &e, msg, sizeof(msg));
			if (!started)
				*origin = BOXLITE_ORIGIN_EXEC;
			rc = bx_err(err, -e, "%s", msg);
			goto out;
		}
		default:
			break;
		}
	}
out:
	bx_conn_close(c);
	return rc;
}

BX_EXPORT int boxlite_box_exec(boxlite_box *box, const boxlite_exec_options *opts,
			       boxlite_output_fn output, void *user_data, boxlite_exit_status *status,
			       boxlite_error **errp)
{
	struct bx_error err = { 0 };
	enum boxlite_error_origin origin = BOXLITE_ORIGIN_RUNTIME;
	boxlite_exit_status st = { -1, 0 };
	int rc = exec_run(box, opts, output, user_data, &st, &origin, &err);

	if (rc < 0)
		return bx_error_export(rc, &err, origin, errp);
	if (status)
		*status = st;
	return 0;
}

struct capture {
	char *buf[3];
	size_t len[3], cap[3];
};

static void capture_output(void *ud, enum boxlite_stream s, const void *data, size_t n)
{
	struct capture *cap = ud;

	if (cap->len[s] + n > STDIO_CAP)
		n = STDIO_CAP - cap->len[s];
	if (!n)
		return;
	if (cap->len[s] + n + 1 > cap->cap[s]) {
		size_t nc = (cap->len[s] + n + 1) * 2;
		char *nb = realloc(cap->buf[s], nc);
		if (!nb)
			return;
		cap->buf[s] = nb;
		cap->cap[s] = nc;
	}
	memcpy(cap->buf[s] + cap->len[s], data, n);
	cap->len[s] += n;
	cap->buf[s][cap->len[s]] = '\0';
}

BX_EXPORT int boxlite_box_run(boxlite_box *box, const char *const *argv, boxlite_exit_status *status,
			      char **stdout_text, char **stderr_text, boxlite_error **errp)
{
	boxlite_exec_options o = { .struct_size = sizeof(o), .argv = argv };
	struct capture cap = { 0 };
	int rc = boxlite_box_exec(box, &o, capture_output, &cap, status, errp);

	for (int s = BOXLITE_STDOUT; s <= BOXLITE_STDERR; s++) {
		char **out = s == BOXLITE_STDOUT ? stdout_text : stderr_text;
		if (rc == 0 && out) {
			*out = cap.buf[s] ? cap.buf[s] : strdup("");
			cap.buf[s] = NULL;
		}
		free(cap.buf[s]);
	}
	return rc;
}
