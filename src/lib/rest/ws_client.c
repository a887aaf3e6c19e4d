/* The client side of the WebSocket attach. libcurl makes the connection
 * (TLS, proxies, the shared connection rules) with CURLOPT_CONNECT_ONLY;
 * the upgrade request and the frames are ours (src/websocket). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "rest_internal.h"

#define RBUF (WS_MAX_PAYLOAD + WS_MAX_HEADER + 4096)

struct bx_ws {
	CURL *h;
	int sock;
	uint8_t *rbuf;   /* bytes received, not yet parsed */
	size_t rlen, roff;
	struct ws_message msg; /* the message being put together / handed out */
	int closed;
};

static int64_t ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int wait_sock(struct bx_ws *c, short ev, int timeout_ms)
{
	struct pollfd p = { .fd = c->sock, .events = ev };
	int n;
	while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	return n;
}

static int send_all(struct bx_ws *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(c->h, p, len, &n);
		if (rc == CURLE_AGAIN) {
			if (wait_sock(c, POLLOUT, 30000) <= 0)
				return -EPIPE;
			continue;
		}
		if (rc != CURLE_OK)
			return -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/* Reads what is there (waiting up to timeout_ms for something). 1 when
 * bytes came, 0 on timeout, -EPIPE at the end of the connection. */
static int fill(struct bx_ws *c, int timeout_ms)
{
	if (c->roff) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	if (c->rlen == RBUF)
		return -EPROTO;
	for (int waited = 0;; waited = 1) {
		size_t n = 0;
		CURLcode rc = curl_easy_recv(c->h, c->rbuf + c->rlen, RBUF - c->rlen, &n);
		if (rc == CURLE_OK) {
			if (n == 0)
				return -EPIPE;
			c->rlen += n;
			return 1;
		}
		if (rc != CURLE_AGAIN)
			return -EPIPE;
		if (waited || timeout_ms == 0)
			return 0;
		if (wait_sock(c, POLLIN, timeout_ms) == 0)
			return 0;
	}
}

int bx_ws_send(struct bx_ws *c, enum ws_opcode op, const void *data, size_t len)
{
	uint8_t hdr[WS_MAX_HEADER], mask[4], *copy;
	size_t h;
	int rc;

	if (getrandom(mask, sizeof(mask), 0) != sizeof(mask))
		memset(mask, 0x33, sizeof(mask));
	h = ws_header(hdr, op, len, mask);
	if (!(copy = malloc(h + len)))
		return -ENOMEM;
	memcpy(copy, hdr, h);
	memcpy(copy + h, data, len);
	ws_mask(copy + h, len, mask, 0);
	rc = send_all(c, copy, h + len);
	free(copy);
	return rc;
}

int bx_ws_recv(struct bx_ws *c, int timeout_ms, enum ws_opcode *op, uint8_t **data, size_t *len)
{
	int64_t deadline = timeout_ms < 0 ? -1 : ms_now() + timeout_ms;

	if (c->closed)
		return -EPIPE;
	for (;;) {
		struct ws_frame f;
		long n = ws_parse(c->rbuf + c->roff, c->rlen - c->roff, WS_FROM_SERVER, &f);
		if (n < 0) {
			c->closed = 1;
			return -EPROTO;
		}
		if (n > 0) {
			c->roff += (size_t)n;
			switch (f.opcode) {
			case WS_PING:
				if (bx_ws_send(c, WS_PONG, f.payload, f.len) < 0)
					return -EPIPE;
				continue;
			case WS_PONG:
				continue;
			case WS_CLOSE:
				bx_ws_send(c, WS_CLOSE, f.payload, f.len < 2 ? f.len : 2);
				c->closed = 1;
				return -EPIPE;
			default: {
				int rc = ws_message_add(&c->msg, &f);
				if (rc < 0) {
					c->closed = 1;
					return -EPROTO;
				}
				if (rc) {
					*op = c->msg.op;
					*data = c->msg.buf;
					*len = c->msg.len;
					return 1;
				}
				continue;
			}
			}
		}
		int left = deadline < 0 ? -1 : (int)(deadline - ms_now());
		if (deadline >= 0 && left < 0)
			left = 0;
		int rc = fill(c, left);
		if (rc < 0) {
			c->closed = 1;
			return rc;
		}
		if (rc == 0)
			return 0;
	}
}

int bx_ws_fd(const struct bx_ws *c)
{
	return c->sock;
}

void bx_ws_close(struct bx_ws *c)
{
	if (!c)
		return;
	if (!c->closed) {
		uint8_t code[2] = { WS_CLOSE_NORMAL >> 8, WS_CLOSE_NORMAL & 0xff };
		bx_ws_send(c, WS_CLOSE, code, 2);
	}
	curl_easy_cleanup(c->h);
	free(c->rbuf);
	free(c->msg.buf);
	free(c);
}

/* The value of header name in the response head, or NULL. */
static const char *header_value(char *head, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	for (char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		char *line = p + 2;
		if (!strncasecmp(line, name, nl) && line[nl] == ':') {
			char *v = line + nl + 1, *end = strstr(v, "\r\n");
			while (*v == ' ' || *v == '\t')
				v++;
			*vlen = end ? (size_t)(end - v) : strlen(v);
			return v;
		}
	}
	return NULL;
}

int bx_ws_open(struct bx_rest *r, const char *path, const char *header_name, char *header, size_t header_size,
	       struct bx_ws **out, long *status_out, struct bx_error *err)
{
	struct curl_slist *hdrs = NULL;
	struct bx_ws *c = calloc(1, sizeof(*c));
	char key[25], accept[29], *req = NULL, *rpath = NULL, *end = NULL;
	curl_socket_t sock;
	long status;
	CURLcode cc;
	int rc, n;

	*out = NULL;
	if (status_out)
		*status_out = 0;
	if (header && header_size)
		header[0] = 0;
	if (!c || !(c->rbuf = malloc(RBUF)) || !(c->msg.buf = malloc(WS_MAX_PAYLOAD)) ||
	    !(c->h = bx_rest_handle(r, "GET", path, &hdrs)) || !(rpath = bx_rest_path(r, path, 0))) {
		rc = bx_err(err, -ENOMEM, "out of memory");
		goto fail;
	}
	curl_slist_free_all(hdrs);
	curl_easy_setopt(c->h, CURLOPT_CONNECT_ONLY, 1L);
	if ((cc = curl_easy_perform(c->h)) != CURLE_OK) {
		rc = bx_rest_curl_error(r, cc, err);
		goto fail;
	}
	curl_easy_getinfo(c->h, CURLINFO_ACTIVESOCKET, &sock);
	c->sock = sock;
	ws_new_key(key);
	ws_accept_key(key, accept);
	n = asprintf(&req,
		     "GET %s HTTP/1.1\r\nHost: %s\r\n%s%sUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nUser-Agent: libboxlite\r\n\r\n",
		     rpath, r->hostport, r->auth ? r->auth : "", r->auth ? "\r\n" : "", key);
	if (n < 0 || send_all(c, req, (size_t)n) < 0) {
		rc = bx_err(err, -ECONNRESET, "the connection to %s broke during the attach", r->url);
		goto fail;
	}
	/* The answer's head: 101, or an error with its envelope. */
	while (!(end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4))) {
		if (c->rlen >= 65536 || (rc = fill(c, 30000)) <= 0) {
			rc = bx_err(err, -ECONNRESET, "no answer from %s to the attach", r->url);
			goto fail;
		}
	}
	*end = 0;
	if (sscanf((char *)c->rbuf, "HTTP/1.%*d %ld", &status) != 1)
		status = 0;
	if (status_out)
		*status_out = status;
	if (status != 101) {
		size_t vlen = 0, head = (size_t)((uint8_t *)end - c->rbuf) + 4;
		const char *cl = header_value((char *)c->rbuf, "Content-Length", &vlen);
		size_t want = head + (cl ? strtoul(cl, NULL, 10) : 0);
		while (c->rlen < want && want < RBUF && fill(c, 30000) > 0)
			;
		rc = bx_rest_error(status, (char *)c->rbuf + head, c->rlen > head ? c->rlen - head : 0, err);
		goto fail;
	}
	{
		size_t vlen = 0;
		const char *a = header_value((char *)c->rbuf, "Sec-WebSocket-Accept", &vlen);
		if (!a || vlen != 28 || memcmp(a, accept, 28)) {
			rc = bx_err(err, -EPROTO, "the server at %s did not accept the WebSocket handshake", r->url);
			goto fail;
		}
		if (header && header_name && (a = header_value((char *)c->rbuf, header_name, &vlen)))
			snprintf(header, header_size, "%.*s", (int)vlen, a);
	}
	c->roff = (size_t)((uint8_t *)end - c->rbuf) + 4;
	free(req);
	free(rpath);
	*out = c;
	return 0;
fail:
	free(req);
	free(rpath);
	if (c) {
		c->closed = 1;
		bx_ws_close(c);
	}
	return rc;
}
