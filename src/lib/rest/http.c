/* HTTP for the REST client, on libcurl: JSON calls, streamed bodies in and
 * out, and the errors of the API's envelope turned back into errnos so an
 * error keeps its class across the wire (a not-found on the server is
 * -ENOENT here, as it would be locally). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "rest.h"
#include "rest_internal.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static const struct { const char *code; int err; } codes[] = {
	{ "not_found", ENOENT },        { "invalid_argument", EINVAL },   { "unsupported", ENOTSUP },
	{ "already_exists", EEXIST },   { "invalid_state", EBUSY },       { "stopped", ENOTCONN },
	{ "session_reaped", ESRCH },    { "image_pull_failed", ENOENT }, { "execution_failed", ENOENT },
	{ "resource_exhausted", ENOMEM }, { "network_unavailable", EHOSTUNREACH },
	{ "upstream_unavailable", EHOSTUNREACH }, { "engine_unavailable", EIO }, { "timeout", ETIMEDOUT },
	{ "unauthenticated", EACCES },  { "method_not_allowed", ENOTSUP }, { "payload_too_large", E2BIG },
	{ "headers_too_large", E2BIG }, { "upgrade_required", EPROTO },
};

int bx_rest_errno(const char *code, long status)
{
	for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(codes[i].code, code))
			return -codes[i].err;
	switch (status) {
	case 400: return -EINVAL;
	case 401: case 403: return -EACCES;
	case 404: return -ENOENT;
	case 409: return -EBUSY;
	case 502: case 503: case 504: return -EHOSTUNREACH;
	}
	return -EIO;
}

/* The error a non-2xx answer carries (its envelope, else its status). */
int bx_rest_error(long status, const char *body, size_t len, struct bx_error *err)
{
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *e = json_object_get(j, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	int rc = bx_rest_errno(code, status);

	if (msg)
		bx_err(err, rc, "%s", msg);
	else if (status == 401 || status == 403)
		bx_err(err, rc, "the server refused the API key (HTTP %ld): log in again (boxlite auth login)", status);
	else
		bx_err(err, rc, "the server answered HTTP %ld", status);
	json_decref(j);
	return rc;
}

int bx_rest_curl_error(const struct bx_rest *r, CURLcode c, struct bx_error *err)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		return bx_err(err, -ECONNREFUSED, "cannot reach the server at %s (connection refused): is it running?",
			      r->url);
	case CURLE_COULDNT_RESOLVE_HOST:
		return bx_err(err, -EHOSTUNREACH, "cannot resolve the server's host in %s", r->url);
	case CURLE_OPERATION_TIMEDOUT:
		return bx_err(err, -ETIMEDOUT, "the server at %s did not answer in time", r->url);
	case CURLE_GOT_NOTHING: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_PARTIAL_FILE:
		return bx_err(err, -ECONNRESET, "the connection to %s broke: %s", r->url, curl_easy_strerror(c));
	default:
		return bx_err(err, -EIO, "talking to %s: %s", r->url, curl_easy_strerror(c));
	}
}

/* One lock per kind of shared data: curl may hold one while taking another. */
static void lock_share(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
	pthread_mutex_lock(&((struct bx_rest *)u)->share_mu[d % BX_REST_LOCKS]);
}

static void unlock_share(CURL *h, curl_lock_data d, void *u)
{
	pthread_mutex_unlock(&((struct bx_rest *)u)->share_mu[d % BX_REST_LOCKS]);
}

int bx_rest_open(const char *url, const char *key, const char *prefix, struct bx_rest **out, struct bx_error *err)
{
	struct bx_rest *r;
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int rc = 0;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return bx_err(err, -EINVAL, "the server URL must start with http:// or https:// (got \"%s\")",
			      url ? url : "");
	if (!(r = calloc(1, sizeof(*r))) || !(r->url = strdup(url)))
		goto oom;
	while (*r->url && r->url[strlen(r->url) - 1] == '/')
		r->url[strlen(r->url) - 1] = 0;
	if (key && *key && asprintf(&r->auth, "Authorization: Bearer %s", key) < 0) {
		r->auth = NULL;
		goto oom;
	}
	if (prefix && *prefix && !(r->prefix = strdup(prefix)))
		goto oom;
	/* The parts a WebSocket handshake is written from. */
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, r->url, 0) || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) || curl_url_get(u, CURLUPART_PATH, &path, 0)) {
		curl_url_cleanup(u);
		rc = bx_err(err, -EINVAL, "%s is not a URL", url);
		goto fail;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	r->hostport = port ? (asprintf(&r->hostport, "%s:%s", host, port) < 0 ? NULL : r->hostport) : strdup(host);
	r->base_path = strdup(strcmp(path, "/") ? path : "");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	if (!r->hostport || !r->base_path)
		goto oom;
	while (*r->base_path && r->base_path[strlen(r->base_path) - 1] == '/')
		r->base_path[strlen(r->base_path) - 1] = 0;
	for (int i = 0; i < BX_REST_LOCKS; i++)
		pthread_mutex_init(&r->share_mu[i], NULL);
	r->locks = 1;
	r->share = curl_share_init();
	if (r->share) {
		curl_share_setopt(r->share, CURLSHOPT_LOCKFUNC, lock_share);
		curl_share_setopt(r->share, CURLSHOPT_UNLOCKFUNC, unlock_share);
		curl_share_setopt(r->share, CURLSHOPT_USERDATA, r);
		curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
		curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	}
	/* Who we are: a wrong URL or a refused key is said here, once. */
	if ((rc = bx_rest_json(r, "GET", "/me", NULL, NULL, NULL, err)) < 0)
		goto fail;
	*out = r;
	return 0;
oom:
	rc = bx_err(err, -ENOMEM, "out of memory");
fail:
	bx_rest_close(r);
	return rc;
}

void bx_rest_close(struct bx_rest *r)
{
	if (!r)
		return;
	if (r->share)
		curl_share_cleanup(r->share);
	for (int i = 0; r->locks && i < BX_REST_LOCKS; i++)
		pthread_mutex_destroy(&r->share_mu[i]);
	if (r->auth)
		explicit_bzero(r->auth, strlen(r->auth));
	free(r->auth);
	free(r->url);
	free(r->prefix);
	free(r->hostport);
	free(r->base_path);
	free(r);
}

const char *bx_rest_url(const struct bx_rest *r)
{
	return r->url;
}

char *bx_rest_path(const struct bx_rest *r, const char *path, int full)
{
	int bare = !strcmp(path, "/config") || !strcmp(path, "/me") || !r->prefix;
	char *s = NULL;
	if (asprintf(&s, "%s/v1%s%s%s", full ? r->url : r->base_path, bare ? "" : "/", bare ? "" : r->prefix,
		     path) < 0)
		return NULL;
	return s;
}

struct buf {
	char *data;
	size_t len, cap;
};

static size_t to_buf(char *p, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t len = sz * n;
	if (b->len + len + 1 > b->cap) {
		size_t cap = (b->len + len + 1) * 2;
		char *nd;
		if (cap > (64u << 20) || !(nd = realloc(b->data, cap)))
			return 0; /* a JSON answer this big is not one */
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = 0;
	return len;
}

CURL *bx_rest_handle(struct bx_rest *r, const char *method, const char *path, struct curl_slist **hdrs)
{
	CURL *h = curl_easy_init();
	char *url = bx_rest_path(r, path, 1);

	if (!h || !url) {
		curl_easy_cleanup(h);
		free(url);
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (r->share)
		curl_easy_setopt(h, CURLOPT_SHARE, r->share);
	if (r->auth)
		*hdrs = curl_slist_append(*hdrs, r->auth);
	*hdrs = curl_slist_append(*hdrs, "Expect:"); /* no 100-continue round trip */
	return h;
}

int bx_rest_json(struct bx_rest *r, const char *method, const char *path, json_t *body, json_t **resp, long *status,
		 struct bx_error *err)
{
	struct curl_slist *hdrs = NULL;
	struct buf b = { 0 };
	char *text = NULL;
	long st = 0;
	CURLcode c;
	int rc = 0;
	CURL *h = bx_rest_handle(r, method, path, &hdrs);

	if (resp)
		*resp = NULL;
	if (!h)
		return bx_err(err, -ENOMEM, "out of memory");
	if (body) {
		if (!(text = json_dumps(body, JSON_COMPACT))) {
			curl_easy_cleanup(h);
			curl_slist_free_all(hdrs);
			return bx_err(err, -ENOMEM, "out of memory");
		}
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "DELETE")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L); /* a pull or a boot can take minutes */
	c = curl_easy_perform(h);
	if (c != CURLE_OK) {
		rc = bx_rest_curl_error(r, c, err);
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
		if (st < 200 || st > 299) {
			rc = bx_rest_error(st, b.data, b.len, err);
		} else if (resp && b.len) {
			json_error_t je;
			if (!(*resp = json_loadb(b.data, b.len, 0, &je)))
				rc = bx_err(err, -EPROTO, "the server's answer to %s %s is not JSON: %s", method, path, je.text);
		}
	}
	if (status)
		*status = st;
	free(text);
	free(b.data);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

/* ------------------------------------------------------- streamed bodies */

struct stream {
	int fd;
	long status;   /* once known */
	CURL *h;
	struct buf err; /* the body of an error answer */
	int fail;
};

static size_t read_fd(char *p, size_t sz, size_t n, void *ud)
{
	struct stream *s = ud;
	for (;;) {
		ssize_t k = read(s->fd, p, sz * n);
		if (k >= 0)
			return (size_t)k;
		if (errno != EINTR)
			return CURL_READFUNC_ABORT;
	}
}

static size_t write_fd(char *p, size_t sz, size_t n, void *ud)
{
	struct stream *s = ud;
	size_t len = sz * n, off = 0;

	if (!s->status)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status < 200 || s->status > 299)
		return to_buf(p, sz, n, &s->err);
	while (off < len) {
		ssize_t k = write(s->fd, p + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			s->fail = 1;
			return 0; /* the reader went away */
		}
		off += (size_t)k;
	}
	return len;
}

/* One request whose body (upload) or answer (download) streams through fd;
 * an upload's 2xx answer, when resp is given, is parsed as JSON. A POST
 * download sends "{}". */
static int stream_call(struct bx_rest *r, const char *method, const char *path, const char *ctype, int fd,
		       int upload, json_t **resp, struct bx_error *err)
{
	struct stream s = { .fd = fd };
	struct curl_slist *hdrs = NULL;
	CURLcode c;
	int rc = 0;
	CURL *h = bx_rest_handle(r, method, path, &hdrs);

	if (!h)
		return bx_err(err, -ENOMEM, "out of memory");
	s.h = h;
	if (upload) {
		char ct[128];
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, ct);
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_fd);
		curl_easy_setopt(h, CURLOPT_READDATA, &s);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &s.err);
	} else {
		if (!strcmp(method, "POST")) {
			hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{}");
		}
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_fd);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	c = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &s.status);
	if (s.status && (s.status < 200 || s.status > 299))
		rc = bx_rest_error(s.status, s.err.data, s.err.len, err);
	else if (c != CURLE_OK)
		rc = s.fail ? bx_err(err, -EPIPE, "the copy's reader stopped") : bx_rest_curl_error(r, c, err);
	else if (resp && !(*resp = json_loadb(s.err.data ? s.err.data : "", s.err.len, 0, NULL)))
		rc = bx_err(err, -EPROTO, "the server's answer to %s %s is not JSON", method, path);
	free(s.err.data);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

int bx_rest_put_fd(struct bx_rest *r, const char *path, const char *content_type, int fd, struct bx_error *err)
{
	return stream_call(r, "PUT", path, content_type, fd, 1, NULL, err);
}

int bx_rest_get_fd(struct bx_rest *r, const char *path, int fd, struct bx_error *err)
{
	return stream_call(r, "GET", path, NULL, fd, 0, NULL, err);
}

int bx_rest_post_to_fd(struct bx_rest *r, const char *path, int fd, struct bx_error *err)
{
	return stream_call(r, "POST", path, NULL, fd, 0, NULL, err);
}

int bx_rest_post_fd(struct bx_rest *r, const char *path, const char *content_type, int fd, json_t **resp,
		    struct bx_error *err)
{
	return stream_call(r, "POST", path, content_type, fd, 1, resp, err);
}
