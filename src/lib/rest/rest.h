/* The library's REST client: a runtime opened on a URL drives a server of
 * the reference REST API (`boxlite serve`, docs/remote.md) behind the same
 * public calls as a local runtime. HTTP on libcurl; WebSocket framing from
 * src/websocket, shared with the server. */
#ifndef BOXLITE_LIB_REST_H
#define BOXLITE_LIB_REST_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "ws.h"

struct bx_rest;

/* url: "http://host:port" (https too; a trailing "/" is dropped); key: the
 * bearer token or NULL; prefix: the {prefix} routing slot or NULL. Asks
 * GET /v1/me, so a wrong URL or key fails here. */
int bx_rest_open(const char *url, const char *key, const char *prefix, struct bx_rest **out, struct bx_error *err);
void bx_rest_close(struct bx_rest *r);
const char *bx_rest_url(const struct bx_rest *r);

/* METHOD /v1[/prefix]PATH (PATH starts with "/"; "/config" and "/me" never
 * take the prefix) with an optional JSON body. 2xx: 0 with the answer in
 * *resp (NULL for no body; resp may be NULL). Otherwise the error the
 * envelope names, as a negative errno (not_found: -ENOENT, unsupported:
 * -ENOTSUP, unauthenticated: -EACCES, ...) with the server's message.
 * *status (may be NULL): the HTTP status, 0 when none came. */
int bx_rest_json(struct bx_rest *r, const char *method, const char *path, json_t *body, json_t **resp,
		 long *status, struct bx_error *err);
/* The errno of an envelope's code (0 for an unknown one). */
int bx_rest_errno(const char *code, long status);

/* PUT PATH with the body read from fd to its end (chunked). */
int bx_rest_put_fd(struct bx_rest *r, const char *path, const char *content_type, int fd, struct bx_error *err);
/* GET PATH, the body written to fd. */
int bx_rest_get_fd(struct bx_rest *r, const char *path, int fd, struct bx_error *err);
/* POST PATH with "{}", the answer's body written to fd. */
int bx_rest_post_to_fd(struct bx_rest *r, const char *path, int fd, struct bx_error *err);
/* POST PATH with the body read from fd (chunked); the JSON answer in *resp. */
int bx_rest_post_fd(struct bx_rest *r, const char *path, const char *content_type, int fd, json_t **resp,
		    struct bx_error *err);

/* A WebSocket to PATH (an attach). header, when not NULL, receives the
 * value of the response header named by header_name ("" when absent);
 * *status (may be NULL) the HTTP status of a refusal. */
struct bx_ws;
int bx_ws_open(struct bx_rest *r, const char *path, const char *header_name, char *header, size_t header_size,
	       struct bx_ws **out, long *status, struct bx_error *err);
/* Sends one masked frame. 0 or -EPIPE. */
int bx_ws_send(struct bx_ws *c, enum ws_opcode op, const void *data, size_t len);
/* The next whole message (pings answered, fragments joined): 1 with *op,
 * *data (valid until the next call) and *len; 0 when none came within
 * timeout_ms; -EPIPE when the connection closed. */
int bx_ws_recv(struct bx_ws *c, int timeout_ms, enum ws_opcode *op, uint8_t **data, size_t *len);
/* A descriptor that polls readable when bx_ws_recv may have something. */
int bx_ws_fd(const struct bx_ws *c);
void bx_ws_close(struct bx_ws *c);

#endif
