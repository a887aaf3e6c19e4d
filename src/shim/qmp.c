/* A minimal QMP client: greeting, capabilities, one command. Used as the
 * fallback that asks QEMU to quit when the guest did not power off, for
 * pause (stop) and resume (cont), and for run-time port forwards (HMP
 * hostfwd_add/hostfwd_remove through human-monitor-command). */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
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

/* Sends request (a JSON object) and reads its reply; *ret (may be NULL)
 * gets a reference to the reply's "return" value. */
static int qmp_execute(struct qmp *q, json_t *request, json_t **ret, struct bx_error *err)
{
	const char *cmd = json_string_value(json_object_get(request, "execute"));
	char *line = json_dumps(request, JSON_COMPACT);
	json_t *reply = NULL, *r;
	size_t n;
	int rc;

	if (!line)
		return bx_err(err, -ENOMEM, "QMP: out of memory");
	n = strlen(line);
	line[n] = '\n'; /* json_dumps' NUL becomes the line end */
	rc = send(q->fd, line, n + 1, MSG_NOSIGNAL) == (ssize_t)(n + 1) ? 0 : -errno;
	free(line);
	if (rc < 0)
		return bx_err_sys(err, rc, "QMP: sending %s", cmd);
	rc = qmp_read_reply(q, &reply, err);
	if (rc < 0)
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

/* Connects, negotiates capabilities and runs request. */
static int qmp_run(const char *path, json_t *request, json_t **ret, unsigned timeout_ms, struct bx_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp q = { .fd = -1, .deadline = mono_ns() + (uint64_t)timeout_ms * 1000000u };
	json_t *greeting = NULL, *caps = json_pack("{s:s}", "execute", "qmp_capabilities");
	int rc;

	if (!request || !caps) {
		rc = bx_err(err, -ENOMEM, "QMP: out of memory");
		goto out;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		rc = bx_err(err, -ENAMETOOLONG, "QMP socket path too long");
		goto out;
	}
	strcpy(sa.sun_path, path);
	q.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (q.fd < 0) {
		rc = bx_err_sys(err, -errno, "QMP socket");
		goto out;
	}
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
	rc = qmp_execute(&q, caps, NULL, err);
	if (rc == 0)
		rc = qmp_execute(&q, request, ret, err);
out:
	json_decref(greeting);
	json_decref(caps);
	json_decref(request);
	if (q.fd >= 0)
		close(q.fd);
	return rc;
}

int qmp_call(const char *path, json_t *request, json_t **ret, unsigned timeout_ms, struct bx_error *err)
{
	return qmp_run(path, request, ret, timeout_ms, err);
}

int qmp_quit(const char *path, unsigned timeout_ms, struct bx_error *err)
{
	int rc = qmp_command(path, "quit", timeout_ms, err);

	/* QEMU may close the connection before answering quit. */
	if (rc == -ECONNRESET) {
		bx_err_clear(err);
		rc = 0;
	}
	return rc;
}

int qmp_command(const char *path, const char *cmd, unsigned timeout_ms, struct bx_error *err)
{
	return qmp_run(path, json_pack("{s:s}", "execute", cmd), NULL, timeout_ms, err);
}

int qmp_hmp(const char *path, const char *command_line, char **out, unsigned timeout_ms, struct bx_error *err)
{
	json_t *ret = NULL;
	int rc = qmp_run(path,
			 json_pack("{s:s, s:{s:s}}", "execute", "human-monitor-command", "arguments",
				   "command-line", command_line),
			 &ret, timeout_ms, err);

	if (rc == 0) {
		*out = strdup(json_is_string(ret) ? json_string_value(ret) : "");
		if (!*out)
			rc = bx_err(err, -ENOMEM, "QMP: out of memory");
	}
	json_decref(ret);
	return rc;
}
