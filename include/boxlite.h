/* libboxlite: run OCI images in micro-VMs, embedded in your program.
 *
 * Conventions (they hold for every function below):
 *  - Functions that can fail return 0 on success or a negative errno. When
 *    `err` is not NULL they also store a newly allocated error object there,
 *    which the caller frees with boxlite_error_free(). Pass NULL to ignore.
 *  - Handles are opaque. A handle is used by one thread at a time; distinct
 *    handles may be used from distinct threads.
 *  - The library never prints, never exits, never installs signal handlers
 *    and never takes over the caller's process: every box runs in its own
 *    `boxlite-shim` process, which the library spawns.
 *  - Strings are NUL-terminated UTF-8; arrays of strings are NULL-terminated.
 *  - Structs passed in carry their own size in `struct_size` so they can grow
 *    without breaking callers built against an older header.
 */
#ifndef BOXLITE_H
#define BOXLITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BOXLITE_VERSION_MAJOR 0
#define BOXLITE_VERSION_MINOR 1
#define BOXLITE_VERSION_PATCH 0

/* The library's version string, e.g. "0.1.0". */
const char *boxlite_version(void);

/* ------------------------------------------------------------------ errors */

typedef struct boxlite_error boxlite_error;

/* Where an error comes from. */
enum boxlite_error_origin {
	BOXLITE_ORIGIN_RUNTIME = 0, /* the runtime: image, disk, VM, channel */
	BOXLITE_ORIGIN_EXEC = 1,    /* the command could not be started in the box
				       (code -ENOENT: not found; -EACCES/-ENOEXEC:
				       not executable) */
};

/* The negative errno of the failure. */
int boxlite_error_code(const boxlite_error *err);
/* A one-line message that says what failed and, where possible, what to do. */
const char *boxlite_error_message(const boxlite_error *err);
enum boxlite_error_origin boxlite_error_origin(const boxlite_error *err);
/* NULL-safe. */
void boxlite_error_free(boxlite_error *err);

/* ----------------------------------------------------------------- runtime */

typedef struct boxlite_runtime boxlite_runtime;

/* Opens the runtime on a home directory.
 * Arguments: home: directory for images and boxes; NULL means
 *   $BOXLITE_HOME, else ~/.boxlite. Created (mode 0700) when missing.
 * Returns: 0; -ENOENT when the runtime's own files (kernel, shim) are
 *   missing; -EACCES when home cannot be created.
 * Notes: several processes may open the same home at once. */
int boxlite_runtime_open(const char *home, boxlite_runtime **out, boxlite_error **err);

/* Closes the runtime. Boxes still open through it are not stopped; close or
 * remove them first. NULL-safe. */
void boxlite_runtime_close(boxlite_runtime *rt);

const char *boxlite_runtime_home(const boxlite_runtime *rt);

/* Facts about the runtime, for `boxlite info`. Strings stay valid until the
 * runtime is closed. */
typedef struct boxlite_runtime_info {
	uint32_t struct_size;
	const char *version;
	const char *home;
	const char *accel;        /* "kvm" or "tcg" */
	const char *accel_reason; /* why that accelerator was chosen */
	const char *kernel;       /* path of the guest kernel */
	const char *initramfs;    /* path of the agent initramfs */
	const char *shim;         /* path of boxlite-shim */
	const char *qemu;         /* path of the engine binary */
} boxlite_runtime_info;

/* Fills info. Decides the accelerator if not decided yet: with
 * BOXLITE_ACCEL=auto (the default) that may boot one probe VM under KVM
 * (a few seconds at most, once per host boot; the verdict is cached).
 * Returns: 0, or -errno when the probe could not run at all. */
int boxlite_runtime_info_get(boxlite_runtime *rt, boxlite_runtime_info *info, boxlite_error **err);

/* -------------------------------------------------------------------- boxes */

typedef struct boxlite_box_options boxlite_box_options;

/* Options for a new box running `image` (e.g. "localhost/busybox:latest").
 * Returns NULL only when out of memory. */
boxlite_box_options *boxlite_box_options_new(const char *image);
/* 1..64, default 1. Returns 0 or -EINVAL. */
int boxlite_box_options_set_cpus(boxlite_box_options *o, uint32_t cpus);
/* Guest RAM in MiB, 64..65536, default 512. Returns 0 or -EINVAL. */
int boxlite_box_options_set_memory_mib(boxlite_box_options *o, uint32_t mib);
/* Adds "KEY=VALUE" to the environment of every command in the box (on top
 * of the image's). Values may be secrets: they never appear in any command
 * line or log. Returns 0, -EINVAL (no '=') or -ENOMEM. */
int boxlite_box_options_add_env(boxlite_box_options *o, const char *key_value);
/* Default working directory of commands (else the image's, else "/"). */
int boxlite_box_options_set_workdir(boxlite_box_options *o, const char *dir);
/* 1 (default): user-mode networking; 0: no network interface at all. */
int boxlite_box_options_set_network(boxlite_box_options *o, int enabled);
/* 0 (default): the box is shut down when this process exits or dies, even
 * by SIGKILL. 1: the box outlives this process and its terminal. */
int boxlite_box_options_set_detach(boxlite_box_options *o, int detach);
/* The box's main command, replacing the image's Cmd (the image's Entrypoint,
 * if any, still comes first, as in docker). Copied. Returns 0, -EINVAL
 * (empty) or -ENOMEM. */
int boxlite_box_options_set_command(boxlite_box_options *o, const char *const *argv);
/* NULL-safe. */
void boxlite_box_options_free(boxlite_box_options *o);

typedef struct boxlite_box boxlite_box;

/* Creates a box: resolves the image (importing a built-in image into the
 * home on first use) and prepares its disk. Nothing boots until start.
 * Returns: 0; -ENOENT (image not found; the message lists what exists);
 *   -EINVAL (bad options); -EIO (disk creation failed). */
int boxlite_box_create(boxlite_runtime *rt, const boxlite_box_options *opts, boxlite_box **out,
		       boxlite_error **err);

/* The box's 12-character id. */
const char *boxlite_box_id(const boxlite_box *box);

/* Boots the box and waits until its agent is ready.
 * Returns: 0; -EALREADY when running; -ETIMEDOUT when the guest was not
 *   ready in time ($BOXLITE_READY_TIMEOUT_MS, default 30000); -EIO when the
 *   VM failed (the message quotes the reason from the box's logs). */
int boxlite_box_start(boxlite_box *box, boxlite_error **err);

/* Stops the box: graceful guest shutdown (sync), then SIGTERM to its shim,
 * then SIGKILL after 2 s. timeout_ms bounds the graceful part (0: 10 s).
 * Returns: 0 (also when already stopped). */
int boxlite_box_stop(boxlite_box *box, uint32_t timeout_ms, boxlite_error **err);

/* Stops the box if running, deletes its files and frees the handle (even on
 * failure). Returns 0 or -errno when some file could not be removed. */
int boxlite_box_remove(boxlite_box *box, boxlite_error **err);

/* Frees the handle. A non-detached running box is shut down; a detached
 * one keeps running. NULL-safe. */
void boxlite_box_free(boxlite_box *box);

/* Boot stage timestamps, in nanoseconds since the Unix epoch (host clock),
 * 0 when a stage has not happened. guest_* are guest uptimes. */
typedef struct boxlite_timings {
	uint32_t struct_size;
	uint64_t spawn;       /* library spawned the shim */
	uint64_t shim_start;  /* shim main() */
	uint64_t qemu_start;  /* shim spawned QEMU */
	uint64_t agent_hello; /* agent's first frame reached the shim */
	uint64_t ready;       /* root mounted, box ready */
	uint64_t exec_start;  /* last exec: request sent */
	uint64_t exec_started;/* last exec: process running in the guest */
	uint64_t exec_exit;   /* last exec: exit status received */
	uint64_t guest_agent_start; /* guest uptime when the agent started */
	uint64_t guest_ready;       /* guest uptime when the agent said hello */
	uint64_t guest_setup_done;  /* guest uptime when the root was mounted */
} boxlite_timings;

/* Copies the box's timings into *out (set out->struct_size first). */
void boxlite_box_timings(const boxlite_box *box, boxlite_timings *out);

/* --------------------------------------------------------------------- exec */

typedef struct boxlite_exec_options {
	uint32_t struct_size;    /* sizeof(boxlite_exec_options) */
	const char *const *argv; /* argv[0] is looked up in PATH; NULL runs the
				    box's main command (entrypoint + command) */
	const char *const *env;  /* "K=V" added on top of image and box env; may be NULL */
	const char *workdir;     /* NULL: box default */
	const char *user;        /* NULL: image default; "name", "uid" or "uid:gid" */
	uint32_t timeout_ms;     /* 0: none; else SIGTERM, then SIGKILL 2 s later */
} boxlite_exec_options;

enum boxlite_stream { BOXLITE_STDOUT = 1, BOXLITE_STDERR = 2 };

/* Receives output as it arrives. Called on the thread that called exec. */
typedef void (*boxlite_output_fn)(void *user_data, enum boxlite_stream stream, const void *data,
				  size_t len);

typedef struct boxlite_exit_status {
	int32_t exit_code; /* when the process exited normally, else -1 */
	int32_t signal;    /* the signal that killed it, else 0 */
} boxlite_exit_status;

/* Runs a command in a running box, streaming its output to `output` (NULL
 * to discard), with empty stdin, and waits for it to end.
 * Returns: 0 with *status filled; an error with origin BOXLITE_ORIGIN_EXEC
 *   and -ENOENT/-EACCES/-ENOEXEC when the command could not be started;
 *   -ENOTCONN when the box is not running; -EIO when the box died. */
int boxlite_box_exec(boxlite_box *box, const boxlite_exec_options *opts, boxlite_output_fn output,
		     void *user_data, boxlite_exit_status *status, boxlite_error **err);

/* Blocking convenience: runs argv, collects stdout and stderr (each capped at
 * 64 MiB; the rest is discarded) into malloc'd NUL-terminated buffers the
 * caller frees. Any of the out pointers may be NULL. Returns as
 * boxlite_box_exec. */
int boxlite_box_run(boxlite_box *box, const char *const *argv, boxlite_exit_status *status,
		    char **stdout_text, char **stderr_text, boxlite_error **err);

#ifdef __cplusplus
}
#endif

#endif
