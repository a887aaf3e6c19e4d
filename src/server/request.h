/* Request bodies of the REST API (the reference's schemas, rest-api.md §5)
 * parsed and checked into plain structs. Bodies are untrusted: every parser
 * here takes any bytes, never reads past len, and on failure says which
 * field is wrong (fuzz/fuzz_server_request.c). */
#ifndef BX_SERVER_REQUEST_H
#define BX_SERVER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Why a body was refused: SRV_BAD_REQUEST is invalid_argument (400),
 * SRV_UNSUPPORTED a field this server does not take (400 unsupported). */
enum srv_parse_error { SRV_BAD_REQUEST = -1, SRV_UNSUPPORTED = -2 };

/* CreateBoxRequest. Absent numbers are 0, absent strings NULL, absent
 * booleans -1 (so "detach absent" is told from "detach false"). Strings and
 * arrays point into `json`, which owns them. */
struct srv_create_req {
	json_t *json;
	const char *name, *image, *rootfs_path, *working_dir, *user;
	uint32_t cpus, memory_mib, disk_size_gb;
	json_t *env;                  /* object of strings, or NULL */
	json_t *entrypoint, *cmd;     /* arrays of strings, or NULL */
	int network;                  /* -1 absent, 0 disabled, 1 enabled */
	json_t *allow_net;            /* array of strings, or NULL */
	json_t *cap_add, *cap_drop;   /* arrays of strings, or NULL */
	int detach, auto_remove, tty, auto_resume;
	int64_t auto_pause, auto_delete; /* -1 absent */
};

/* ExecRequest, plus the local server's `stdin` and our `user`. */
struct srv_exec_req {
	json_t *json;
	const char *command;
	json_t *args;                 /* array of strings, or NULL */
	json_t *env;                  /* object of strings, or NULL */
	const char *working_dir, *user;
	const char *stdin_data;       /* written, then stdin closed; NULL: none */
	size_t stdin_len;
	double timeout_seconds;       /* 0: none */
	int tty;
};

/* A WebSocket text frame from the client (§6). */
enum srv_control_type { SRV_CTL_RESIZE, SRV_CTL_SIGNAL, SRV_CTL_STDIN_EOF };
struct srv_control {
	enum srv_control_type type;
	int sig;
	uint16_t cols, rows;
};

/* Each returns 0, or an srv_parse_error with a message in err. The
 * json-owning structs are freed with srv_req_free (NULL-safe). */
int srv_parse_create(const char *body, size_t len, struct srv_create_req *out, char *err, size_t errlen);
int srv_parse_exec(const char *body, size_t len, struct srv_exec_req *out, char *err, size_t errlen);
/* {"signal": N}: N must be one the API lets through (srv_signal_allowed). */
int srv_parse_signal(const char *body, size_t len, int *sig, char *err, size_t errlen);
/* {"cols": C, "rows": R}, both 1..65535. */
int srv_parse_resize(const char *body, size_t len, uint16_t *cols, uint16_t *rows, char *err, size_t errlen);
/* StopBoxRequest {"timeout_seconds": N} (N 0..3600; absent: 30). */
int srv_parse_stop(const char *body, size_t len, uint32_t *timeout_ms, char *err, size_t errlen);
/* CreateSnapshotRequest {"name": N}; *name points into *json. */
int srv_parse_snapshot(const char *body, size_t len, json_t **json, const char **name, char *err, size_t errlen);
/* CloneBoxRequest {"name": N} (name optional; *name NULL then). */
int srv_parse_clone(const char *body, size_t len, json_t **json, const char **name, char *err, size_t errlen);
/* PullImageRequest {"reference": "alpine:3.19"}; *ref points into *json. */
int srv_parse_pull(const char *body, size_t len, json_t **json, const char **ref, char *err, size_t errlen);
int srv_parse_control(const char *text, size_t len, struct srv_control *out, char *err, size_t errlen);
void srv_req_free(json_t *json);

/* The signals a client may send by number (1,2,3,6,10,12,15,28: SIGKILL is
 * DELETE of the execution, as the reference server has it). */
int srv_signal_allowed(int sig);

#endif
