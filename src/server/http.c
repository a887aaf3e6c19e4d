/* HTTP on libmicrohttpd: one thread per connection (a call on a box may
 * block for a boot; other connections go on), request bodies gathered up to
 * a limit, every answer — the server's own refusals included — in the
 * API's error envelope. Handlers never see MHD types. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "srv.h"

#define BODY_LIMIT (1u << 20)      /* JSON bodies */
#define HEADER_LIMIT (16u << 10)   /* all request headers together */
#define POOL_SIZE (256u << 10)     /* MHD's per-connection pool: headers up to
				      this reach our 431 with the envelope */
#define IDLE_TIMEOUT_S 60          /* a client silent this long is dropped
				      (BOXLITE_SERVE_IDLE_TIMEOUT overrides, seconds) */
#define MAX_CONNECTIONS 512

/* A WebSocket session between the 101 and the upgrade callback. */
struct upgrade {
	struct srv *s;
	struct srv_exec *x;
	int started; /* the callback ran: the session owns x now */
};

struct session {
	struct srv *s;
	struct srv_exec *x;
	int sock;
	struct MHD_UpgradeResponseHandle *urh;
	size_t extra_len;
	char extra[];
};

struct request {
	struct srv_req req;
	struct upgrade *up;
	const struct srv_route *route;
	char *body;
	size_t len, cap;
	int too_large;
	int answered; /* a response was queued before the body was read */
	void *upload; /* an upload route's state, between begin and end */
	int uploading;
};

const char *srv_query(struct srv_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *srv_header(struct srv_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

int srv_query_bool(struct srv_req *r, const char *key, int def)
{
	const char *v = srv_query(r, key);
	if (!v)
		return def;
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		return 1;
	if (!strcmp(v, "false") || !strcmp(v, "0"))
		return 0;
	return -1;
}

static enum MHD_Result add_size(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	*(size_t *)cls += strlen(k) + (v ? strlen(v) : 0) + 4;
	return MHD_YES;
}

/* X-Request-Id: the client's when it is a short token, else a new one. */
static void request_id(struct srv_req *r)
{
	const char *v = srv_header(r, "X-Request-Id");

	if (v && *v && strlen(v) < sizeof(r->request_id) &&
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == strlen(v))
		snprintf(r->request_id, sizeof(r->request_id), "%s", v);
	else
		srv_uuid(r->request_id);
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct request *x, struct srv_resp *o)
{
	struct MHD_Response *resp = o->mhd;
	enum MHD_Result ret;

	if (!resp) {
		resp = MHD_create_response_from_buffer(o->len, o->body, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(o->body);
			return MHD_NO;
		}
		o->body = NULL;
		if (o->content_type)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, o->content_type);
	}
	MHD_add_response_header(resp, "X-Request-Id", x->req.request_id);
	if (o->header_name[0])
		MHD_add_response_header(resp, o->header_name, o->header_value);
	if (o->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	x->up = o->upgrade;
	ret = MHD_queue_response(c, o->status ? o->status : 500, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Checks made once the headers are in: size, route, authentication, body
 * length. Returns 1 with *o filled when the request is refused. */
static int refuse_early(struct srv *s, struct request *x, const char *method, const char *url, struct srv_resp *o)
{
	struct srv_req *r = &x->req;
	size_t hsize = 0;
	const char *cl;
	int known = 0;

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_size, &hsize);
	if (hsize > HEADER_LIMIT) {
		srv_error(o, r, 431, "InvalidArgumentError", "headers_too_large",
			  "request headers are %zu bytes; the limit is %u", hsize, HEADER_LIMIT);
		return 1;
	}
	x->route = srv_route_find(method, url, r, &known);
	if (!(x->route && (x->route->flags & SRV_ROUTE_PUBLIC)) &&
	    !srv_auth_ok(s, srv_header(r, MHD_HTTP_HEADER_AUTHORIZATION))) {
		srv_error(o, r, 401, "AuthError", "unauthenticated", "invalid or missing API key");
		return 1;
	}
	if (!x->route) {
		if (known)
			srv_error(o, r, 405, "InvalidArgumentError", "method_not_allowed",
				  "%s is not allowed on %s (see GET /v1/openapi.yaml)", method, url);
		else
			srv_error(o, r, 404, "NotFoundError", "not_found", "no route %s %s (see GET /v1/openapi.yaml)",
				  method, url);
		return 1;
	}
	cl = srv_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && !x->route->upload && strtoull(cl, NULL, 10) > BODY_LIMIT) {
		srv_error(o, r, 413, "InvalidArgumentError", "payload_too_large", "the body is %s bytes; the limit is %u",
			  cl, BODY_LIMIT);
		return 1;
	}
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *data_size, void **con_cls)
{
	struct srv *s = cls;
	struct request *x = *con_cls;
	struct srv_resp o = { 0 };

	if (!x) {
		if (!(x = calloc(1, sizeof(*x))))
			return MHD_NO;
		*con_cls = x;
		x->req.method = method;
		x->req.path = url;
		x->req.conn = c;
		request_id(&x->req);
		if (refuse_early(s, x, method, url, &o) ||
		    (x->route->upload && x->route->upload->begin(s, &x->req, &o, &x->upload) < 0)) {
			x->answered = 1;
			return send_resp(c, x, &o);
		}
		x->uploading = x->route->upload != NULL;
		return MHD_YES;
	}
	if (x->answered) { /* the refusal is queued; drop what still comes */
		*data_size = 0;
		return MHD_YES;
	}
	if (*data_size && x->uploading) {
		x->route->upload->data(x->upload, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	if (*data_size) {
		if (x->len + *data_size > BODY_LIMIT)
			x->too_large = 1;
		if (!x->too_large) {
			if (x->len + *data_size + 1 > x->cap) {
				size_t cap = (x->len + *data_size + 1) * 2;
				char *nb = realloc(x->body, cap < BODY_LIMIT + 1 ? cap : BODY_LIMIT + 1);
				if (!nb)
					return MHD_NO;
				x->body = nb;
				x->cap = cap < BODY_LIMIT + 1 ? cap : BODY_LIMIT + 1;
			}
			memcpy(x->body + x->len, data, *data_size);
			x->len += *data_size;
			x->body[x->len] = 0;
		}
		*data_size = 0;
		return MHD_YES;
	}
	if (x->uploading) {
		x->uploading = 0;
		x->route->upload->end(s, &x->req, &o, x->upload);
	} else if (x->too_large) {
		srv_error(&o, &x->req, 413, "InvalidArgumentError", "payload_too_large", "the body exceeds %u bytes",
			  BODY_LIMIT);
	} else {
		x->req.body = x->body ? x->body : "";
		x->req.body_len = x->len;
		x->route->fn(s, &x->req, &o);
	}
	x->answered = 1;
	return send_resp(c, x, &o);
}

/* Releases what an attach claimed: the attach slot and the reference. */
static void release_attach(struct srv *s, struct srv_exec *x)
{
	pthread_mutex_lock(&x->mu);
	x->attached = 0;
	x->idle_since_ns = srv_now_ns();
	srv_exec_release_locked(x); /* its output was delivered */
	pthread_mutex_unlock(&x->mu);
	srv_exec_put(s, x);
}

static void *session_main(void *arg)
{
	struct session *ss = arg;
	srv_ws_session(ss->s, ss->x, ss->sock, ss->extra, ss->extra_len);
	MHD_upgrade_action(ss->urh, MHD_UPGRADE_ACTION_CLOSE);
	release_attach(ss->s, ss->x);
	free(ss);
	return NULL;
}

static void on_upgraded(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra, size_t extra_len,
			MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct upgrade *up = cls;
	struct session *ss = malloc(sizeof(*ss) + extra_len);
	pthread_t t;

	up->started = 1;
	if (!ss) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		release_attach(up->s, up->x);
		return;
	}
	*ss = (struct session){ .s = up->s, .x = up->x, .sock = sock, .urh = urh, .extra_len = extra_len };
	memcpy(ss->extra, extra, extra_len);
	if (pthread_create(&t, NULL, session_main, ss) != 0) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		release_attach(up->s, up->x);
		free(ss);
		return;
	}
	pthread_detach(t);
}

int srv_upgrade(struct srv_resp *out, struct srv *s, struct srv_exec *x, const char *accept)
{
	struct upgrade *up = calloc(1, sizeof(*up));
	struct MHD_Response *resp;

	if (!up)
		return -ENOMEM;
	up->s = s;
	up->x = x;
	resp = MHD_create_response_for_upgrade(on_upgraded, up);
	if (!resp) {
		free(up);
		return -ENOMEM;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	pthread_mutex_lock(&s->mu);
	x->refs++;
	pthread_mutex_unlock(&s->mu);
	srv_empty(out, MHD_HTTP_SWITCHING_PROTOCOLS);
	out->mhd = resp;
	out->upgrade = up;
	return 0;
}

struct stream {
	int fd;
	void (*done)(void *);
	void *arg;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	for (;;) {
		ssize_t n = read(st->fd, buf, max);
		if (n > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		/* A copy that failed midway ends the body early: the client sees
		 * a truncated tar and a closed connection, not a clean end. */
		return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	close(st->fd);
	st->done(st->arg);
	free(st);
}

int srv_stream_response(struct srv_resp *out, int fd, const char *content_type, void (*done)(void *), void *arg)
{
	struct stream *st = malloc(sizeof(*st));
	struct MHD_Response *resp;

	if (!st)
		return -ENOMEM;
	*st = (struct stream){ .fd = fd, .done = done, .arg = arg };
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 << 10, stream_read, st, stream_free);
	if (!resp) {
		free(st);
		return -ENOMEM;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	srv_empty(out, 200);
	out->mhd = resp;
	return 0;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct request *x = *con_cls;
	if (x) {
		if (x->up && !x->up->started) /* the client left before the upgrade */
			release_attach(cls, x->up->x);
		if (x->uploading) /* the client left mid-upload */
			x->route->upload->end(cls, &x->req, NULL, x->upload);
		free(x->up);
		free(x->body);
		free(x);
		*con_cls = NULL;
	}
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	fputs("boxlite serve: ", stderr);
	vfprintf(stderr, fmt, ap);
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127;
		return IN6_IS_ADDR_LOOPBACK(a);
	}
	return 0;
}

static void stop_reaper(struct srv *s, pthread_t reaper)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_mutex_unlock(&s->mu);
	pthread_join(reaper, NULL);
}

int bx_server_run(boxlite_runtime *rt, const struct bx_server_opts *o, char *err, size_t errlen)
{
	struct srv s = { .rt = rt, .api_key = o->api_key, .openapi_path = o->openapi_path };
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai = NULL;
	boxlite_runtime_info info = { .struct_size = sizeof(info) };
	struct sockaddr_storage addr;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	char port[8], shown[INET6_ADDRSTRLEN + 2];
	pthread_t reaper;
	unsigned idle = IDLE_TIMEOUT_S;
	sigset_t set;
	int sig, rc;

	snprintf(port, sizeof(port), "%u", o->port);
	if ((rc = getaddrinfo(o->host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (!is_loopback((struct sockaddr *)&addr) && !o->api_key) {
		snprintf(err, errlen,
			 "refusing to listen on %s without an API key: anyone who reaches it could run code in "
			 "boxes. Give one with --api-key-file FILE or BOXLITE_SERVE_API_KEY",
			 o->host);
		return -EPERM;
	}
	if (getenv("BOXLITE_SERVE_IDLE_TIMEOUT") && atoi(getenv("BOXLITE_SERVE_IDLE_TIMEOUT")) > 0)
		idle = (unsigned)atoi(getenv("BOXLITE_SERVE_IDLE_TIMEOUT"));
	/* Decide the accelerator now, not inside the first request. */
	boxlite_runtime_info_get(rt, &info, NULL);

	/* Signals are taken by sigwait below; threads inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.exec_gone, NULL);
	if (pthread_create(&reaper, NULL, srv_reaper_main, &s) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		return -EAGAIN;
	}

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_ALLOW_UPGRADE |
				     MHD_USE_ERROR_LOG | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, on_request, &s, MHD_OPTION_EXTERNAL_LOGGER, on_log, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
			     MHD_OPTION_CONNECTION_TIMEOUT, idle, MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)POOL_SIZE,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
			     MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
	if (!d) {
		snprintf(err, errlen, "cannot listen on %s port %u (in use, or not an address of this machine)", o->host,
			 o->port);
		stop_reaper(&s, reaper);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		return -EADDRINUSE;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (addr.ss_family == AF_INET6) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr, a, sizeof(a));
		snprintf(shown, sizeof(shown), "[%s]", a);
	} else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr, shown, sizeof(shown));
	printf("boxlite serve: listening on http://%s:%u%s\n", shown, di ? di->port : o->port,
	       o->api_key ? " (API key required)" : "");
	fflush(stdout);

	while (sigwait(&set, &sig) != 0)
		;
	fprintf(stderr, "boxlite serve: %s, shutting down\n", sig == SIGINT ? "interrupted" : "terminated");
	/* Executions end first: their attached clients get an exit frame and
	 * let go of their sockets, which MHD waits for. */
	stop_reaper(&s, reaper);
	srv_execs_drop(&s, NULL);
	MHD_stop_daemon(d);
	srv_boxes_free(&s);
	pthread_cond_destroy(&s.exec_gone);
	pthread_mutex_destroy(&s.mu);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}
