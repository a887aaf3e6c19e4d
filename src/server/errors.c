/* Responses, and the error envelope every failure answers with
 * (rest-api.md §3): {"error":{"message","type","code","request_id"}}. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "srv.h"

void srv_json(struct srv_resp *out, unsigned status, json_t *j)
{
	out->status = status;
	free(out->body);
	out->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	out->len = out->body ? strlen(out->body) : 0;
	out->content_type = "application/json";
	json_decref(j);
	if (j && !out->body) /* out of memory: the envelope is static text */
		srv_error(out, NULL, 500, "InternalError", "internal", "out of memory");
}

void srv_empty(struct srv_resp *out, unsigned status)
{
	free(out->body);
	out->body = NULL;
	out->len = 0;
	out->status = status;
	out->content_type = NULL;
}

void srv_error(struct srv_resp *out, struct srv_req *r, unsigned status, const char *type, const char *code,
	       const char *fmt, ...)
{
	char msg[1024];
	json_t *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = json_pack("{s:s,s:s,s:s}", "message", msg, "type", type, "code", code);
	if (e && r && r->request_id[0])
		json_object_set_new(e, "request_id", json_string(r->request_id));
	free(out->body);
	e = e ? json_pack("{s:o}", "error", e) : NULL;
	out->body = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	if (!out->body) {
		static const char oom[] =
			"{\"error\":{\"message\":\"out of memory\",\"type\":\"InternalError\",\"code\":\"internal\"}}";
		out->body = strdup(oom);
		status = 500;
	}
	out->len = out->body ? strlen(out->body) : 0;
	out->status = status;
	out->content_type = "application/json";
}

/* errno → (status, type, code), the reference's BoxliteError::http() table. */
struct mapping {
	unsigned status;
	const char *type, *code;
};

static struct mapping map_errno(int rc, enum srv_ctx ctx)
{
	/* A tar stream the box could not take is the request's fault. */
	if (ctx == SRV_CTX_FILES && (rc == -EPIPE || rc == -EBADMSG || rc == -EPROTO || rc == -EILSEQ))
		return (struct mapping){ 400, "InvalidArgumentError", "invalid_argument" };
	switch (-rc) {
	case ENODATA:
		return (struct mapping){ 404, "NotFoundError", "not_found" };
	case ENOENT:
		if (ctx == SRV_CTX_CREATE || ctx == SRV_CTX_IMAGE)
			return (struct mapping){ 422, "ImageError", "image_pull_failed" };
		if (ctx == SRV_CTX_EXEC)
			return (struct mapping){ 422, "ExecutionError", "execution_failed" };
		return (struct mapping){ 404, "NotFoundError", "not_found" };
	case EACCES: case ENOEXEC: case EPERM:
		if (ctx == SRV_CTX_EXEC)
			return (struct mapping){ 422, "ExecutionError", "execution_failed" };
		if (ctx == SRV_CTX_CREATE || ctx == SRV_CTX_IMAGE)
			return (struct mapping){ 422, "ImageError", "image_pull_failed" };
		return (struct mapping){ 400, "InvalidArgumentError", "invalid_argument" };
	case EBADMSG:
		return (struct mapping){ 422, "ImageError", "image_pull_failed" };
	case EINVAL: case E2BIG: case ENAMETOOLONG: case ENOTDIR: case EISDIR: case ERANGE:
		return (struct mapping){ 400, "InvalidArgumentError", "invalid_argument" };
	case EEXIST:
		return (struct mapping){ 409, "AlreadyExistsError", "already_exists" };
	case EBUSY: case EALREADY: case EADDRINUSE: case EINPROGRESS:
		return (struct mapping){ 409, "InvalidStateError", "invalid_state" };
	case ENOTCONN: case ESRCH: case EPIPE:
		return (struct mapping){ 409, "StoppedError", "stopped" };
	case ENOTSUP: case ENOSYS:
		return (struct mapping){ 400, "UnsupportedError", "unsupported" };
	case ENOMEM: case ENOSPC: case EMFILE: case ENFILE: case EAGAIN: case EDQUOT:
		return (struct mapping){ 429, "ResourceExhaustedError", "resource_exhausted" };
	case EHOSTUNREACH: case ENETUNREACH: case ECONNREFUSED: case ECONNRESET:
		return (struct mapping){ 503, "NetworkError", "network_unavailable" };
	case ETIMEDOUT:
		return (struct mapping){ 504, "TimeoutError", "timeout" };
	case EIO:
		if (ctx == SRV_CTX_START)
			return (struct mapping){ 503, "EngineError", "engine_unavailable" };
		/* fall through */
	default:
		return (struct mapping){ 500, "InternalError", "internal" };
	}
}

void srv_error_lib(struct srv_resp *out, struct srv_req *r, int rc, boxlite_error *e, enum srv_ctx ctx)
{
	struct mapping m;

	if (e)
		rc = boxlite_error_code(e);
	if (e && ctx == SRV_CTX_EXEC && boxlite_error_origin(e) != BOXLITE_ORIGIN_EXEC)
		ctx = SRV_CTX_BOX;
	m = map_errno(rc, ctx);
	srv_error(out, r, m.status, m.type, m.code, "%s", e ? boxlite_error_message(e) : strerror(-rc));
	boxlite_error_free(e);
}

void srv_bad_request(struct srv_resp *out, struct srv_req *r, int parse_rc, const char *msg)
{
	if (parse_rc == SRV_UNSUPPORTED)
		srv_error(out, r, 400, "UnsupportedError", "unsupported", "%s", msg);
	else
		srv_error(out, r, 400, "InvalidArgumentError", "invalid_argument", "%s", msg);
}

void srv_unsupported(struct srv_resp *out, struct srv_req *r, const char *what)
{
	srv_error(out, r, 400, "UnsupportedError", "unsupported", "%s is not supported by this server yet", what);
}
