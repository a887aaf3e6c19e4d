/* Files in and out of a box as tar streams (rest-api.md §7), the box's
 * logs (a boxlite route, GET .../logs), and box archives (export, import:
 * docs/snapshots.md), all streamed the same way. Both directions
 * stream: an upload is fed to the box as it arrives and a download is sent
 * as the box produces it, so neither is held in memory or on the server's
 * disk (the reference server buffers both). Each copy runs on a thread of
 * its own that holds the box for its length; a socket pair joins it to the
 * HTTP side. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srv.h"

struct copy {
	struct srv *s;
	char box_key[160];
	char *path;
	boxlite_copy_options opts;
	int fd;               /* the copy thread's end of the pair */
	int peer;             /* the HTTP side's end */
	pthread_t thread;
	int rc;
	boxlite_error *err;
	enum { COPY_OUT, COPY_IN, LOGS, EXPORT, IMPORT } mode;
	char *name;           /* IMPORT: the new box's name, or NULL */
	boxlite_box *imported;
	int console;          /* LOGS: the console instead of the main command's output */
	int broken;           /* upload: the box stopped taking bytes */
	uint64_t bytes;
	unsigned char head[512]; /* upload: the first tar header, held until it decides the mode */
	size_t head_len;
	int started;
};

static struct copy *copy_new(struct srv *s, struct srv_req *r, struct srv_resp *out, int need_path)
{
	const char *path = need_path ? srv_query(r, "path") : "";
	struct copy *c;
	int sv[2];

	if (!path || (need_path && path[0] != '/')) {
		srv_error(out, r, 400, "InvalidArgumentError", "invalid_argument",
			  "path must be an absolute path in the box (?path=/dir)");
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->path = strdup(path)) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		if (c)
			free(c->path);
		free(c);
		srv_error(out, r, 429, "ResourceExhaustedError", "resource_exhausted", "cannot set up the copy");
		return NULL;
	}
	c->s = s;
	snprintf(c->box_key, sizeof(c->box_key), "%s", r->params[0] ? r->params[0] : "");
	c->opts.struct_size = sizeof(c->opts);
	c->fd = sv[0];
	c->peer = sv[1];
	return c;
}

static void copy_free(struct copy *c)
{
	if (c->peer >= 0)
		close(c->peer);
	boxlite_error_free(c->err);
	boxlite_box_free(c->imported);
	free(c->name);
	free(c->path);
	free(c);
}

/* The copy thread: holds the box for the copy's length. */
static void *copy_main(void *arg)
{
	struct copy *c = arg;
	struct srv_box *b = NULL;

	if (c->mode == IMPORT) { /* an upload is someone else's archive */
		c->rc = boxlite_runtime_import_box_fd(c->s->rt, c->fd, c->name, BOXLITE_IMPORT_UNTRUSTED, &c->imported,
						      &c->err);
		close(c->fd);
		return NULL;
	}
	c->rc = srv_box_get(c->s, c->box_key, &b, &c->err);
	if (c->rc == 0)
		c->rc = c->mode == COPY_IN ? boxlite_box_copy_in_tar_ex(b->box, c->fd, c->path, &c->opts, &c->err)
			: c->mode == COPY_OUT ? boxlite_box_copy_out_tar_ex(b->box, c->path, c->fd, &c->opts, &c->err)
			: c->mode == EXPORT   ? boxlite_box_export_fd(b->box, c->fd, &c->err)
					      : boxlite_box_logs(b->box, c->console, c->fd, &c->err);
	srv_box_put(c->s, b);
	close(c->fd);
	return NULL;
}

static int start(struct copy *c, struct srv_req *r, struct srv_resp *out)
{
	if (pthread_create(&c->thread, NULL, copy_main, c) != 0) {
		close(c->fd);
		copy_free(c);
		srv_error(out, r, 429, "ResourceExhaustedError", "resource_exhausted", "cannot start a thread");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- upload */

static int put_begin(struct srv *s, struct srv_req *r, struct srv_resp *out, void **state)
{
	int overwrite = srv_query_bool(r, "overwrite", 1);
	struct srv_box *b = NULL;
	boxlite_error *e = NULL;
	struct copy *c;
	int rc;

	if (overwrite < 0) {
		srv_error(out, r, 400, "InvalidArgumentError", "invalid_argument", "overwrite must be true or false");
		return -1;
	}
	/* A missing box is said at once, not after the whole body. */
	if ((rc = srv_box_get(s, r->params[0], &b, &e)) < 0) {
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
		return -1;
	}
	srv_box_put(s, b);
	if (!(c = copy_new(s, r, out, 1)))
		return -1;
	c->opts.no_overwrite = !overwrite;
	c->mode = COPY_IN;
	*state = c;
	return 0;
}

/* How the upload lands, from its first header: a tree under "." or one
 * file (what the reference's clients send) follows docker cp's rules for
 * one entry — into path when it is a directory, else as path; anything
 * else is extracted into path, which must be a directory. */
static int single_entry(const unsigned char *h, size_t len)
{
	char name[101];
	const char *n = name;

	if (len < 512)
		return 0;
	memcpy(name, h, 100);
	name[100] = 0;
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	switch (h[156]) {
	case 'x': case 'L': /* a long name or pax record describes the entry */
		return 1;
	case '5':
		return !*n || !strcmp(n, ".");
	case '0': case '\0': case '7':
		return *n && !strchr(n, '/') && h[345] == 0;
	}
	return 0;
}

static void feed(struct copy *c, const void *buf, size_t len)
{
	const char *p = buf;
	while (len && !c->broken) {
		ssize_t n = send(c->peer, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->broken = 1; /* the copy ended early: its error is the answer */
			break;
		}
		p += n;
		len -= (size_t)n;
		c->bytes += (uint64_t)n;
	}
}

/* Starts an upload's thread; when it cannot, the body is dropped and the
 * end answers 429. */
static void start_thread(struct copy *c)
{
	c->started = 1;
	if (pthread_create(&c->thread, NULL, copy_main, c) != 0) {
		close(c->fd);
		c->rc = -EAGAIN;
		c->broken = 1;
	}
}

/* Starts the copy once the first header is in (or the body ended first). */
static void start_upload(struct copy *c)
{
	c->opts.single_entry = single_entry(c->head, c->head_len);
	start_thread(c);
	feed(c, c->head, c->head_len);
}

/* The end of an upload's body: the stream closed, the thread joined. An
 * error is answered here (-1); 0: the caller answers the success. */
static int upload_end(struct copy *c, struct srv_req *r, struct srv_resp *out, enum srv_ctx ctx)
{
	shutdown(c->peer, SHUT_WR); /* end of the stream */
	if (c->rc != -EAGAIN)
		pthread_join(c->thread, NULL);
	if (!out)
		return -1;
	if (c->rc == -EAGAIN && !c->err) {
		srv_error(out, r, 429, "ResourceExhaustedError", "resource_exhausted", "cannot start a thread");
		return -1;
	}
	if (c->rc < 0) {
		srv_error_lib(out, r, c->rc, c->err, ctx);
		c->err = NULL;
		return -1;
	}
	return 0;
}

static void put_data(void *state, const char *buf, size_t len)
{
	struct copy *c = state;
	if (!c->started) {
		size_t k = len < sizeof(c->head) - c->head_len ? len : sizeof(c->head) - c->head_len;
		memcpy(c->head + c->head_len, buf, k);
		c->head_len += k;
		buf += k;
		len -= k;
		if (c->head_len < sizeof(c->head))
			return;
		start_upload(c);
	}
	feed(c, buf, len);
}

static void put_end(struct srv *s, struct srv_req *r, struct srv_resp *out, void *state)
{
	struct copy *c = state;

	if (!c->started)
		start_upload(c);
	if (upload_end(c, r, out, SRV_CTX_FILES) == 0)
		srv_empty(out, 204);
	copy_free(c);
}

const struct srv_upload_ops h_files_put = { put_begin, put_data, put_end };

/* -------------------------------------------------------------- download */

static void get_done(void *arg)
{
	struct copy *c = arg;
	c->peer = -1; /* closed by the response */
	pthread_join(c->thread, NULL);
	copy_free(c);
}

/* Answers with what c's thread writes: an error before the first byte is
 * still an error status; one after it can only cut the body short. */
static void stream_out(struct srv_req *r, struct srv_resp *out, struct copy *c, const char *ctype)
{
	struct pollfd pf = { .fd = c->peer, .events = POLLIN };
	char probe;

	if (start(c, r, out) < 0)
		return;
	while (poll(&pf, 1, -1) < 0 && errno == EINTR)
		;
	if (recv(c->peer, &probe, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
		pthread_join(c->thread, NULL);
		if (c->rc < 0) {
			srv_error_lib(out, r, c->rc, c->err, SRV_CTX_BOX);
			c->err = NULL;
		} else if (c->mode == LOGS) {
			srv_empty(out, 200);
			out->content_type = ctype;
		} else
			srv_error(out, r, 500, "InternalError", "internal", "the copy produced nothing");
		copy_free(c);
		return;
	}
	if (srv_stream_response(out, c->peer, ctype, get_done, c) < 0) {
		close(c->peer);
		get_done(c);
		srv_error(out, r, 500, "InternalError", "internal", "out of memory");
	}
}

void h_files_get(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	int follow = srv_query_bool(r, "follow_symlinks", 0);
	struct copy *c;

	if (follow < 0)
		return srv_error(out, r, 400, "InvalidArgumentError", "invalid_argument",
				 "follow_symlinks must be true or false");
	if (!(c = copy_new(s, r, out, 1)))
		return;
	c->opts.follow_symlinks = follow;
	stream_out(r, out, c, "application/x-tar");
}

void h_box_logs(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	int console = srv_query_bool(r, "console", 0);
	struct copy *c;

	if (console < 0)
		return srv_error(out, r, 400, "InvalidArgumentError", "invalid_argument", "console must be true or false");
	if (!(c = copy_new(s, r, out, 0)))
		return;
	c->mode = LOGS;
	c->console = console;
	stream_out(r, out, c, "text/plain; charset=utf-8");
}

/* ---------------------------------------------------------- box archives */

void h_box_export(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct copy *c = copy_new(s, r, out, 0);

	if (!c)
		return;
	c->mode = EXPORT;
	stream_out(r, out, c, "application/octet-stream");
}

static int import_begin(struct srv *s, struct srv_req *r, struct srv_resp *out, void **state)
{
	const char *name = srv_query(r, "name");
	struct copy *c = copy_new(s, r, out, 0);

	if (!c)
		return -1;
	c->mode = IMPORT;
	if (name && name[0] && !(c->name = strdup(name))) {
		copy_free(c);
		srv_error(out, r, 500, "InternalError", "internal", "out of memory");
		return -1;
	}
	/* The archive is read as it arrives: a bad one is refused without
	 * waiting for (or keeping) the rest. */
	start_thread(c);
	*state = c;
	return 0;
}

static void import_data(void *state, const char *buf, size_t len)
{
	feed(state, buf, len);
}

static void import_end(struct srv *s, struct srv_req *r, struct srv_resp *out, void *state)
{
	struct copy *c = state;
	struct srv_box *b;

	if (upload_end(c, r, out, SRV_CTX_CREATE) == 0) {
		if (!(b = srv_box_adopt(s, c->imported))) {
			srv_error(out, r, 500, "InternalError", "internal", "out of memory");
		} else {
			c->imported = NULL;
			srv_reply_box(s, r, out, b, 201);
			srv_box_put(s, b);
		}
	}
	copy_free(c);
}

const struct srv_upload_ops h_box_import = { import_begin, import_data, import_end };
