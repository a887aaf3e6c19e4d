/* Inside `boxlite serve`: the server's state, a request as handlers see it
 * (no libmicrohttpd types), and the response they fill in. */
#ifndef BX_SERVER_SRV_H
#define BX_SERVER_SRV_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "boxlite.h"
#include "server.h"

struct srv_box;
struct srv_exec;

/* Counters of GET /v1/metrics (RuntimeMetrics). */
struct srv_counters {
	uint64_t boxes_created, boxes_failed, boxes_stopped, commands, exec_errors;
};

struct srv {
	boxlite_runtime *rt;
	const char *api_key; /* NULL: no authentication */
	const char *openapi_path;
	pthread_mutex_t mu;  /* the maps and counters below */
	struct srv_box *boxes;   /* handles this server holds, by id */
	struct srv_exec *execs;  /* executions, by id */
	pthread_cond_t exec_gone; /* an execution was freed */
	unsigned execs_alive;     /* executions not yet freed, evicted ones too */
	struct srv_counters n;
	int stopping;
	/* reaper policy (rest-api.md §6), ns */
	uint64_t reconnect_grace, shutdown_grace, max_lifetime, retention;
};

struct srv_req {
	const char *method;
	const char *path;
	const char *params[4];   /* {box_id}, {exec_id}, ... in pattern order */
	void *conn;              /* the MHD connection, for srv_query/srv_header */
	const char *body;
	size_t body_len;
	char request_id[40];
};

/* What a handler answers. A JSON body, no body, or a body made by a
 * callback (file downloads); upgrade is set for WebSocket routes. */
struct srv_resp {
	unsigned status;
	char *body;              /* malloc'd */
	size_t len;
	const char *content_type;
	char header_name[48], header_value[96]; /* one extra header, or "" */
	void *mhd;               /* a prepared MHD response (streams, upgrades) */
	void *upgrade;           /* the pending WebSocket session (http.c) */
};

typedef void (*srv_handler)(struct srv *s, struct srv_req *r, struct srv_resp *out);

/* A route that takes its body as a stream (uploads): begin once the headers
 * are in (returns 0, or -1 having answered in out), data for each piece,
 * end to answer; end with out NULL when the client went away first. */
struct srv_upload_ops {
	int (*begin)(struct srv *s, struct srv_req *r, struct srv_resp *out, void **state);
	void (*data)(void *state, const char *buf, size_t len);
	void (*end)(struct srv *s, struct srv_req *r, struct srv_resp *out, void *state);
};

/* routes.c */
struct srv_route {
	const char *method;
	const char *pattern; /* after /v1 (and the optional {prefix}) */
	srv_handler fn;
	unsigned flags;
	const struct srv_upload_ops *upload; /* instead of fn, for streamed bodies */
};
#define SRV_ROUTE_PUBLIC 1u    /* no authentication (GET /v1/config) */
#define SRV_ROUTE_NO_PREFIX 2u /* never under a {prefix} (config, me, openapi) */
/* Finds the route of method + path ("/v1/..."), filling r->params. Returns
 * it, or NULL with *path_known set when the path exists for other methods
 * (then 405) and clear when it does not (404). */
const struct srv_route *srv_route_find(const char *method, const char *path, struct srv_req *r,
				       int *path_known);

/* http.c: request helpers */
const char *srv_query(struct srv_req *r, const char *key);
const char *srv_header(struct srv_req *r, const char *name);
/* A query flag: "true"/"1" is 1, "false"/"0" 0, absent def, else -1. */
int srv_query_bool(struct srv_req *r, const char *key, int def);

/* http.c: answers 101 and hands the socket to srv_ws_session on a thread
 * of its own; takes over one reference to x and its attached flag (both
 * released when the session ends, or if the upgrade never happens). */
int srv_upgrade(struct srv_resp *out, struct srv *s, struct srv_exec *x, const char *accept);
/* A 200 whose body is read from fd to its end; done(arg) runs when the
 * response is over (sent, or the client left), after fd is closed. */
int srv_stream_response(struct srv_resp *out, int fd, const char *content_type, void (*done)(void *), void *arg);

/* errors.c: responses. srv_json steals j. */
void srv_json(struct srv_resp *out, unsigned status, json_t *j);
void srv_empty(struct srv_resp *out, unsigned status);
void srv_error(struct srv_resp *out, struct srv_req *r, unsigned status, const char *type, const char *code,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The envelope of a library error (freed here), by its errno; ctx says what
 * was being done where one errno means different things. */
enum srv_ctx { SRV_CTX_BOX, SRV_CTX_CREATE, SRV_CTX_START, SRV_CTX_EXEC, SRV_CTX_IMAGE, SRV_CTX_FILES };
void srv_error_lib(struct srv_resp *out, struct srv_req *r, int rc, boxlite_error *e, enum srv_ctx ctx);
void srv_bad_request(struct srv_resp *out, struct srv_req *r, int parse_rc, const char *msg);
void srv_unsupported(struct srv_resp *out, struct srv_req *r, const char *what);

/* auth.c: 1 when the request may pass. */
int srv_auth_ok(const struct srv *s, const char *authorization);

/* boxes.c: the server's box handles, shared by requests. srv_box_get finds a
 * box by id or name and returns it locked (its handle is one thread's at a
 * time); srv_box_put unlocks it. */
struct srv_box {
	struct srv_box *next;
	char id[16];
	boxlite_box *box;
	pthread_mutex_t mu;
	unsigned refs;
	int gone;    /* removed: the handle is freed when the last ref goes */
	unsigned execs; /* its executions not yet freed (srv.mu) */
	/* BoxMetrics counters (srv.mu) */
	uint64_t commands, exec_errors, bytes_in, bytes_out;
};
int srv_box_get(struct srv *s, const char *key, struct srv_box **out, boxlite_error **err);
/* The route's {box_id}, locked (srv_box_put), or NULL having answered
 * the error (404 ...). */
struct srv_box *srv_route_box(struct srv *s, struct srv_req *r, struct srv_resp *out);
/* Adopts a handle this server created (locked and referenced, as get); the
 * server keeps it to the end, when freeing it stops the box unless detached. */
struct srv_box *srv_box_adopt(struct srv *s, boxlite_box *box);
void srv_box_put(struct srv *s, struct srv_box *b);
/* A reference without the lock (executions hold one on their box). */
void srv_box_ref(struct srv *s, struct srv_box *b);
void srv_box_unref(struct srv *s, struct srv_box *b);
/* Marks b removed (its handle was freed by boxlite_box_remove). */
void srv_box_forget(struct srv *s, struct srv_box *b);
/* At shutdown: frees every handle (non-detached boxes this server started stop). */
void srv_boxes_free(struct srv *s);
/* Box as the API's Box schema. */
json_t *srv_box_json(const boxlite_box_info *info);

/* executions.c: running commands, by execution id (rest-api.md §6). */
struct srv_exec {
	struct srv_exec *next;
	char id[40];
	char box_id[16];
	struct srv_box *box;   /* referenced: the box handle outlives ours */
	boxlite_exec *h;
	unsigned refs;         /* under srv.mu */
	int evicted;           /* out of the map; freed at the last reference */
	pthread_mutex_t mu;    /* calls on h (other than fd I/O) and the fields below */
	int attached, done, killed, main_session, tty;
	int stdin_busy;        /* the request's stdin is being written (h_exec.c) */
	boxlite_exit_status st;
	int wait_rc;           /* 0, or why the status is unknown (-EIO: box stopped) */
	uint64_t started_ns, done_ns, idle_since_ns;
	int hup_sent, term_sent;
	uint32_t timeout_ms;
};
/* Registers h (referencing b); returns it referenced, or NULL (ENOMEM). */
struct srv_exec *srv_exec_add(struct srv *s, struct srv_box *b, boxlite_exec *h, int main_session, int tty,
			      uint32_t timeout_ms);
/* By id, referenced, or NULL. */
struct srv_exec *srv_exec_find(struct srv *s, const char *id);
/* The running main session of box_id, referenced, or NULL. */
struct srv_exec *srv_exec_find_main(struct srv *s, const char *box_id);
void srv_exec_put(struct srv *s, struct srv_exec *x);
/* Takes x out of the map (it is freed at its last reference). */
void srv_exec_evict(struct srv *s, struct srv_exec *x);
/* With x->mu held: notes the exit if it happened (wait with timeout_ms);
 * returns x->done. */
int srv_exec_poll_locked(struct srv_exec *x, int timeout_ms);
/* With x->mu held: once the command has ended and no client or stdin
 * writer uses it, frees the exec handle (and its connection to the box's
 * shim, of which a box takes a limited number); the status stays. */
void srv_exec_release_locked(struct srv_exec *x);
/* Kills and frees every execution of b (before b is removed), or all when
 * b is NULL (shutdown). Waits up to 10 s for attached clients to let go. */
void srv_execs_drop(struct srv *s, struct srv_box *b);
/* The reaper thread: orphans get SIGHUP, SIGTERM, SIGKILL; finished
 * executions are forgotten after the retention time. */
void *srv_reaper_main(void *s);
uint64_t srv_now_ns(void);
void srv_uuid(char out[37]);

/* ws_session.c: the WebSocket side of an attach, on the upgraded socket. */
void srv_ws_session(struct srv *s, struct srv_exec *x, int sock, const char *extra, size_t extra_len);

/* handlers */
void h_config(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_me(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_openapi(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_unsupported(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_runtime_metrics(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_create(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_list(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_get(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_head(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_delete(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_start(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_stop(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_metrics(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_clone(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_exec_start(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_exec_get(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_exec_kill(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_exec_signal(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_exec_resize(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_exec_attach(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_attach(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_files_get(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_logs(struct srv *s, struct srv_req *r, struct srv_resp *out);
extern const struct srv_upload_ops h_files_put;
extern const struct srv_upload_ops h_box_import;
void h_box_export(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_box_checkpoint(struct srv *s, struct srv_req *r, struct srv_resp *out);
/* h_boxes.c: answers status with the box as the API's Box object. */
void srv_reply_box(struct srv *s, struct srv_req *r, struct srv_resp *out, struct srv_box *b, unsigned status);
void h_snapshot_create(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_snapshot_list(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_snapshot_get(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_snapshot_delete(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_snapshot_restore(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_images_list(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_images_pull(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_image_get(struct srv *s, struct srv_req *r, struct srv_resp *out);
void h_image_head(struct srv *s, struct srv_req *r, struct srv_resp *out);

#endif
