/* Running commands in a box (see the "exec handles" section of boxlite.h).
 *
 * One connection to the shim per command, on channel 1. A handle owns one
 * pump thread that moves bytes between that connection and three local
 * socketpairs whose other ends the caller holds:
 *   - stdout/stderr: DATA from the guest is queued in a per-stream buffer of
 *     exactly one credit window (the guest never sends more than the credit
 *     we granted, so it cannot overflow; a peer that does is a protocol
 *     error) and written to the caller's socket as it drains; credit is
 *     granted back only for bytes the caller's socket accepted.
 *   - stdin: the caller's socket is read only while the guest's stdin
 *     credit is positive.
 * Sending is serialized by a mutex (the caller sends SIGNAL/RESIZE/CLOSE).
 *
 * An attach handle (boxlite_box_attach_start) is the same on an ATTACH
 * channel, except that the shim does not flow-control output toward it:
 * output buffers hold two windows, and the connection is read only while
 * each holds at most one (a read brings at most one framer's worth). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "cleanup.h"
#include "box_impl.h"
#include "exec_internal.h"
#include "remote.h"
#include "strv.h"

#define EXEC_CHAN 1
#define STDIO_CAP (64u * 1024u * 1024u)
#define WINDOW BXP_DEFAULT_WINDOW
#define IN_CHUNK (64u * 1024u)



/* ------------------------------------------------------------ requests */

static int send_exec(struct bx_conn *c, boxlite_box *box, const boxlite_exec_options *o,
		     const struct bx_exec_extra *x, struct bx_error *err)
{
	_cleanup_free_ uint8_t *buf = malloc(BXP_MAX_PAYLOAD);
	struct bxp_writer w;
	char **env;

	if (!buf)
		return bx_err(err, -ENOMEM, "out of memory");
	bxp_writer_init(&w, buf, BXP_MAX_PAYLOAD);
	if (x && x->copy_tag) {
		bxp_put_str(&w, x->copy_tag, x->copy_path);
		if (x->copy_single)
			bxp_put_u32(&w, BXT_COPY_SINGLE, 1);
		if (x->copy_flags)
			bxp_put_u32(&w, BXT_COPY_FLAGS, x->copy_flags);
	} else {
		env = bx_env_merge((const char *const *)box->env, o->env);
		if (!env)
			return bx_err(err, -ENOMEM, "out of memory");
		for (size_t i = 0; o->argv[i]; i++)
			bxp_put_str(&w, BXT_ARG, o->argv[i]);
		for (size_t i = 0; env[i]; i++)
			bxp_put_str(&w, BXT_ENV, env[i]);
		bx_strv_free(env);
		bxp_put_str(&w, BXT_CWD, o->workdir ? o->workdir : box->workdir ? box->workdir : "/");
		if (o->user || box->user)
			bxp_put_str(&w, BXT_USER, o->user ? o->user : box->user);
		if (o->tty) {
			bxp_put_u32(&w, BXT_TTY, 1);
			bxp_put_u32(&w, BXT_ROWS, o->tty_rows ? o->tty_rows : 24);
			bxp_put_u32(&w, BXT_COLS, o->tty_cols ? o->tty_cols : 80);
		}
		if (o->timeout_ms)
			bxp_put_u32(&w, BXT_TIMEOUT_MS, o->timeout_ms);
	}
	bxp_put_u32(&w, BXT_WINDOW, WINDOW);
	if (!bxp_writer_ok(&w))
		return bx_err(err, -E2BIG, "command line and environment exceed %u bytes",
			      BXP_MAX_PAYLOAD);
	return bx_conn_send(c, EXEC_CHAN, BXP_EXEC, 0, buf, w.len, err);
}

static int send_attach(struct bx_conn *c, int want_stdin, struct bx_error *err)
{
	uint8_t buf[16];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	if (want_stdin)
		bxp_put_u32(&w, BXT_ATTACH_STDIN, 1);
	return bx_conn_send(c, EXEC_CHAN, BXP_ATTACH, 0, buf, w.len, err);
}

void bx_exec_parse_exit(const uint8_t *p, size_t len, boxlite_exit_status *st)
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

static uint32_t field_u32(const uint8_t *p, size_t len, uint16_t tag, uint32_t dflt)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint32_t v;

	bxp_reader_init(&r, p, len);
	while (bxp_next(&r, &f) == 1)
		if (f.tag == tag && bxp_field_u32(&f, &v) == 0)
			return v;
	return dflt;
}

static int xsend(boxlite_exec *x, uint16_t type, uint8_t stream, const void *p, size_t n,
		 struct bx_error *err)
{
	int rc;

	pthread_mutex_lock(&x->send_mu);
	rc = bx_conn_send(x->c, EXEC_CHAN, type, stream, p, n, err);
	pthread_mutex_unlock(&x->send_mu);
	return rc;
}

static int send_u32s(boxlite_exec *x, uint16_t type, uint8_t stream, uint16_t t1, uint32_t v1,
		     uint16_t t2, uint32_t v2)
{
	uint8_t buf[32];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, t1, v1);
	if (t2)
		bxp_put_u32(&w, t2, v2);
	return xsend(x, type, stream, buf, w.len, NULL);
}

/* ---------------------------------------------------------- pump thread */

void bx_exec_end(boxlite_exec *x, int rc, const boxlite_exit_status *st, struct bx_error *err)
{
	pthread_mutex_lock(&x->mu);
	if (!x->ended) {
		x->ended = 1;
		x->rc = rc;
		if (st)
			x->st = *st;
		if (err && rc < 0)
			x->err = *err;
		pthread_cond_broadcast(&x->cv);
	}
	pthread_mutex_unlock(&x->mu);
}

void bx_exec_close_pump(boxlite_exec *x, int s)
{
	if (x->pump_fd[s] >= 0) {
		close(x->pump_fd[s]);
		x->pump_fd[s] = -1;
	}
}

/* Moves queued output into the caller's socket; grants credit back. */
static int flush_out(boxlite_exec *x, int s, struct bx_error *err)
{
	while (x->out_len[s]) {
		ssize_t n;

		if (x->out_gone[s]) {
			n = (ssize_t)x->out_len[s];
		} else {
			n = send(x->pump_fd[s], x->out_buf[s] + x->out_off[s], x->out_len[s],
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN)
					break;
				/* The caller closed its end: discard from now on. */
				x->out_gone[s] = 1;
				continue;
			}
		}
		x->out_off[s] += (size_t)n;
		x->out_len[s] -= (size_t)n;
		x->unacked[s] += (uint32_t)n;
	}
	if (!x->out_len[s])
		x->out_off[s] = 0;
	if (x->attach) {
		x->unacked[s] = 0; /* the shim grants the guest credit itself */
	} else if (x->unacked[s] >= WINDOW / 4 || (x->unacked[s] && !x->out_len[s] && x->unacked[s] >= 16384)) {
		uint8_t buf[16];
		struct bxp_writer w;

		if (!x->out_eof[s]) {
			bxp_writer_init(&w, buf, sizeof(buf));
			bxp_put_u32(&w, BXT_CREDIT, x->unacked[s]);
			if (xsend(x, BXP_WINDOW, (uint8_t)s, buf, w.len, err) < 0)
				return -1;
		}
		x->unacked[s] = 0;
	}
	if (x->out_eof[s] && !x->out_len[s])
		bx_exec_close_pump(x, s);
	return 0;
}

/* One frame from the shim. Returns 1 when the session is over. */
static int on_frame(boxlite_exec *x, const struct bxp_header *h, const uint8_t *p, struct bx_error *err)
{
	int s = h->stream;

	if (h->chan != EXEC_CHAN)
		return 0;
	switch (h->type) {
	case BXP_DATA:
		if (s != BXP_STDOUT && s != BXP_STDERR)
			return 0;
		/* Bytes already passed on were credited back: reclaim their room. */
		if (x->out_off[s] + x->out_len[s] + h->len > x->out_cap) {
			memmove(x->out_buf[s], x->out_buf[s] + x->out_off[s], x->out_len[s]);
			x->out_off[s] = 0;
		}
		if (x->out_eof[s] || x->out_off[s] + x->out_len[s] + h->len > x->out_cap) {
			bx_err(err, -EPROTO, "the box sent more output than it had credit for");
			return -1;
		}
		memcpy(x->out_buf[s] + x->out_off[s] + x->out_len[s], p, h->len);
		x->out_len[s] += h->len;
		return flush_out(x, s, err) < 0 ? -1 : 0;
	case BXP_EOF:
		if (s == BXP_STDOUT || s == BXP_STDERR) {
			x->out_eof[s] = 1;
			if (!x->out_len[s])
				bx_exec_close_pump(x, s);
		}
		return 0;
	case BXP_WINDOW:
		if (s == BXP_STDIN)
			x->in_credit += field_u32(p, h->len, BXT_CREDIT, 0);
		return 0;
	case BXP_EXIT: {
		boxlite_exit_status st;
		bx_exec_parse_exit(p, h->len, &st);
		x->box->timings.exec_exit = bx_now_ns();
		bx_exec_end(x, 0, &st, NULL);
		return 1;
	}
	case BXP_ERROR: {
		char msg[512];
		int e;
		bx_conn_parse_error(p, h->len, &e, msg, sizeof(msg));
		bx_err(err, -e, "%s", msg);
		return -1;
	}
	default:
		return 0;
	}
}

static int pump_stdin(boxlite_exec *x, struct bx_error *err)
{
	static __thread uint8_t buf[IN_CHUNK];
	size_t want = x->in_credit < IN_CHUNK ? x->in_credit : IN_CHUNK;
	ssize_t n = recv(x->pump_fd[0], buf, want, MSG_DONTWAIT);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		x->in_done = 1;
		bx_exec_close_pump(x, 0);
		return xsend(x, BXP_EOF, BXP_STDIN, NULL, 0, err);
	}
	x->in_credit -= (uint32_t)n;
	return xsend(x, BXP_DATA, BXP_STDIN, buf, (size_t)n, err);
}

static int quit_requested(boxlite_exec *x)
{
	int q;

	pthread_mutex_lock(&x->mu);
	q = x->quit;
	pthread_mutex_unlock(&x->mu);
	return q;
}

/* Handles every whole frame in the framer. -1 on error (err set). */
static int drain_frames(boxlite_exec *x, int *over, struct bx_error *err)
{
	struct bxp_header h;
	const uint8_t *p;
	int r;

	while (!*over && (r = bxp_framer_next(x->c->fr, &h, &p)) == 1) {
		r = on_frame(x, &h, p, err);
		if (r < 0)
			return -1;
		if (r == 1) {
			*over = 1;
			bx_exec_close_pump(x, 0);
		}
	}
	if (!*over && r < 0)
		return bx_err(err, r, "malformed frame from box %s (%s)", x->box->id, strerror(-r)), -1;
	return 0;
}

static void *pump_main(void *arg)
{
	boxlite_exec *x = arg;
	struct bx_error err = { 0 };
	int over = 0;

	/* Frames that arrived with EXEC_STARTED (a short command may have
	 * ended already) are in the framer, not on the socket. */
	if (drain_frames(x, &over, &err) < 0)
		goto fail;
	if (over)
		bx_exec_close_pump(x, 0);

	for (;;) {
		struct pollfd pfd[5];
		int n = 0, i_conn = -1, i_in = -1, i_out[3] = { -1, -1, -1 };
		int r;

		pfd[n++] = (struct pollfd){ .fd = x->wake[0], .events = POLLIN };
		if (!over && (!x->attach || (x->out_len[1] <= WINDOW && x->out_len[2] <= WINDOW))) {
			i_conn = n;
			pfd[n++] = (struct pollfd){ .fd = x->c->fd, .events = POLLIN };
			if (!x->in_done && x->in_credit > 0 && x->pump_fd[0] >= 0) {
				i_in = n;
				pfd[n++] = (struct pollfd){ .fd = x->pump_fd[0], .events = POLLIN };
			}
		}
		for (int s = 1; s <= 2; s++) {
			if (x->out_len[s] && x->pump_fd[s] >= 0) {
				i_out[s] = n;
				pfd[n++] = (struct pollfd){ .fd = x->pump_fd[s], .events = POLLOUT };
			}
		}
		if (over && i_out[1] < 0 && i_out[2] < 0)
			break; /* all output handed over */
		r = poll(pfd, (nfds_t)n, -1);
		if (r < 0 && errno != EINTR) {
			bx_err_sys(&err, -errno, "poll");
			goto fail;
		}
		if (r <= 0)
			continue;
		if ((pfd[0].revents & POLLIN) && quit_requested(x))
			break;
		for (int s = 1; s <= 2; s++)
			if (i_out[s] >= 0 && pfd[i_out[s]].revents && flush_out(x, s, &err) < 0)
				goto fail;
		if (i_in >= 0 && pfd[i_in].revents && pump_stdin(x, &err) < 0)
			goto fail;
		if (i_conn >= 0 && pfd[i_conn].revents) {
			size_t avail;
			uint8_t *space = bxp_framer_space(x->c->fr, &avail);
			ssize_t got = read(x->c->fd, space, avail);

			if (got == 0 || (got < 0 && errno == ECONNRESET)) {
				bx_err(&err, -EIO, "box %s stopped while the command ran", x->box->id);
				goto fail;
			}
			if (got < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				bx_err_sys(&err, -errno, "reading from box %s", x->box->id);
				goto fail;
			}
			bxp_framer_commit(x->c->fr, (size_t)got);
			if (drain_frames(x, &over, &err) < 0)
				goto fail;
		}
	}
	goto done;
fail:
	bx_exec_end(x, err.code ? err.code : -EIO, NULL, &err);
done:
	/* Whatever the outcome, the caller's fds reach end of file now. */
	for (int s = 0; s < 3; s++)
		bx_exec_close_pump(x, s);
	bx_exec_end(x, -EIO, NULL, NULL);
	return NULL;
}

/* ------------------------------------------------------------- the API */

static void exec_destroy(boxlite_exec *x)
{
	if (!x)
		return;
	if (x->thread_started) {
		pthread_mutex_lock(&x->mu);
		x->quit = 1;
		pthread_mutex_unlock(&x->mu);
		(void)!write(x->wake[1], "q", 1);
		pthread_join(x->thread, NULL);
	}
	bx_remote_exec_free(x);
	bx_conn_close(x->c);
	for (int s = 0; s < 3; s++) {
		if (x->user_fd[s] >= 0)
			close(x->user_fd[s]);
		if (x->pump_fd[s] >= 0)
			close(x->pump_fd[s]);
		free(x->out_buf[s]);
	}
	for (int i = 0; i < 2; i++)
		if (x->wake[i] >= 0)
			close(x->wake[i]);
	pthread_mutex_destroy(&x->mu);
	pthread_mutex_destroy(&x->send_mu);
	pthread_cond_destroy(&x->cv);
	free(x);
}

boxlite_exec *bx_exec_alloc(boxlite_box *box, int tty, size_t out_cap, struct bx_error *err)
{
	boxlite_exec *x = calloc(1, sizeof(*x));
	int sp[2];

	if (!x) {
		bx_err(err, -ENOMEM, "out of memory");
		return NULL;
	}
	x->box = box;
	x->tty = tty;
	x->out_cap = out_cap;
	x->wake[0] = x->wake[1] = -1;
	for (int s = 0; s < 3; s++)
		x->user_fd[s] = x->pump_fd[s] = -1;
	pthread_mutex_init(&x->mu, NULL);
	pthread_mutex_init(&x->send_mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	if (pipe2(x->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		bx_err_sys(err, -errno, "pipe");
		goto fail;
	}
	for (int s = 0; s < 3; s++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
			bx_err_sys(err, -errno, "socketpair");
			goto fail;
		}
		x->user_fd[s] = sp[0];
		x->pump_fd[s] = sp[1];
		/* One direction each: half-close the other so EOF is clean. */
		shutdown(sp[0], s == 0 ? SHUT_RD : SHUT_WR);
		shutdown(sp[1], s == 0 ? SHUT_WR : SHUT_RD);
		if (s && out_cap && !(x->out_buf[s] = malloc(out_cap))) {
			bx_err(err, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	return x;
fail:
	exec_destroy(x);
	return NULL;
}

void bx_exec_free_handle(boxlite_exec *x)
{
	exec_destroy(x);
}

static void opts_copy(boxlite_exec_options *dst, const boxlite_exec_options *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src)
		memcpy(dst, src, src->struct_size && src->struct_size < sizeof(*dst) ? src->struct_size
										 : sizeof(*dst));
	dst->struct_size = sizeof(*dst);
}

int bx_exec_start(boxlite_box *box, const boxlite_exec_options *opts, const struct bx_exec_extra *extra,
		  boxlite_exec **out, enum boxlite_error_origin *origin, struct bx_error *err)
{
	boxlite_exec_options o;
	boxlite_exec *x;
	int rc, x_attach, x_tty;

	*origin = BOXLITE_ORIGIN_RUNTIME;
	if (!box)
		return bx_err(err, -EINVAL, "no box given");
	if (box->remote)
		return bx_remote_exec_start(box, opts, extra && extra->attach ? 1 | (extra->attach_stdin ? 2 : 0) : 0, out,
					    origin, err);
	opts_copy(&o, opts);
	if (!extra) {
		if (!opts)
			return bx_err(err, -EINVAL, "no exec options given");
		if (!o.argv) {
			/* The box's main command. */
			o.argv = (const char *const *)box->main_argv;
			if (!o.argv || !o.argv[0])
				return bx_err(err, -EINVAL, "no command given and the image defines none");
		}
		if (!o.argv[0] || !o.argv[0][0])
			return bx_err(err, -EINVAL, "no command given");
	}
	if (!(extra && extra->attach) && (rc = bx_box_wake(box, extra ? "copy files to or from" : "exec in", err)) < 0)
		return rc;
	if (box->shim_pid <= 0 && !box->detach)
		return bx_err(err, -ENOTCONN, "box %s is not running", box->id);
	x_attach = extra && extra->attach;
	x_tty = x_attach ? box->tty : !extra && o.tty;

	if (!(x = bx_exec_alloc(box, x_tty, x_attach ? 2 * WINDOW : WINDOW, err)))
		return err->code;
	x->attach = x_attach;
	if ((rc = bx_conn_open(box, 5000, &x->c, err)) < 0)
		goto fail;
	box->timings.exec_start = bx_now_ns();
	box->timings.exec_started = box->timings.exec_exit = 0;
	if (x->attach)
		rc = send_attach(x->c, extra->attach_stdin, err);
	else
		rc = send_exec(x->c, box, &o, extra, err);
	if (rc < 0)
		goto fail;
	for (;;) {
		struct bxp_header h;
		const uint8_t *p;

		rc = bx_conn_recv(x->c, -1, &h, &p, err);
		if (rc == -ECONNRESET) {
			bx_err_clear(err);
			rc = bx_err(err, -EIO, "box %s stopped while starting a command", box->id);
		}
		if (rc < 0)
			goto fail;
		if (h.chan != EXEC_CHAN)
			continue;
		if (h.type == BXP_EXEC_STARTED) {
			x->in_credit = field_u32(p, h.len, BXT_WINDOW, 0);
			if (x->attach && !extra->attach_stdin) {
				x->in_credit = 0;
				x->in_done = 1;
			}
			box->timings.exec_started = bx_now_ns();
			break;
		}
		if (h.type == BXP_EXIT && x->attach) {
			/* The main command had already ended: a finished handle. */
			boxlite_exit_status st;
			bx_exec_parse_exit(p, h.len, &st);
			bx_exec_end(x, 0, &st, NULL);
			for (int s = 0; s < 3; s++)
				bx_exec_close_pump(x, s);
			*out = x;
			return 0;
		}
		if (h.type == BXP_ERROR) {
			char msg[512];
			int e;
			bx_conn_parse_error(p, h.len, &e, msg, sizeof(msg));
			/* For an attach, only a start failure is the command's. */
			if (!x->attach || (e != EIO && e != EBUSY && e != EPIPE && e != ESHUTDOWN))
				*origin = BOXLITE_ORIGIN_EXEC;
			rc = bx_err(err, -e, "%s", msg);
			goto fail;
		}
	}
	if ((rc = bx_exec_start_pump(x, pump_main, err)) < 0)
		goto fail;
	*out = x;
	return 0;
fail:
	exec_destroy(x);
	return rc;
}

int bx_exec_start_pump(boxlite_exec *x, void *(*pump)(void *), struct bx_error *err)
{
	int rc = pthread_create(&x->thread, NULL, pump, x);

	if (rc != 0)
		return bx_err(err, -rc, "cannot start the exec thread: %s", strerror(rc));
	x->thread_started = 1;
	return 0;
}

BX_EXPORT int boxlite_exec_start(boxlite_box *box, const boxlite_exec_options *opts, boxlite_exec **out,
				 boxlite_error **errp)
{
	struct bx_error err = { 0 };
	enum boxlite_error_origin origin;
	int rc = bx_exec_start(box, opts, NULL, out, &origin, &err);

	return rc < 0 ? bx_error_export(rc, &err, origin, errp) : 0;
}

BX_EXPORT int boxlite_exec_stdout_fd(const boxlite_exec *x) { return x ? x->user_fd[1] : -1; }
BX_EXPORT int boxlite_exec_stderr_fd(const boxlite_exec *x) { return x ? x->user_fd[2] : -1; }
BX_EXPORT int boxlite_exec_stdin_fd(const boxlite_exec *x) { return x ? x->user_fd[0] : -1; }

int bx_exec_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };
				poll(&p, 1, -1);
				continue;
			}
			return errno == ECONNRESET || errno == ENOTCONN ? -EPIPE : -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

BX_EXPORT int boxlite_exec_write_stdin(boxlite_exec *x, const void *buf, size_t len, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	int rc;

	if (!x)
		return -EINVAL;
	rc = bx_exec_write_all(x->user_fd[0], buf, len);
	if (rc == -EPIPE)
		bx_err(&err, rc, "the command's stdin is closed (it ended or stopped reading)");
	else if (rc < 0)
		bx_err(&err, rc, "writing to the command's stdin: %s", strerror(-rc));
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_exec_close_stdin(boxlite_exec *x)
{
	if (!x)
		return -EINVAL;
	shutdown(x->user_fd[0], SHUT_WR);
	return 0;
}

BX_EXPORT int boxlite_exec_wait(boxlite_exec *x, int timeout_ms, boxlite_exit_status *status,
				boxlite_error **errp)
{
	struct bx_error err = { 0 };
	struct timespec dl;
	int rc = 0;

	if (!x)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &dl);
	if (timeout_ms > 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&x->mu);
	while (!x->ended && rc == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&x->cv, &x->mu);
		else if (timeout_ms == 0 || pthread_cond_timedwait(&x->cv, &x->mu, &dl) == ETIMEDOUT)
			rc = -ETIMEDOUT;
	}
	if (rc == 0) {
		rc = x->rc;
		if (rc < 0)
			err = x->err.code ? x->err : (struct bx_error){ 0 };
		else if (status)
			*status = x->st;
	}
	pthread_mutex_unlock(&x->mu);
	if (rc == -ETIMEDOUT)
		bx_err(&err, rc, "the command is still running");
	else if (rc < 0 && !err.code)
		bx_err(&err, rc, "the connection to box %s broke", boxlite_box_id(x->box));
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

static int exec_ended(boxlite_exec *x)
{
	int e;

	pthread_mutex_lock(&x->mu);
	e = x->ended;
	pthread_mutex_unlock(&x->mu);
	return e;
}

BX_EXPORT int boxlite_exec_signal(boxlite_exec *x, int sig)
{
	if (!x || sig <= 0 || sig >= 65)
		return -EINVAL;
	if (exec_ended(x))
		return -ESRCH;
	if (x->remote)
		return bx_remote_exec_signal(x, sig);
	return send_u32s(x, BXP_SIGNAL, 0, BXT_SIGNAL, (uint32_t)sig, 0, 0) < 0 ? -ESRCH : 0;
}

BX_EXPORT int boxlite_exec_resize(boxlite_exec *x, uint16_t rows, uint16_t cols)
{
	if (!x || !rows || !cols || (!x->tty && !x->remote))
		return -EINVAL;
	if (exec_ended(x))
		return -ESRCH;
	if (x->remote)
		return bx_remote_exec_resize(x, rows, cols);
	return send_u32s(x, BXP_RESIZE, 0, BXT_ROWS, rows, BXT_COLS, cols) < 0 ? -ESRCH : 0;
}

BX_EXPORT void boxlite_exec_free(boxlite_exec *x)
{
	exec_destroy(x);
}

/* ------------------------------------------- callback and capture calls */

/* Reads both output fds to end of file, handing data to output. */
void bx_exec_drain(boxlite_exec *x, boxlite_output_fn output, void *ud)
{
	static __thread uint8_t buf[65536];
	int open_[3] = { 0, 1, 1 };

	while (open_[1] || open_[2]) {
		struct pollfd p[2] = { { .fd = open_[1] ? x->user_fd[1] : -1, .events = POLLIN },
				       { .fd = open_[2] ? x->user_fd[2] : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		for (int s = 1; s <= 2; s++) {
			ssize_t n;
			if (!open_[s] || !p[s - 1].revents)
				continue;
			n = read(x->user_fd[s], buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				open_[s] = 0;
			else if (output)
				output(ud, (enum boxlite_stream)s, buf, (size_t)n);
		}
	}
}

BX_EXPORT int boxlite_box_exec(boxlite_box *box, const boxlite_exec_options *opts,
			       boxlite_output_fn output, void *user_data, boxlite_exit_status *status,
			       boxlite_error **errp)
{
	boxlite_exec *x;
	int rc = boxlite_exec_start(box, opts, &x, errp);

	if (rc < 0)
		return rc;
	boxlite_exec_close_stdin(x);
	bx_exec_drain(x, output, user_data);
	rc = boxlite_exec_wait(x, -1, status, errp);
	boxlite_exec_free(x);
	return rc;
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
