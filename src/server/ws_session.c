/* One attached WebSocket client of an execution (rest-api.md §6), on its own
 * thread. Server frames: binary [0x01 stdout | 0x02 stderr][bytes], text
 * {"type":"exit","exit_code":N} then Close 1000, text {"type":"error"}.
 * Client frames: binary stdin, text resize/signal/stdin_eof.
 *
 * Flow control end to end, so no byte is dropped and no buffer grows: the
 * command's output is read only as fast as the socket takes it (the exec
 * handle then holds the guest back), and the socket is read only while no
 * stdin is waiting for the command to take it. A client that takes nothing
 * for WRITE_TIMEOUT_MS is dropped; the execution goes on for the next. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "request.h"
#include "srv.h"
#include "ws.h"

#define CHUNK (64u << 10)
#define WRITE_TIMEOUT_MS 20000
#define PING_EVERY_NS (15ull * 1000000000ull)
#define DEAD_AFTER_NS (45ull * 1000000000ull)
#define RBUF_SIZE (WS_MAX_PAYLOAD + 14)

struct ws {
	struct srv *s;
	struct srv_exec *x;
	int sock;
	uint8_t *rbuf;           /* bytes from the client not yet parsed */
	size_t rlen;
	struct ws_message msg;   /* a fragmented message being put together */
	uint8_t *pin;            /* stdin waiting for the command */
	size_t pin_len, pin_off;
	int stdin_closed, eof_after_pin;
	uint64_t last_rx, last_ping;
};

/* Sends all of buf, waiting at most WRITE_TIMEOUT_MS for room each time. */
static int send_all(int sock, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(sock, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = { .fd = sock, .events = POLLOUT };
			if (poll(&pf, 1, WRITE_TIMEOUT_MS) <= 0 || (pf.revents & (POLLERR | POLLHUP)))
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

static int send_frame(struct ws *w, enum ws_opcode op, int channel, const void *data, size_t len)
{
	uint8_t hdr[WS_MAX_HEADER + 1];
	size_t h = ws_header(hdr, op, len + (channel ? 1 : 0), NULL);
	if (channel)
		hdr[h++] = (uint8_t)channel;
	return send_all(w->sock, hdr, h) < 0 || send_all(w->sock, data, len) < 0 ? -1 : 0;
}

static int send_json(struct ws *w, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc = text ? send_frame(w, WS_TEXT, 0, text, strlen(text)) : -1;
	free(text);
	json_decref(j);
	return rc;
}

static int send_error(struct ws *w, const char *msg)
{
	return send_json(w, json_pack("{s:s,s:s}", "type", "error", "message", msg));
}

static void send_close(struct ws *w, unsigned code)
{
	uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };
	send_frame(w, WS_CLOSE, 0, p, 2);
}

static void close_stdin(struct ws *w)
{
	if (!w->stdin_closed)
		boxlite_exec_close_stdin(w->x->h);
	w->stdin_closed = 1;
}

/* A whole message from the client. -1 ends the session. */
static int on_message(struct ws *w, enum ws_opcode op, uint8_t *data, size_t len)
{
	struct srv_control c;
	char err[256];
	int rc;

	if (op == WS_BINARY) {
		if (w->stdin_closed || !len)
			return 0;
		memcpy(w->pin, data, len);
		w->pin_len = len;
		w->pin_off = 0;
		return 0;
	}
	if (srv_parse_control((const char *)data, len, &c, err, sizeof(err)) != 0)
		return send_error(w, err);
	pthread_mutex_lock(&w->x->mu);
	switch (c.type) {
	case SRV_CTL_RESIZE:
		rc = boxlite_exec_resize(w->x->h, c.rows, c.cols);
		snprintf(err, sizeof(err), "%s", rc == -EINVAL ? "the execution has no terminal (tty)" : "the execution has ended");
		break;
	case SRV_CTL_SIGNAL:
		rc = boxlite_exec_signal(w->x->h, c.sig);
		snprintf(err, sizeof(err), "the execution has ended");
		break;
	default:
		rc = 0;
		if (w->pin_len)
			w->eof_after_pin = 1;
		else
			close_stdin(w);
	}
	pthread_mutex_unlock(&w->x->mu);
	return rc < 0 ? send_error(w, err) : 0;
}

/* Parses what rbuf holds. -1 ends the session (after a Close). */
static int on_input(struct ws *w)
{
	size_t off = 0;
	int rc = 0;

	while (!rc && !w->pin_len) {
		struct ws_frame f;
		long n = ws_parse(w->rbuf + off, w->rlen - off, WS_FROM_CLIENT, &f);
		if (n == 0)
			break;
		if (n < 0) {
			send_close(w, (unsigned)-n);
			return -1;
		}
		off += (size_t)n;
		switch (f.opcode) {
		case WS_CLOSE:
			send_close(w, WS_CLOSE_NORMAL);
			return -1;
		case WS_PING:
			rc = send_frame(w, WS_PONG, 0, f.payload, f.len);
			break;
		case WS_PONG:
			break;
		default: {
			int k = ws_message_add(&w->msg, &f);
			if (k < 0) {
				send_close(w, (unsigned)-k);
				return -1;
			}
			if (k)
				rc = on_message(w, w->msg.op, w->msg.buf, w->msg.len);
		}
		}
	}
	memmove(w->rbuf, w->rbuf + off, w->rlen - off);
	w->rlen -= off;
	return rc;
}

/* Reads one chunk of stream fd; 0 at its end or error, 1 otherwise. */
static int pump(struct ws *w, int fd, int channel, uint8_t *buf, int *failed)
{
	ssize_t n = recv(fd, buf, CHUNK, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0)
		return 0;
	pthread_mutex_lock(&w->s->mu);
	w->x->box->bytes_out += (uint64_t)n;
	pthread_mutex_unlock(&w->s->mu);
	if (send_frame(w, WS_BINARY, channel, buf, (size_t)n) < 0)
		*failed = 1;
	return 1;
}

/* After our Close: reads (and drops) what the client still sends until it
 * closes too, at most 2 s. Closing a socket with unread bytes makes TCP
 * reset the connection, and a reset can throw away the exit frame the
 * client has not read yet. */
static void linger(int sock)
{
	char buf[4096];
	uint64_t end = srv_now_ns() + 2000000000ull;

	shutdown(sock, SHUT_WR);
	for (;;) {
		struct pollfd pf = { .fd = sock, .events = POLLIN };
		uint64_t now = srv_now_ns();
		if (now >= end || poll(&pf, 1, (int)((end - now) / 1000000)) <= 0)
			return;
		if (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			return;
	}
}

/* Both streams ended: the exit frame, once the status is in. */
static void finish(struct ws *w)
{
	struct srv_exec *x = w->x;
	int code = -1, rc = -ETIMEDOUT;

	for (int i = 0; i < 300; i++) { /* 30 s: the status follows the streams' end */
		pthread_mutex_lock(&x->mu);
		if (srv_exec_poll_locked(x, 100)) {
			rc = x->wait_rc;
			code = x->st.signal ? -x->st.signal : x->st.exit_code; /* -N: signal N */
		}
		pthread_mutex_unlock(&x->mu);
		if (rc != -ETIMEDOUT)
			break;
	}
	if (rc != 0)
		send_error(w, rc == -ETIMEDOUT ? "no exit status from the box" : "the box stopped while the command ran");
	if (send_json(w, json_pack("{s:s,s:i}", "type", "exit", "exit_code", rc ? -1 : code)) == 0) {
		send_close(w, WS_CLOSE_NORMAL);
		linger(w->sock);
	}
}

void srv_ws_session(struct srv *s, struct srv_exec *x, int sock, const char *extra, size_t extra_len)
{
	struct ws w = { .s = s, .x = x, .sock = sock };
	/* A command that ended and was released has only its exit to tell. */
	int out_fd = boxlite_exec_stdout_fd(x->h), err_fd = boxlite_exec_stderr_fd(x->h);
	int in_fd = boxlite_exec_stdin_fd(x->h), out_open = x->h != NULL, err_open = x->h != NULL, failed = 0;
	uint8_t *chunk = malloc(CHUNK);

	w.rbuf = malloc(RBUF_SIZE);
	w.msg.buf = malloc(WS_MAX_PAYLOAD);
	w.pin = malloc(WS_MAX_PAYLOAD);
	w.last_rx = w.last_ping = srv_now_ns();
	if (!chunk || !w.rbuf || !w.msg.buf || !w.pin || extra_len > RBUF_SIZE)
		goto out;
	memcpy(w.rbuf, extra, extra_len);
	w.rlen = extra_len;
	if (w.rlen && on_input(&w) < 0)
		goto out;

	while (!failed && (out_open || err_open)) {
		struct pollfd pf[4] = {
			{ .fd = sock, .events = w.pin_len ? 0 : POLLIN },
			{ .fd = out_open ? out_fd : -1, .events = POLLIN },
			{ .fd = err_open ? err_fd : -1, .events = POLLIN },
			{ .fd = w.pin_len ? in_fd : -1, .events = POLLOUT },
		};
		uint64_t now;
		int n = poll(pf, 4, 1000);

		if (n < 0 && errno != EINTR)
			break;
		now = srv_now_ns();
		if (now - w.last_rx > DEAD_AFTER_NS)
			break; /* no frame, not even a pong, for 45 s */
		if (now - w.last_ping > PING_EVERY_NS) {
			w.last_ping = now;
			if (send_frame(&w, WS_PING, 0, "", 0) < 0)
				break;
		}
		if (n <= 0)
			continue;
		if (pf[1].revents && !pump(&w, out_fd, BOXLITE_STDOUT, chunk, &failed))
			out_open = 0;
		if (pf[2].revents && !pump(&w, err_fd, BOXLITE_STDERR, chunk, &failed))
			err_open = 0;
		if (pf[3].revents) {
			ssize_t k = send(in_fd, w.pin + w.pin_off, w.pin_len - w.pin_off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0)
				w.pin_off += (size_t)k;
			if (k < 0 && errno != EAGAIN && errno != EINTR)
				w.stdin_closed = 1, w.pin_off = w.pin_len; /* the command closed its stdin */
			if (w.pin_off == w.pin_len) {
				pthread_mutex_lock(&s->mu);
				x->box->bytes_in += w.pin_len;
				pthread_mutex_unlock(&s->mu);
				w.pin_len = w.pin_off = 0;
				if (w.eof_after_pin)
					close_stdin(&w);
				if (on_input(&w) < 0) /* frames that waited behind this stdin */
					goto out;
			}
		}
		if (pf[0].revents) {
			ssize_t k = recv(sock, w.rbuf + w.rlen, RBUF_SIZE - w.rlen, MSG_DONTWAIT);
			if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
				goto out; /* the client went away; the execution goes on */
			if (k > 0) {
				w.rlen += (size_t)k;
				w.last_rx = now;
				if (on_input(&w) < 0)
					goto out;
			}
		}
	}
	if (!failed && !out_open && !err_open)
		finish(&w);
out:
	free(chunk);
	free(w.rbuf);
	free(w.msg.buf);
	free(w.pin);
}
