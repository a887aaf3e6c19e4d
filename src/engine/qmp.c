/* The QMP client (qmp.h). */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bx_qmp_extend(struct bx_qmp *q, unsigned timeout_ms)
{
	q->deadline = mono_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* Waits for input: 0, -ETIMEDOUT past the deadline, -ECHILD when QEMU
 * died (polled every 50 ms when there is an alive callback). */
static int wait_in(struct bx_qmp *q)
{
	for (;;) {
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		uint64_t now = mono_ns();
		int ms, rc;

		if (now >= q->deadline)
			return -ETIMEDOUT;
		ms = (int)((q->deadline - now + 999999) / 1000000);
		if (q->alive && ms > 50)
			ms = 50;
		rc = poll(&p, 1, ms);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (q->alive && !q->alive(q->ud))
			return -ECHILD;
	}
}

/* The next JSON line that is not an event. */
static int read_line(struct bx_qmp *q, json_t **out, const char *what, struct bx_error *err)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		ssize_t r;
		int rc;

		if (nl) {
			size_t n = (size_t)(nl - q->buf) + 1;
			json_t *j = json_loadb(q->buf, n - 1, 0, NULL);

			memmove(q->buf, q->buf + n, q->len - n);
			q->len -= n;
			if (!j)
				return bx_err(err, -EPROTO, "QMP: unparsable reply to %s", what);
			if (json_object_get(j, "event")) {
				json_decref(j);
				continue;
			}
			*out = j;
			return 0;
		}
		if (q->len == sizeof(q->buf))
			return bx_err(err, -EPROTO, "QMP: reply to %s too long", what);
		if ((rc = wait_in(q)) < 0)
			return bx_err(err, rc, "QMP: no reply to %s (%s)", what,
				      rc == -ECHILD ? "QEMU exited" : strerror(-rc));
		r = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return bx_err(err, r == 0 ? -ECONNRESET : -errno, "QMP: connection closed before the reply to %s",
				      what);
		q->len += (size_t)r;
	}
}

int bx_qmp_exec(struct bx_qmp *q, json_t *request, int fd, json_t **ret, struct bx_error *err)
{
	const char *name = json_string_value(json_object_get(request, "execute"));
	char cmd[48], *line = request ? json_dumps(request, JSON_COMPACT) : NULL;
	char cmsgbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	json_t *reply = NULL, *r;
	size_t n;
	int rc;

	snprintf(cmd, sizeof(cmd), "%s", name ? name : "?");
	json_decref(request);
	if (!line)
		return bx_err(err, -ENOMEM, "QMP: out of memory");
	n = strlen(line);
	line[n] = '\n'; /* json_dumps' NUL becomes the line end */
	iov = (struct iovec){ line, n + 1 };
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf;
		msg.msg_controllen = sizeof(cmsgbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	rc = sendmsg(q->fd, &msg, MSG_NOSIGNAL) == (ssize_t)(n + 1) ? 0 : -errno;
	free(line);
	if (rc < 0)
		return bx_err_sys(err, rc, "QMP: sending %s", cmd);
	if ((rc = read_line(q, &reply, cmd, err)) < 0)
		return rc;
	if (!(r = json_object_get(reply, "return"))) {
		json_t *e = json_object_get(json_object_get(reply, "error"), "desc");
		rc = bx_err(err, -EIO, "QMP %s: %s", cmd, json_is_string(e) ? json_string_value(e) : "error");
	} else if (ret) {
		*ret = json_incref(r);
	}
	json_decref(reply);
	return rc;
}

int bx_qmp_open(struct bx_qmp *q, const char *path, unsigned timeout_ms, int (*alive)(void *ud), void *ud,
		struct bx_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *greeting = NULL;
	int rc;

	q->fd = -1;
	q->len = 0;
	q->alive = alive;
	q->ud = ud;
	bx_qmp_extend(q, timeout_ms);
	if (strlen(path) >= sizeof(sa.sun_path))
		return bx_err(err, -ENAMETOOLONG, "QMP socket path %s too long", path);
	strcpy(sa.sun_path, path);
	if ((q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return bx_err_sys(err, -errno, "QMP socket");
	if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = bx_err_sys(err, -errno, "QMP: connecting to %s", path);
		goto fail;
	}
	if ((rc = read_line(q, &greeting, "the greeting", err)) < 0)
		goto fail;
	rc = json_object_get(greeting, "QMP") ? 0 : bx_err(err, -EPROTO, "QMP: no greeting");
	json_decref(greeting);
	if (rc == 0 && (rc = bx_qmp_exec(q, json_pack("{s:s}", "execute", "qmp_capabilities"), -1, NULL, err)) == 0)
		return 0;
fail:
	bx_qmp_close(q);
	return rc;
}

void bx_qmp_close(struct bx_qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

int bx_qmp_call(const char *path, json_t *request, json_t **ret, unsigned timeout_ms, struct bx_error *err)
{
	struct bx_qmp q;
	int rc;

	if (!request)
		return bx_err(err, -ENOMEM, "QMP: out of memory");
	if ((rc = bx_qmp_open(&q, path, timeout_ms, NULL, NULL, err)) < 0) {
		json_decref(request);
		return rc;
	}
	rc = bx_qmp_exec(&q, request, -1, ret, err);
	bx_qmp_close(&q);
	return rc;
}

int bx_qmp_save_state(struct bx_qmp *q, int state_fd, int ignore_shared, struct bx_error *err)
{
	int rc;

	/* Set either way: a warm-started VM's QEMU has it on from its load. */
	if ((rc = bx_qmp_exec(q,
			      json_pack("{s:s, s:{s:[{s:s, s:b}]}}", "execute", "migrate-set-capabilities", "arguments",
					"capabilities", "capability", "x-ignore-shared", "state", !!ignore_shared),
			      -1, NULL, err)) < 0 ||
	    (rc = bx_qmp_exec(q, json_pack("{s:s, s:{s:s}}", "execute", "getfd", "arguments", "fdname", "state"),
			      state_fd, NULL, err)) < 0 ||
	    (rc = bx_qmp_exec(q, json_pack("{s:s}", "execute", "stop"), -1, NULL, err)) < 0 ||
	    (rc = bx_qmp_exec(q, json_pack("{s:s, s:{s:s}}", "execute", "migrate", "arguments", "uri", "fd:state"), -1,
			      NULL, err)) < 0)
		return rc;
	for (;;) {
		json_t *ret = NULL;
		const char *st;

		if ((rc = bx_qmp_exec(q, json_pack("{s:s}", "execute", "query-migrate"), -1, &ret, err)) < 0)
			return rc;
		st = json_string_value(json_object_get(ret, "status"));
		if (st && !strcmp(st, "completed")) {
			json_decref(ret);
			return 0;
		}
		if (!st || !strcmp(st, "failed") || !strcmp(st, "cancelled")) {
			json_t *e = json_object_get(ret, "error-desc");
			rc = bx_err(err, -EIO, "QMP: migration %s%s%s", st ? st : "has no status",
				    json_is_string(e) ? ": " : "", json_is_string(e) ? json_string_value(e) : "");
			json_decref(ret);
			return rc;
		}
		json_decref(ret);
		if (mono_ns() >= q->deadline)
			return bx_err(err, -ETIMEDOUT, "QMP: the migration did not complete in time");
		if (q->alive && !q->alive(q->ud))
			return bx_err(err, -ECHILD, "QMP: QEMU exited during the migration");
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
}
