/* The public calls on a remote runtime (boxlite_runtime_open_remote): each
 * public function of the library checks rt->remote or box->remote first
 * and, when set, lands here. docs/remote.md says what works remotely. */
#ifndef BOXLITE_LIB_REMOTE_H
#define BOXLITE_LIB_REMOTE_H

#include <jansson.h>

#include "internal.h"

struct bx_rest;
struct bx_rbox;

/* A call a remote runtime cannot serve: -ENOTSUP naming it. */
int bx_remote_unsupported(struct bx_error *err, const char *what);

/* At the top of a public function (whose error out-parameter is errp):
 * when cond holds, answers with expr, a remote call given &e_ for its
 * error. */
#define BX_REMOTE(cond, expr)                                                                               \
	do {                                                                                                \
		if (cond) {                                                                                 \
			struct bx_error e_ = { 0 };                                                         \
			int r_ = (expr);                                                                    \
			return r_ < 0 ? bx_error_export(r_, &e_, BOXLITE_ORIGIN_RUNTIME, errp) : 0;          \
		}                                                                                           \
	} while (0)

int bx_remote_list(boxlite_runtime *rt, boxlite_box_info **out, size_t *count, struct bx_error *err);
int bx_remote_create(boxlite_runtime *rt, const boxlite_box_options *o, boxlite_box **out, struct bx_error *err);
int bx_remote_get(boxlite_runtime *rt, const char *key, boxlite_box **out, struct bx_error *err);

const char *bx_remote_box_id(const boxlite_box *box);
/* A handle on the Box document j (taken). */
int bx_remote_box_from_json(boxlite_runtime *rt, json_t *j, boxlite_box **out, struct bx_error *err);
/* count POST .../clone calls. */
int bx_remote_clone(boxlite_box *box, size_t count, const char *const *names, boxlite_box **out, struct bx_error *err);
void bx_remote_box_free(boxlite_box *box);
int bx_remote_start(boxlite_box *box, struct bx_error *err);
int bx_remote_stop(boxlite_box *box, uint32_t timeout_ms, struct bx_error *err);
/* Removes the box on the server (force) and frees the handle. */
int bx_remote_remove(boxlite_box *box, struct bx_error *err);
int bx_remote_info(boxlite_box *box, boxlite_box_info *info, struct bx_error *err);
int bx_remote_inspect(boxlite_box *box, char **json, struct bx_error *err);
int bx_remote_wait(boxlite_box *box, uint32_t timeout_ms, int32_t *exit_code, struct bx_error *err);
int bx_remote_stats(boxlite_box *box, boxlite_box_stats *out, struct bx_error *err);
/* The snapshot routes. */
int bx_remote_snapshot_create(boxlite_box *box, const char *name, struct bx_error *err);
/* POST /boxes/{id}/checkpoint. */
int bx_remote_checkpoint(boxlite_box *box, struct bx_error *err);
/* POST /boxes/{id}/export, the archive written to fd as it comes. */
int bx_remote_export(boxlite_box *box, int fd, struct bx_error *err);
/* POST /boxes/import[?name=] with the archive read from fd. */
int bx_remote_import(boxlite_runtime *rt, int fd, const char *name, boxlite_box **out, struct bx_error *err);
int bx_remote_snapshot_list(boxlite_box *box, boxlite_snapshot_info **out, size_t *count, struct bx_error *err);
int bx_remote_snapshot_restore(boxlite_box *box, const char *name, struct bx_error *err);
int bx_remote_snapshot_remove(boxlite_box *box, const char *name, struct bx_error *err);
/* GET /boxes/ID/logs into fd. */
int bx_remote_logs(boxlite_box *box, int console, int fd, struct bx_error *err);

/* An execution as an exec handle whose fds and calls behave as a local
 * one's. attach: 0 runs o->argv; 1 attaches to the box's main command, 3
 * with its stdin. */
int bx_remote_exec_start(boxlite_box *box, const boxlite_exec_options *o, int attach, boxlite_exec **out,
			 enum boxlite_error_origin *origin, struct bx_error *err);
int bx_remote_exec_signal(boxlite_exec *x, int sig);
int bx_remote_exec_resize(boxlite_exec *x, uint16_t rows, uint16_t cols);
/* Frees the handle's remote part, its thread stopped (exec_destroy calls
 * it; nothing for a local handle). */
void bx_remote_exec_free(boxlite_exec *x);

/* Copies as boxlite_box_copy_{in,out}[_tar]_ex; exactly one of host_path
 * and tar_fd (>= 0) is given. */
int bx_remote_copy_in(boxlite_box *box, const char *host_path, int tar_fd, const char *guest_path,
		      const boxlite_copy_options *o, struct bx_error *err);
int bx_remote_copy_out(boxlite_box *box, const char *guest_path, const char *host_path, int tar_fd,
		       const boxlite_copy_options *o, struct bx_error *err);

#endif
