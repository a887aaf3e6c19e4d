/* A minimal QMP client: greeting, capabilities, one command. Used as the
 * fallback that asks QEMU to quit when the guest did not power off, and
 * for pause (stop) and resume (cont). */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

struct qmp {
	int fd;
	uint64_t deadline;
	char buf[8192];
	size_t len;
};

/* Reads the next JSON line that is not an event. */
static int qmp_read_reply(struct qmp *q, json_t **out, struct bx_error *err)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		if (nl) {
			size_t n = (size_t)(nl - q->buf) + 1;
			json_t *j = json_loadb(q->buf, n - 1, 0, NULL);
			memmove(q->buf, q->buf + n, q->len - n);
			q->len -= n;
			if (!j)
				return bx_err(err, -EPROTO, "QMP: unparsable reply");
			if (json_object_get(j, "event")) {
				json_decref(j);
				continue;
			}
			*out = j;
			return 0;
		}
		if (q->len == sizeof(q->buf))
			return bx_err(err, -EPROTO, "QMP: reply line too long");

		uint64_t now = mono_ns();
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int ms = now >= q->deadline ? 0 : (int)((q->deadline - now + 999999) / 1000000);
		int rc = poll(&pfd, 1, ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return bx_err(err, rc == 0 ? -ETIMEDOUT : -errno, "QMP: no reply in time");
		ssize_t r = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return bx_err_sys(err, -errno, "QMP: read");
		if (r == 0)
			return bx_err(err, -ECONNRESET, "QMP: connection closed");
		q->len += (size_t)r;
	}
}

static int qmp_execute(struct qmp *q, const char *cmd, struct bx_error *err)
{
	char line[128];
	json_t *reply = NULL;
	int n = snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\n", cmd), rc;

	if (send(q->fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		return bx_err_sys(err, -errno, "QMP: sending %s", cmd);
	rc = qmp_read_reply(q, &reply, err);
	if (rc < 0)
		return rc;
	if (!json_object_get(reply, "return")) {
		json_t *e = json_object_get(json_object_get(reply, "error"), "desc");
		rc = bx_err(err, -EIO, "QMP %s: %s", cmd, json_is_string(e) ? json_string_value(e) : "error");
	}
	json_decref(reply);
	return rc;
}

int qmp_quit(const char *path, unsigned timeout_ms, struct bx_error *err)
{
	return qmp_command(path, "quit", timeout_ms, err);
}

int qmp_command(const char *path, const char *cmd, unsigned timeout_ms, struct bx_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp q = { .fd = -1, .deadline = mono_ns() + (uint64_t)timeout_ms * 1000000u };
	json_t *greeting = NULL;
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return bx_err(err, -ENAMETOOLONG, "QMP socket path too long");
	strcpy(sa.sun_path, path);
	q.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (q.fd < 0)
		return bx_err_sys(err, -errno, "QMP socket");
	if (connect(q.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = bx_err_sys(err, -errno, "QMP: connecting to %s", path);
		goto out;
	}
	rc = qmp_read_reply(&q, &greeting, err);
	if (rc < 0)
		goto out;
	if (!json_object_get(greeting, "QMP")) {
		rc = bx_err(err, -EPROTO, "QMP: no greeting");
		goto out;
	}
	rc = qmp_execute(&q, "qmp_capabilities", err);
	if (rc == 0) {
		rc = qmp_execute(&q, cmd, err);
		/* QEMU may close the connection before answering quit. */
		if (rc == -ECONNRESET && !strcmp(cmd, "quit")) {
			bx_err_clear(err);
			rc = 0;
		}
	}
out:
	json_decref(greeting);
	close(q.fd);
	return rc;
}
