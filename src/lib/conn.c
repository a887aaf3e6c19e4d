#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

/* The shim itself was killed by the jail's seccomp filter: it could not say
 * so, so its log says it for it (the box's error quotes the log's tail). */
static void note_shim_sigsys(const boxlite_box *box)
{
	char path[PATH_MAX + 16];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "%s/shim.stderr", box->dir);
	f = fopen(path, "ae");
	if (f)
		fprintf(f, "error: boxlite-shim was killed by the seccomp filter (a syscall outside the "
			   "jail's allow-list); run with --security development to confirm, and report it\n");
}

int bx_box_shim_alive(boxlite_box *box)
{
	int status;
	pid_t r;

	if (box->shim_pid <= 0)
		return 0;
	r = waitpid(box->shim_pid, &status, WNOHANG);
	if (r == box->shim_pid || (r < 0 && errno == ECHILD && kill(box->shim_pid, 0) < 0)) {
		if (r == box->shim_pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
			note_shim_sigsys(box);
		box->shim_pid = 0;
		return 0;
	}
	return 1;
}

void bx_box_log_tail(const boxlite_box *box, char *out, size_t cap)
{
	char path[PATH_MAX + 16], line[1024];
	_cleanup_fclose_ FILE *f = NULL;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/shim.stderr", box->dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			snprintf(out, cap, "%s", line);
	}
}

void bx_conn_parse_error(const uint8_t *payload, size_t len, int *errnum, char *msg, size_t cap)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint32_t v;

	*errnum = EIO;
	snprintf(msg, cap, "unknown error");
	bxp_reader_init(&r, payload, len);
	while (bxp_next(&r, &f) == 1) {
		if (f.tag == BXT_ERRNO && bxp_field_u32(&f, &v) == 0 && v > 0 && v < 4096)
			*errnum = (int)v;
		else if (f.tag == BXT_MESSAGE && bxp_field_str(&f, msg, cap) == -ENAMETOOLONG) {
			memcpy(msg, f.value, cap - 1);
			msg[cap - 1] = '\0';
		}
	}
}

int bx_conn_request(struct bx_conn *c, uint16_t type, const void *p, size_t n, int timeout_ms,
		    const char *what, struct bx_error *err)
{
	int rc = bx_conn_send(c, 0, type, 0, p, n, err);

	while (rc == 0) {
		struct bxp_header h;
		const uint8_t *reply;

		if ((rc = bx_conn_recv(c, timeout_ms, &h, &reply, err)) < 0)
			break;
		if (h.chan != 0)
			continue;
		if (h.type == type)
			return 0;
		if (h.type == BXP_ERROR) {
			char msg[512];
			int e;

			bx_conn_parse_error(reply, h.len, &e, msg, sizeof(msg));
			return bx_err(err, -e, "%s: %s", what, msg);
		}
	}
	return rc;
}

static void record_hello(boxlite_box *box, const uint8_t *payload, size_t len)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint64_t v;

	bxp_reader_init(&r, payload, len);
	while (bxp_next(&r, &f) == 1) {
		if (bxp_field_u64(&f, &v) < 0)
			continue;
		switch (f.tag) {
		case BXT_H_SHIM_START: box->timings.shim_start = v; break;
		case BXT_H_QEMU_START: box->timings.qemu_start = v; break;
		case BXT_H_AGENT_HELLO: box->timings.agent_hello = v; break;
		case BXT_H_READY: box->timings.ready = v; break;
		case BXT_T_AGENT_START: box->timings.guest_agent_start = v; break;
		case BXT_T_READY: box->timings.guest_ready = v; break;
		case BXT_T_SETUP_DONE: box->timings.guest_setup_done = v; break;
		}
	}
}

static int try_connect(boxlite_box *box)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/box.sock", box->dir_fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

void bx_conn_close(struct bx_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->fr);
	free(c);
}

int bx_conn_open(boxlite_box *box, int timeout_ms, struct bx_conn **out, struct bx_error *err)
{
	uint64_t deadline = bx_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct bx_conn *c = calloc(1, sizeof(*c));
	struct bxp_header h;
	const uint8_t *payload;
	char tail[512];
	int rc, fd = -1;

	if (!c || !(c->fr = malloc(sizeof(*c->fr)))) {
		free(c);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	bxp_framer_init(c->fr);
	c->fd = -1;
	/* The socket appears when the shim is up; poll for it while it lives. */
	for (;;) {
		fd = try_connect(box);
		if (fd >= 0)
			break;
		if (box->shim_pid > 0 && !bx_box_shim_alive(box)) {
			bx_box_log_tail(box, tail, sizeof(tail));
			rc = bx_err(err, -EIO, "box %s failed to start: %s", box->id,
				    tail[0] ? tail : "its shim exited (see shim.stderr in the box directory)");
			goto fail;
		}
		if (box->shim_pid <= 0 && (fd == -ENOENT || fd == -ECONNREFUSED)) {
			rc = bx_err(err, -ENOTCONN, "box %s is not running", box->id);
			goto fail;
		}
		if (bx_now_ns() >= deadline) {
			rc = bx_err(err, -ETIMEDOUT, "box %s: shim did not open its socket in time", box->id);
			goto fail;
		}
		usleep(5000);
	}
	c->fd = fd;
	for (;;) {
		int left = (int)((deadline - bx_now_ns()) / 1000000);
		if ((int64_t)(deadline - bx_now_ns()) <= 0)
			left = 0;
		rc = bx_conn_recv(c, left, &h, &payload, err);
		if (rc == -ETIMEDOUT) {
			bx_err_clear(err);
			rc = bx_err(err, -ETIMEDOUT,
				    "box %s was not ready within %d ms (set BOXLITE_READY_TIMEOUT_MS to wait longer; see console.log in %s)",
				    box->id, timeout_ms, box->dir);
			goto fail;
		}
		if (rc == -ECONNRESET) {
			bx_err_clear(err);
			bx_box_log_tail(box, tail, sizeof(tail));
			rc = bx_err(err, -EIO, "box %s failed to start: %s", box->id,
				    tail[0] ? tail : "its shim closed the connection");
			goto fail;
		}
		if (rc < 0)
			goto fail;
		if (h.chan != 0)
			continue;
		if (h.type == BXP_HELLO) {
			record_hello(box, payload, h.len);
			*out = c;
			return 0;
		}
		if (h.type == BXP_ERROR) {
			char msg[512];
			int e;
			bx_conn_parse_error(payload, h.len, &e, msg, sizeof(msg));
			rc = bx_err(err, -EIO, "box %s failed to start: %s", box->id, msg);
			goto fail;
		}
	}
fail:
	bx_conn_close(c);
	return rc;
}

int bx_conn_recv(struct bx_conn *c, int timeout_ms, struct bxp_header *h, const uint8_t **payload,
		 struct bx_error *err)
{
	uint64_t deadline = timeout_ms >= 0 ? bx_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;

	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		size_t avail;
		uint8_t *space;
		ssize_t n;
		int rc = bxp_framer_next(c->fr, h, payload);

		if (rc < 0)
			return bx_err(err, rc, "malformed frame from the box's shim (%s)", strerror(-rc));
		if (rc == 1)
			return 0;
		if (timeout_ms >= 0) {
			int64_t left = (int64_t)(deadline - bx_now_ns());
			if (left <= 0)
				return bx_err(err, -ETIMEDOUT, "timed out waiting for the box");
			rc = poll(&p, 1, (int)(left / 1000000) + 1);
		} else {
			rc = poll(&p, 1, -1);
		}
		if (rc < 0 && errno != EINTR)
			return bx_err_sys(err, -errno, "poll");
		if (rc <= 0)
			continue;
		space = bxp_framer_space(c->fr, &avail);
		n = read(c->fd, space, avail);
		if (n == 0)
			return bx_err(err, -ECONNRESET, "the box's shim closed the connection");
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				return bx_err(err, -ECONNRESET, "the box's shim closed the connection");
			return bx_err_sys(err, -errno, "reading from the box");
		}
		bxp_framer_commit(c->fr, (size_t)n);
	}
}

int bx_conn_send(struct bx_conn *c, uint32_t chan, uint16_t type, uint8_t stream, const void *p,
		 size_t n, struct bx_error *err)
{
	int rc = bxp_send(c->fd, chan, type, stream, p, n);
	if (rc < 0)
		return bx_err_sys(err, rc == -EPIPE ? -ECONNRESET : rc, "sending %s to the box",
				  bxp_type_name(type));
	return 0;
}
