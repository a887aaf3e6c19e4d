/* libboxlite: run OCI images in micro-VMs, embedded in your program.
 *
 * Conventions (they hold for every function below):
 *  - Functions that can fail return 0 on success or a negative errno. When
 *    `err` is not NULL they also store a newly allocated error object there,
 *    which the caller frees with boxlite_error_free(). Pass NULL to ignore.
 *  - Handles are opaque. A box or exec handle is used by one thread at a
 *    time; distinct handles may be used from distinct threads. The runtime
 *    handle may be shared: its calls (and calls on boxes got through it)
 *    may run from several threads at once, except
 *    boxlite_runtime_set_image_registries and boxlite_runtime_close, which
 *    need it to themselves (a server serves many clients on one runtime).
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

/* Opens a runtime that drives a server of the REST API (`boxlite serve`,
 * or the reference system's) at url ("http://host:8100"; https too; a path
 * after the host is the API's base, e.g. "https://api.example.com/api"):
 * the box, exec, copy, wait, inspect and stats calls below then work as for
 * a local runtime (exec output streamed over a WebSocket, flow-controlled
 * end to end); calls the server cannot serve (images, registries, ports,
 * volumes, pause, the security mode) fail with -ENOTSUP naming the call.
 * api_key: the bearer token, or NULL; path_prefix: the API's {prefix}
 * routing slot, or NULL for none. Errors keep their class across the wire:
 * a box the server does not have is -ENOENT, as locally.
 * Returns: 0 once the server answered GET /v1/me; -ECONNREFUSED or
 *   -EHOSTUNREACH (unreachable); -EACCES (the key was refused); -EINVAL
 *   (not an http(s) URL).
 * boxlite_runtime_home returns the URL; boxlite_runtime_close frees it. */
int boxlite_runtime_open_remote(const char *url, const char *api_key, const char *path_prefix,
				boxlite_runtime **out, boxlite_error **err);
/* 1 for a runtime from boxlite_runtime_open_remote, else 0. */
int boxlite_runtime_is_remote(const boxlite_runtime *rt);
/* Who the server takes the caller for (GET /v1/me: sub, principal_type,
 * scopes, path_prefix, ...) as JSON, malloc'd (free()). Returns 0, -ENOTSUP
 * for a local runtime, or the errors of a request. */
int boxlite_runtime_whoami(boxlite_runtime *rt, char **json, boxlite_error **err);

/* What opening the runtime had to clean up in the home (boxes whose shim
 * had died, records without a directory, directories without a record),
 * one line each; "" when nothing. Valid until the runtime is closed. */
const char *boxlite_runtime_recovery_report(const boxlite_runtime *rt);

/* An image registry the runtime pulls from (the reference's ImageRegistry). */
typedef struct boxlite_image_registry {
	uint32_t struct_size;  /* sizeof(boxlite_image_registry) */
	const char *host;      /* "ghcr.io", "127.0.0.1:5000": HOST[:PORT], required */
	const char *transport; /* "https" (NULL: the default) or "http" */
	int skip_verify;       /* https without certificate or host name verification */
	int search;            /* unqualified names ("alpine") are tried here, in list order */
	const char *username;  /* basic auth, with password; or NULL */
	const char *password;
	const char *token;     /* a bearer token instead of a username, or NULL */
} boxlite_image_registry;

/* Sets the registries this runtime pulls with, replacing any set before
 * (n 0: none). Unqualified names are tried against the hosts with search
 * set, in order, the first that has the image winning; when none has
 * search, against <home>/registries.json's search list (default
 * docker.io). A listed host's transport, verification and credentials
 * apply to every pull from it and come before registries.json, the home's
 * logins and docker's config. The strings are copied.
 * Returns 0, or -EINVAL naming the bad entry (host with a scheme or path,
 * unknown transport, a username without a password, a token and a
 * username). */
int boxlite_runtime_set_image_registries(boxlite_runtime *rt, const boxlite_image_registry *regs, size_t n,
					 boxlite_error **err);

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
	/* Warm start (boxes clone a booted template VM; BOXLITE_WARM_START=0
	 * turns it off): on or off, and the templates the home holds. */
	int warm_start;
	uint32_t templates;
	uint64_t template_bytes;
	/* The engine's version ("10.0.2"; "" when it could not be asked), and
	 * whether warm-started boxes share their template's memory: 1 when the
	 * engine maps a template's RAM file copy-on-write (QEMU >= 8.2), so an
	 * idle clone holds only what its guest wrote; 0 when each clone loads
	 * its RAM from the template's saved state. */
	const char *engine_version;
	int template_memory_shared;
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
/* Publishes guest_port (tcp or udp; proto NULL = "tcp") on host_ip:host_port
 * through QEMU's user-mode network. host_ip NULL or "" = 127.0.0.1 (binding
 * all interfaces, "0.0.0.0", must be explicit; IPv4 only); host_port 0 = a
 * free port picked at create (see boxlite_box_ports). Repeatable; ignored with
 * network disabled. A port in use fails boxlite_box_start (-EADDRINUSE).
 * Returns 0 or -EINVAL. */
int boxlite_box_options_add_port(boxlite_box_options *o, const char *host_ip, uint32_t host_port,
				 uint32_t guest_port, const char *proto);
/* Shares host_path (a directory, or a file) with the box at guest_path
 * (absolute, no "." or ".." components) over virtio-9p, read-only when
 * read_only. Repeatable. A missing host path fails boxlite_box_create
 * (-ENOENT). host_path NULL or "": an anonymous volume, a new empty
 * directory under <home>/volumes/anonymous made at create and removed with
 * the box. Files the guest creates are owned on the host by the uid QEMU
 * runs as (docs/networking-volumes.md). Returns 0 or -EINVAL. */
int boxlite_box_options_add_volume(boxlite_box_options *o, const char *host_path,
				   const char *guest_path, int read_only);
/* Egress policy (docs/networking-volumes.md, "Egress policy"): once any
 * entry is added, the box reaches only the listed destinations; everything
 * else is refused at once (TCP, UDP, ICMP, IPv6 alike) and DNS answers only
 * permitted names. entry: "HOST" (that DNS name), "*.DOMAIN" (every name
 * below DOMAIN), an IPv4/IPv6 literal, or a CIDR ("10.0.0.0/8", "fd00::/8").
 * The host's loopback, reached as host.boxlite.internal, is "127.0.0.1".
 * Repeatable (at most 256). Needs the network: boxlite_box_create fails
 * (-EINVAL) with network disabled. Returns 0, -EINVAL (not one of these
 * forms), -E2BIG or -ENOMEM. */
int boxlite_box_options_add_allow_net(boxlite_box_options *o, const char *entry);
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

/* Frees the handle. A non-detached box that this handle started is shut
 * down; any other box (detached, or found with boxlite_box_get) keeps
 * running. NULL-safe. */
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

/* Resource use of a running box, as `boxlite stats` shows it. host_* are
 * measured on the host (/proc of the box's shim and its children: QEMU and
 * helpers); guest_* come from the guest agent's /proc/meminfo and clock, 0
 * when unknown (a paused box, an agent that did not answer within 2 s).
 * CPU % is the growth of host_cpu_ns between two calls over the wall time
 * between them. */
typedef struct boxlite_box_stats {
	uint32_t struct_size;             /* sizeof(boxlite_box_stats) */
	uint64_t host_rss_bytes;          /* resident memory of shim + QEMU */
	uint64_t host_cpu_ns;             /* user + system time of shim + QEMU so far */
	uint64_t guest_mem_total_bytes;   /* guest MemTotal */
	uint64_t guest_mem_available_bytes; /* guest MemAvailable */
	uint64_t guest_uptime_ns;         /* guest CLOCK_BOOTTIME */
	boxlite_timings timings;          /* boot stages, as boxlite_box_timings
					     (spawn is 0 unless this process started the box) */
} boxlite_box_stats;

/* Fills *out (set out->struct_size first) for a running or paused box; it
 * may be a handle from boxlite_box_get in another process. Takes up to ~2 s
 * when the guest is slow to answer.
 * Returns: 0; -ENOTCONN when the box is not running; -ENOENT when it was
 *   removed; -EINVAL on bad arguments. */
int boxlite_box_stats_get(boxlite_box *box, boxlite_box_stats *out, boxlite_error **err);

/* --------------------------------------------------------------------- exec */

typedef struct boxlite_exec_options {
	uint32_t struct_size;    /* sizeof(boxlite_exec_options) */
	const char *const *argv; /* argv[0] is looked up in PATH; NULL runs the
				    box's main command (entrypoint + command) */
	const char *const *env;  /* "K=V" added on top of image and box env; may be NULL */
	const char *workdir;     /* NULL: box default */
	const char *user;        /* NULL: image default; "name", "uid" or "uid:gid" */
	uint32_t timeout_ms;     /* 0: none; else SIGTERM, then SIGKILL 2 s later */
	/* Fields below were added after 0.1.0; set struct_size to
	 * sizeof(boxlite_exec_options) to use them (zero = default). */
	uint32_t tty;            /* 1: run on a pseudo-terminal (stdout and stderr
				    merged on stdout, as a terminal does) */
	uint16_t tty_rows, tty_cols; /* its size; 0: 24 x 80 */
} boxlite_exec_options;

enum boxlite_stream { BOXLITE_STDOUT = 1, BOXLITE_STDERR = 2 };

/* Receives output as it arrives. Called on the thread that called exec. */
typedef void (*boxlite_output_fn)(void *user_data, enum boxlite_stream stream, const void *data,
				  size_t len);

typedef struct boxlite_exit_status {
	int32_t exit_code; /* when the process exited normally, else -1 */
	int32_t signal;    /* the signal that killed it, else 0 */
} boxlite_exit_status;

/* Runs a command in the box, streaming its output to `output` (NULL to
 * discard), with empty stdin, and waits for it to end. A box that is not
 * up (never started, stopped or failed) and was created without a command
 * of its own is started first (create-then-exec; the same for the copy
 * calls); a box created with a command is not, as that would run it.
 * Returns: 0 with *status filled; an error with origin BOXLITE_ORIGIN_EXEC
 *   and -ENOENT/-EACCES/-ENOEXEC when the command could not be started;
 *   -ENOTCONN when the box is not running and was created with a command
 *   (the message says so); -EIO when the box died. */
int boxlite_box_exec(boxlite_box *box, const boxlite_exec_options *opts, boxlite_output_fn output,
		     void *user_data, boxlite_exit_status *status, boxlite_error **err);

/* Blocking convenience: runs argv, collects stdout and stderr (each capped at
 * 64 MiB; the rest is discarded) into malloc'd NUL-terminated buffers the
 * caller frees. Any of the out pointers may be NULL. Returns as
 * boxlite_box_exec. */
int boxlite_box_run(boxlite_box *box, const char *const *argv, boxlite_exit_status *status,
		    char **stdout_text, char **stderr_text, boxlite_error **err);

/* ------------------------------------------------------------ exec handles
 *
 * A running command with its own stdin, stdout and stderr. Design: each
 * handle has one internal thread that owns the connection to the box and
 * pumps bytes between it and three local sockets whose other ends the
 * caller gets as plain file descriptors. The caller reads stdout/stderr and
 * writes stdin with read(2)/write(2) in its own event loop (poll them, or
 * block on them); the library never runs the caller's loop, calls no
 * callbacks and raises no SIGPIPE. Flow control is end to end: the thread
 * grants the guest more output credit only as the caller reads, and reads
 * the caller's stdin only as the guest grants stdin credit, so a caller who
 * stops reading stalls that one command (it blocks in write(2) in the
 * guest) and no buffer anywhere grows beyond the credit window (1 MiB per
 * stream) plus the kernel's socket buffers.
 *
 * A handle is used by one thread at a time, except that wait() may block in
 * one thread while another reads or writes the fds. */

typedef struct boxlite_exec boxlite_exec;

/* Starts a command and returns once it runs in the guest.
 * Returns: 0 with *out set; errors as boxlite_box_exec (origin
 *   BOXLITE_ORIGIN_EXEC when the command could not be started). */
int boxlite_exec_start(boxlite_box *box, const boxlite_exec_options *opts, boxlite_exec **out,
		       boxlite_error **err);
/* Readable fds of the command's output. They reach end of file after the
 * command's last byte (stderr at once with a tty). Owned by the handle:
 * do not close them. Non-blocking mode may be set on them. */
int boxlite_exec_stdout_fd(const boxlite_exec *exec);
int boxlite_exec_stderr_fd(const boxlite_exec *exec);
/* Writable fd of the command's stdin (owned by the handle), for callers that
 * poll. Writing to it after the command ended fails with EPIPE (use
 * send(..., MSG_NOSIGNAL) or boxlite_exec_write_stdin to avoid SIGPIPE). */
int boxlite_exec_stdin_fd(const boxlite_exec *exec);
/* Writes all of buf to the command's stdin, blocking while the guest has
 * not consumed earlier input. Returns 0; -EPIPE when the command ended or
 * stdin was closed. Never raises SIGPIPE. */
int boxlite_exec_write_stdin(boxlite_exec *exec, const void *buf, size_t len, boxlite_error **err);
/* Ends stdin (the command reads end of file; on a tty: ^D). Idempotent. */
int boxlite_exec_close_stdin(boxlite_exec *exec);
/* Waits for the command to end. timeout_ms < 0: forever; 0: poll.
 * Returns: 0 with *status filled; -ETIMEDOUT; -EIO when the box stopped or
 *   the connection broke. Output not yet read stays readable. */
int boxlite_exec_wait(boxlite_exec *exec, int timeout_ms, boxlite_exit_status *status,
		      boxlite_error **err);
/* Sends signal sig (Linux numbering) to the command's process group.
 * Returns 0, -EINVAL or -ESRCH (already ended). */
int boxlite_exec_signal(boxlite_exec *exec, int sig);
/* Sets the tty's size (the command gets SIGWINCH). Returns 0, -EINVAL
 * (not a tty) or -ESRCH. */
int boxlite_exec_resize(boxlite_exec *exec, uint16_t rows, uint16_t cols);
/* Frees the handle; a command still running is killed. NULL-safe. */
void boxlite_exec_free(boxlite_exec *exec);

/* -------------------------------------------------------------------- copy
 *
 * docker cp semantics. A box that is not up is started first if it was
 * created without a command (as for boxlite_box_exec). Streamed as tar (no
 * temporary files, flow-controlled), preserving modes, numeric ownership
 * (in the box always; on the host when running as root), mtimes (seconds)
 * and symlinks (copied as links, never followed); hard links become copies.
 * Paths in the box resolve inside its root: no ".." or symlink can make a
 * copy read or write outside it. Extraction (either side) stays beneath the
 * destination directory: an entry with ".." or one that would pass through
 * a symlink leading out is refused with an error naming it (entries before
 * it have been written). Errors name the path and the reason.
 *
 * Destination rules: when dst is an existing directory the source goes
 * into it (dst/NAME); otherwise it becomes dst, whose parent must exist; a
 * dst ending in "/" must be an existing directory. A source ending in "/."
 * copies a directory's contents rather than the directory. */

/* Copies host_path (file, directory or symlink) to guest_path in the box.
 * Returns 0; -ENOENT (host path, or the box path's parent, missing);
 * -EPERM (escape refused); -ENOTDIR/-EISDIR (type clash); -errno. */
int boxlite_box_copy_in(boxlite_box *box, const char *host_path, const char *guest_path,
			boxlite_error **err);
/* Copies guest_path out of the box to host_path. Returns as copy_in. */
int boxlite_box_copy_out(boxlite_box *box, const char *guest_path, const char *host_path,
			 boxlite_error **err);
/* Extracts the tar stream read from tar_fd (to its end) into the existing
 * directory guest_dir. */
int boxlite_box_copy_in_tar(boxlite_box *box, int tar_fd, const char *guest_dir, boxlite_error **err);
/* Writes guest_path as a tar stream to tar_fd (not closed). */
int boxlite_box_copy_out_tar(boxlite_box *box, const char *guest_path, int tar_fd, boxlite_error **err);

/* What the _ex copies may do differently (all 0: as above). */
typedef struct boxlite_copy_options {
	uint32_t struct_size;  /* sizeof(boxlite_copy_options) */
	int follow_symlinks;   /* a source that is a symlink: copy its target, under the
				* link's name (docker cp -L); resolved inside the box's root */
	int no_overwrite;      /* keep what the destination holds: a file, link or device
				* whose name is taken is skipped (directories still merge) */
	/* Added after 0.1.0 (read when struct_size covers it): */
	int single_entry;      /* copy_in_tar: the stream holds one top-level entry (a file,
				* or "." or a directory with what is below it), placed by the
				* destination rules above: into guest_dir when that is an
				* existing directory, else as guest_dir itself (its parent must
				* exist). 0: guest_dir must be an existing directory. */
} boxlite_copy_options;
int boxlite_box_copy_in_ex(boxlite_box *box, const char *host_path, const char *guest_path,
			   const boxlite_copy_options *opts, boxlite_error **err);
int boxlite_box_copy_out_ex(boxlite_box *box, const char *guest_path, const char *host_path,
			    const boxlite_copy_options *opts, boxlite_error **err);
/* The tar-stream copies with options: no_overwrite applies to copy_in_tar
 * (entries whose name is taken in the box are skipped), follow_symlinks to
 * copy_out_tar (a symlink source is sent as its target). */
int boxlite_box_copy_in_tar_ex(boxlite_box *box, int tar_fd, const char *guest_dir,
			       const boxlite_copy_options *opts, boxlite_error **err);
int boxlite_box_copy_out_tar_ex(boxlite_box *box, const char *guest_path, int tar_fd,
				const boxlite_copy_options *opts, boxlite_error **err);

/* ---------------------------------------------------------------- lifecycle
 *
 * Boxes are persistent: create records a box in the home's store
 * (<home>/boxlite.db) and any process that opens the same home can find it
 * again with boxlite_box_get, inspect, exec into, stop or remove it. Several
 * processes may work on one home at once; operations that change a box take
 * a short per-box lock and never fail because another process uses the home.
 *
 * A box's main command (entrypoint + command) defines its life, as in
 * docker: the box's shim starts it as soon as the box is ready, writes its
 * output to <box>/main.log and, when it exits, stops the box, which keeps the
 * exit code. A box with no main command runs until it is stopped. */

/* A name for the box: 1..64 of [A-Za-z0-9_.-], starting with a letter or
 * digit, unique in the home. Returns 0, -EINVAL or -ENOMEM. */
int boxlite_box_options_set_name(boxlite_box_options *o, const char *name);
/* Default user of commands, main command included ("name", "uid",
 * "uid:gid"; default: the image's). Returns 0, -EINVAL or -ENOMEM. */
int boxlite_box_options_set_user(boxlite_box_options *o, const char *user);
/* Replaces the image's Entrypoint (argv, copied). An array holding only ""
 * clears it. Returns 0, -EINVAL (NULL or empty) or -ENOMEM. */
int boxlite_box_options_set_entrypoint(boxlite_box_options *o, const char *const *argv);
/* Size of the box's disk in GiB, 1..4096 (default: the image's size). The
 * guest grows its root filesystem to it at start. Returns 0 or -EINVAL. */
int boxlite_box_options_set_disk_size_gb(boxlite_box_options *o, uint32_t gb);
/* 1: the box removes itself (files and record) as soon as any process
 * sees that it has stopped (boxlite_box_wait still reports its exit code).
 * Default 0. */
int boxlite_box_options_set_auto_remove(boxlite_box_options *o, int auto_remove);
/* BOXLITE_SECURITY_JAIL (default): the box's shim and QEMU run jailed
 * (namespaces, pivot_root, no capabilities, seccomp, cgroup limits; see
 * docs/security.md). BOXLITE_SECURITY_DEVELOPMENT: no jail, for debugging
 * only (the shim logs a warning). Applies to starts by this handle; a box
 * started again later is jailed. Returns 0 or -EINVAL. */
enum boxlite_security { BOXLITE_SECURITY_JAIL = 0, BOXLITE_SECURITY_DEVELOPMENT = 1 };
int boxlite_box_options_set_security(boxlite_box_options *o, int security);
/* Runs the box's main command on a pseudo-terminal of rows x cols (0, 0:
 * 24 x 80), as docker run -t: stdout and stderr merged on stdout; resize
 * it through boxlite_box_attach_start's handle. Kept with the box: later
 * starts use a tty too. Returns 0 or -EINVAL. */
int boxlite_box_options_set_tty(boxlite_box_options *o, uint16_t rows, uint16_t cols);
/* When creating the box pulls its image: BOXLITE_PULL_MISSING (default)
 * when the home lacks it, BOXLITE_PULL_ALWAYS every time (the tag is
 * resolved again; only new layers download), BOXLITE_PULL_NEVER never
 * (a missing image fails create with -ENOENT). Returns 0 or -EINVAL. */
enum boxlite_pull_policy { BOXLITE_PULL_MISSING = 0, BOXLITE_PULL_ALWAYS = 1, BOXLITE_PULL_NEVER = 2 };
int boxlite_box_options_set_pull_policy(boxlite_box_options *o, int policy);

/* The box's root is a prepared root filesystem directory (absolute path)
 * instead of an image (the image given to boxlite_box_options_new is then
 * ignored; NULL or "" is fine). Create makes an ext4 root disk from the
 * tree (owners, modes, links and devices as they are on the host) and
 * caches it by the tree's content: a second box from an unchanged tree
 * reuses it. The box has no image config: PATH is the environment and there
 * is no default command (without one the box idles, for exec). The box's
 * image reads "rootfs:<path>". Returns 0, -EINVAL (relative path) or
 * -ENOMEM; create fails with -ENOENT/-ENOTDIR for a missing path and
 * -EINVAL for the host's own root. */
int boxlite_box_options_set_rootfs(boxlite_box_options *o, const char *dir);

/* Linux capabilities of the processes in the box (the main command and
 * every exec). By default they keep docker's 14 (CHOWN, DAC_OVERRIDE,
 * FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP,
 * NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE): the bounding set of
 * every process is limited to the box's set, and root holds exactly it.
 * Names as in capabilities(7), any case, with or without CAP_, or ALL.
 * Repeatable. A drop of ALL empties the set, an add of ALL fills it; named
 * drops then come out and named adds go in (an add wins over a drop of the
 * same name). Returns 0, -EINVAL (unknown name) or -ENOMEM. */
int boxlite_box_options_add_capability(boxlite_box_options *o, const char *name);
int boxlite_box_options_drop_capability(boxlite_box_options *o, const char *name);

enum boxlite_box_state {
	BOXLITE_BOX_CONFIGURED = 0, /* created, never started */
	BOXLITE_BOX_STARTING = 1,
	BOXLITE_BOX_RUNNING = 2,
	BOXLITE_BOX_PAUSED = 3,
	BOXLITE_BOX_STOPPING = 4,
	BOXLITE_BOX_STOPPED = 5,    /* exit_code holds the main command's status */
	BOXLITE_BOX_FAILED = 6,     /* reason says why */
};

/* "configured", "starting", ... ("unknown" for anything else). */
const char *boxlite_box_state_name(enum boxlite_box_state state);

/* What the store knows about a box, checked against the processes that
 * really run. Strings are owned by the struct (see the functions below). */
typedef struct boxlite_box_info {
	uint32_t struct_size;     /* sizeof(boxlite_box_info) */
	const char *id;
	const char *name;         /* "" when it has none */
	const char *image;
	const char *reason;       /* why it failed or stopped, "" if nothing to say */
	enum boxlite_box_state state;
	int32_t exit_code;        /* main command: 0..255, 128+N when killed by
				     signal N; -1 when none (never ran, or lost) */
	int32_t shim_pid;         /* 0 when not running */
	int32_t qemu_pid;         /* 0 when not running */
	int32_t detached;
	uint64_t created_at;      /* ns since the Unix epoch */
	uint64_t started_at;      /* 0 when never started */
	uint64_t finished_at;     /* 0 while running or never started */
	/* Added after 0.1.0: filled when struct_size covers them. 0 when the
	 * box's config could not be read. */
	uint32_t cpus;
	uint32_t memory_mib;
	int32_t auto_remove;
} boxlite_box_info;

/* Finds a box of this home by id, unique id prefix or name, from any process.
 * Returns: 0; -ENOENT (no such box); -EINVAL (the prefix matches several
 *   boxes; the message lists them).
 * Notes: the handle does not own the box: freeing it never stops the box. */
int boxlite_box_get(boxlite_runtime *rt, const char *id_or_name, boxlite_box **out,
		    boxlite_error **err);

/* Fills info with the box's current state (reconciled with its processes).
 * Strings stay valid until the next call on this box or until it is freed.
 * Returns 0, or -ENOENT when the box was removed meanwhile. */
int boxlite_box_info_get(boxlite_box *box, boxlite_box_info *info, boxlite_error **err);

/* The box as JSON (config, state, pids, paths, timings) in a malloc'd
 * string the caller frees. Environment values are replaced by "***": only
 * the keys are shown. Returns 0, -ENOENT or -ENOMEM. */
int boxlite_box_inspect(boxlite_box *box, char **json, boxlite_error **err);
/* The box's published ports, one line each: "GUEST_PORT/PROTO -> HOST_IP:HOST_PORT\n"
 * (docker port's format), malloc'd (free()); "" when none. Returns 0 or -errno. */
int boxlite_box_ports(boxlite_box *box, char **text, boxlite_error **err);

/* Publishes guest_port on host_ip:host_port (the arguments of
 * boxlite_box_options_add_port) after create. A running or paused box gets
 * the forward at once; a stopped one from its next start; either way it is
 * kept across restarts. host_port 0 picks a free port, stored in *bound
 * (may be NULL). Returns 0, -EADDRINUSE (the host port is taken), -EEXIST
 * (this box already publishes it), -EINVAL (bad port, or the box has no
 * network), -EBUSY (the box is starting or stopping) or -errno. */
int boxlite_box_port_add(boxlite_box *box, const char *host_ip, uint32_t host_port, uint32_t guest_port,
			 const char *proto, uint32_t *bound, boxlite_error **err);
/* Stops publishing host_ip:host_port/proto (host_ip NULL: 127.0.0.1, proto
 * NULL: tcp), at once when the box runs. Returns 0, -ENOENT (not
 * published), -EINVAL, -EBUSY or -errno. */
int boxlite_box_port_remove(boxlite_box *box, const char *host_ip, uint32_t host_port, const char *proto,
			    boxlite_error **err);

/* Blocks until the box is stopped or failed, at most timeout_ms (0: no
 * limit), and stores the main command's exit code (-1 if none) in
 * *exit_code (may be NULL).
 * Returns: 0; -ETIMEDOUT; -ENOENT when the box was removed meanwhile. */
int boxlite_box_wait(boxlite_box *box, uint32_t timeout_ms, int32_t *exit_code, boxlite_error **err);

/* Starts the box if it has not started (nothing of its output is missed
 * then, and the main command gets an empty stdin, as docker run without -i;
 * a box started with boxlite_box_start keeps its main command's stdin open
 * and empty, so a shell or interpreter Cmd keeps the box up), then streams its main command's output to `output` as it comes
 * and returns when the main command has ended, with its status in *status.
 * Several processes may attach to one box at once; a reader that falls too
 * far behind (megabytes) is dropped with -EIO.
 * Returns: 0; -ENOENT (no main command); -ENOTCONN (box not running and not
 *   startable); the errors of boxlite_box_start. */
int boxlite_box_attach(boxlite_box *box, boxlite_output_fn output, void *user_data,
		       boxlite_exit_status *status, boxlite_error **err);

/* Attaches to the box's main command as an exec handle (the boxlite_exec_*
 * calls below apply: stdout/stderr fds, wait, signal, resize on a tty box),
 * starting the box first as boxlite_box_attach does. With
 * BOXLITE_ATTACH_STDIN the handle also writes the main command's stdin
 * (boxlite_exec_stdin_fd / _write_stdin / _close_stdin; EOF reaches the
 * command), as docker run -i: only one client at a time may hold it; a box
 * started by this call then keeps its stdin open for us. Output is not
 * flow-controlled toward attached clients: a handle whose fds are not read
 * falls behind and is dropped (wait reports -EIO).
 * Returns: 0; -ENOENT (no main command); -EBUSY (another client holds its
 *   stdin); -EPIPE (its stdin was already closed); errors of box_start. */
#define BOXLITE_ATTACH_STDIN 1u
int boxlite_box_attach_start(boxlite_box *box, uint32_t flags, boxlite_exec **out, boxlite_error **err);

/* Writes the box's main command output as kept so far (stdout and stderr
 * as they came; the older rotated part first) to fd, or with console the
 * guest's serial console. Works for a stopped box. Returns 0; -ENODATA when
 * the box has not run yet; -errno. */
int boxlite_box_logs(boxlite_box *box, int console, int fd, boxlite_error **err);

/* -------------------------------------------------------------- snapshots
 *
 * Disk snapshots (docs/snapshots.md): the box's disk as it was, kept by
 * name, to go back to. Taking one is instant and costs no space up front
 * (qcow2: the disk becomes a read-only layer and a new overlay takes its
 * place). A box that is running, starting, paused or stopping is refused
 * with -EBUSY for now: stop it first. Names: 1..255 bytes, not starting
 * with '.', without '/' or '\'. Removing a box removes its snapshots. */

typedef struct boxlite_snapshot_info {
	uint32_t struct_size;
	const char *id;                /* 8 characters */
	const char *box_id;
	const char *name;
	int64_t created_at;            /* seconds since the epoch */
	uint64_t container_disk_bytes; /* the disk's size as the box sees it */
	uint64_t size_bytes;           /* what the snapshot's layer takes on the host */
} boxlite_snapshot_info;

/* Takes a snapshot named name, of a stopped or a running box (a running
 * box's root filesystem is frozen for the moment: the snapshot is a clean
 * filesystem; the box runs on). Returns 0, -EEXIST (the name is taken),
 * -EINVAL (a bad name), -EBUSY (the box is starting or stopping), -E2BIG
 * (48 snapshots stacked already), -errno. A crash midway is undone, or
 * completed once the running box's disk was switched, at the next open. */
int boxlite_box_snapshot_create(boxlite_box *box, const char *name, boxlite_error **err);
/* The box's snapshots, newest first, in a malloc'd array freed with
 * boxlite_snapshot_info_list_free. */
int boxlite_box_snapshot_list(boxlite_box *box, boxlite_snapshot_info **infos, size_t *count, boxlite_error **err);
void boxlite_snapshot_info_list_free(boxlite_snapshot_info *infos, size_t count);
/* Puts the disk back as it was at the snapshot (what was written since is
 * discarded; the snapshot stays). Returns 0, -ENOENT, -EBUSY (running). */
int boxlite_box_snapshot_restore(boxlite_box *box, const char *name, boxlite_error **err);
/* Removes a snapshot; the disk and the other snapshots keep their content
 * (what they needed of it is merged into them first). Returns 0, -ENOENT,
 * -EBUSY (running). */
int boxlite_box_snapshot_remove(boxlite_box *box, const char *name, boxlite_error **err);

/* Makes count (1..64) clones of a box, stopped or running (as for a
 * snapshot): new boxes (own id, hence hostname and MAC; state configured)
 * with its config and a disk that starts as its disk is now, thin
 * (copy-on-write over a shared read-only base: a clone costs a qcow2 header
 * until it writes). names: count names, or NULL for none. The handles go to
 * out[0..count-1] (boxlite_box_free). Each clone gets a copy of each
 * anonymous volume of the box (cp -a; a running box's as it is at that
 * moment, not frozen). Returns 0; -EBUSY (starting or stopping); -EEXIST (a
 * name is taken; no clone is left); -errno. */
int boxlite_box_clone(boxlite_box *box, size_t count, const char *const *names, boxlite_box **out,
		      boxlite_error **err);

/* Exports the box as a .boxlite archive (docs/snapshots.md): a zstd tar
 * of a manifest (format version, box config, image reference and digest,
 * sha256 of the disk) and its disk as one standalone qcow2 image. dest: a
 * file path, or an existing directory (then <dest>/<name or "box">.boxlite).
 * A running box runs on (its disk as it is now is frozen into a read-only
 * layer it keeps running over, as a clone's base). The file appears whole
 * or not at all. *written (may be NULL) gets the path written (free()).
 * Returns 0, -EBUSY (starting or stopping), -ENOTSUP (a box with an
 * anonymous volume), -errno. */
int boxlite_box_export(boxlite_box *box, const char *dest, char **written, boxlite_error **err);
/* Export flags. WITH_STATE: with the box's checkpoint (docs/checkpoints.md),
 * so that the imported box resumes where this one was: a running box is
 * checkpointed (so stopped) first; a stopped one must have a checkpoint
 * (-ENOENT). Not through a remote runtime (-ENOTSUP). */
#define BOXLITE_EXPORT_WITH_STATE 1u
int boxlite_box_export_ex(boxlite_box *box, const char *dest, unsigned flags, char **written, boxlite_error **err);
/* The same archive written to fd as it is made (a pipe, a socket, a file;
 * written in order, never seeked; the caller closes fd). */
int boxlite_box_export_fd(boxlite_box *box, int fd, boxlite_error **err);

/* Import flags. UNTRUSTED: the archive comes from someone else (a REST
 * upload): volumes (host paths) are refused, and a checkpoint in it is not
 * kept (QEMU would parse it): the box boots from its disk. */
#define BOXLITE_IMPORT_UNTRUSTED 1u
/* Makes a new box (new id, name or none, state configured) from a
 * .boxlite archive. Every archive is read as untrusted bytes: only a
 * manifest and a disk, checksums verified, a disk naming any other file
 * refused, nothing written outside a staging directory; on any failure
 * nothing is left. Returns 0, -EINVAL (not a .boxlite archive, damaged,
 * tampered, cut short), -ENOTSUP (a newer format: upgrade), -EEXIST (name
 * taken), -ENOENT (no such file), -errno. */
int boxlite_runtime_import_box(boxlite_runtime *rt, const char *path, const char *name, unsigned flags,
			       boxlite_box **out, boxlite_error **err);
/* The same, reading the archive from fd (a pipe or socket is fine: read in
 * order to its end; the caller closes fd). */
int boxlite_runtime_import_box_fd(boxlite_runtime *rt, int fd, const char *name, unsigned flags, boxlite_box **out,
				  boxlite_error **err);

/* Checkpoints a running (or paused) box (docs/checkpoints.md): its whole
 * state (memory, devices; the disk as it is) is saved in the box's
 * directory and the box stops, its QEMU and shim gone. The next
 * boxlite_box_start resumes it where it was: processes, open files, tmpfs,
 * the main command go on; the clock and RNG move on. A snapshot restore
 * drops the checkpoint (the box then boots from its disk), as does a resume
 * that fails. Returns 0, -ENOTCONN (not running), -errno. */
int boxlite_box_checkpoint(boxlite_box *box, boxlite_error **err);

/* Freezes the box's virtual CPUs (QMP stop) / lets them run again (cont).
 * Returns: 0; -ENOTCONN when the box is not running (or, for unpause, not
 *   paused). */
int boxlite_box_pause(boxlite_box *box, boxlite_error **err);
int boxlite_box_unpause(boxlite_box *box, boxlite_error **err);

/* Lists every box of the home (reconciled as boxlite_box_info_get), newest
 * first, in a malloc'd array the caller frees with boxlite_box_info_list_free.
 * Returns 0 or -errno. */
int boxlite_runtime_list_boxes(boxlite_runtime *rt, boxlite_box_info **infos, size_t *count,
			       boxlite_error **err);
/* NULL-safe. */
void boxlite_box_info_list_free(boxlite_box_info *infos, size_t count);

/* ------------------------------------------------------------------- images
 *
 * Images live in the home's content-addressed store (<home>/images): blobs
 * by sha256 digest, shared between images, each verified before it is
 * stored, and one read-only ext4 root disk per image. References are
 * normalized as docker does: "alpine" is docker.io/library/alpine:latest;
 * "127.0.0.1:5000/test/busybox:1" names a registry; "@sha256:..." pins a
 * digest. Unqualified names are tried against the search list of
 * <home>/registries.json ({"search": [...], "insecure": [...]}; default
 * docker.io). Loopback registries and the "insecure" ones are reached over
 * plain HTTP, every other over HTTPS with certificate verification.
 * Credentials come from boxlite_registry_login, else ~/.docker/config.json. */

enum boxlite_pull_stage {
	BOXLITE_PULL_RESOLVED = 0,       /* manifest chosen: digest, n_layers */
	BOXLITE_PULL_LAYER_CACHED = 1,   /* the store already holds the layer */
	BOXLITE_PULL_LAYER_PROGRESS = 2, /* bytes of a layer arrived: done, total */
	BOXLITE_PULL_LAYER_DONE = 3,     /* the layer was downloaded and verified */
	BOXLITE_PULL_UNPACKING = 4,      /* building the image's root disk */
	BOXLITE_PULL_DONE = 5,           /* stored under ref; digest = manifest */
};

typedef struct boxlite_pull_event {
	uint32_t struct_size;
	enum boxlite_pull_stage stage;
	const char *ref;    /* canonical reference */
	const char *digest; /* the layer's (LAYER_*), else the manifest's */
	uint32_t layer;     /* layer index (LAYER_*) */
	uint32_t n_layers;
	uint64_t done;      /* bytes of the layer downloaded or already present */
	uint64_t total;     /* the layer's size */
} boxlite_pull_event;

/* Progress callback. Layers download concurrently: calls come from several
 * threads, but never two at a time. Strings are valid during the call. */
typedef void (*boxlite_pull_progress)(void *user_data, const boxlite_pull_event *ev);

typedef struct boxlite_pull_options {
	uint32_t struct_size;          /* sizeof(boxlite_pull_options) */
	const char *platform;          /* "os/arch[/variant]"; NULL: linux/<host arch> */
	boxlite_pull_progress progress; /* may be NULL */
	void *user_data;
} boxlite_pull_options;

/* Pulls ref from its registry into the home and builds its root disk.
 * Only layers the store lacks are downloaded; an interrupted download
 * resumes where it stopped. opts may be NULL.
 * Returns: 0; -EINVAL (bad reference or platform); -ENOENT (no such
 *   repository, tag, or platform in the image's index); -EACCES
 *   (authentication required or refused); -EBADMSG (a manifest or blob did
 *   not match its digest: nothing of it is kept); -EHOSTUNREACH; -EIO. */
int boxlite_image_pull(boxlite_runtime *rt, const char *ref, const boxlite_pull_options *opts,
		       boxlite_error **err);

typedef struct boxlite_image_info {
	char *ref;        /* canonical reference */
	char *digest;     /* manifest digest */
	uint64_t size;    /* bytes of its stored layers (compressed, as pulled) */
	int64_t created;  /* when it was pulled or imported, seconds since the epoch */
} boxlite_image_info;

/* Lists the home's images sorted by reference, in a malloc'd array freed
 * with boxlite_image_list_free. Returns 0 or -errno. */
int boxlite_image_list(boxlite_runtime *rt, boxlite_image_info **images, size_t *count, boxlite_error **err);
/* NULL-safe. */
void boxlite_image_list_free(boxlite_image_info *images, size_t count);

/* Removes a reference (normalized as for pull). Blobs and the root disk that
 * no other reference uses are deleted too, unless a box's disk is built on
 * that root disk. Returns: 0; -ENOENT (no such image); -EBUSY (a box uses
 * it; the message names it). */
int boxlite_image_remove(boxlite_runtime *rt, const char *ref, boxlite_error **err);

/* Checks user/password against registry ("host[:port]", "docker.io"),
 * then stores them in <home>/auth.json (mode 0600) for later pulls.
 * Returns: 0; -EACCES (refused); -EHOSTUNREACH; -EIO. */
int boxlite_registry_login(boxlite_runtime *rt, const char *registry, const char *user, const char *password,
			   boxlite_error **err);
/* Forgets the stored credentials of registry. Returns 0 or -ENOENT. */
int boxlite_registry_logout(boxlite_runtime *rt, const char *registry, boxlite_error **err);

/* Loads the images of an archive file: a docker-archive (`docker save`,
 * `skopeo copy ... docker-archive:`) or an oci-archive (a tar of an OCI
 * image layout). Each image is stored under its names in the archive
 * (RepoTags; for an oci-archive, a full reference annotation, else
 * "localhost/<file stem>:<tag>"), or under name when name is not NULL.
 * refs (may be NULL) receives the stored references, freed with
 * boxlite_image_refs_free.
 * Returns: 0; -ENOENT (no such file); -EINVAL (not an image archive, or an
 *   entry refused); -EBADMSG (a blob does not match its digest). */
int boxlite_image_load(boxlite_runtime *rt, const char *path, const char *name, char ***refs,
		       boxlite_error **err);
/* Frees a NULL-terminated array from boxlite_image_load or
 * boxlite_image_prune. NULL-safe. */
void boxlite_image_refs_free(char **refs);

/* Imports the image tagged tag (NULL: "latest") in the OCI image-layout
 * directory dir under name (normalized as for pull; the canonical form goes
 * to ref when ref_size > 0). Blobs are verified and shared with the store.
 * Returns: 0; -ENOENT (no such directory or tag); -EINVAL (bad name, not a
 * layout, or a layer entry refused); -EBADMSG (a blob does not match). */
int boxlite_image_import(boxlite_runtime *rt, const char *dir, const char *tag, const char *name, char *ref,
			 size_t ref_size, boxlite_error **err);

/* Removes every image whose root disk no box uses, then the blobs and root
 * disks no remaining image uses and the downloads of processes that died.
 * *removed (may be NULL): the references removed, NULL-terminated, freed
 * with boxlite_image_refs_free; *reclaimed (may be NULL): bytes freed.
 * Waits while pulls or imports run. Returns 0 or -errno. */
int boxlite_image_prune(boxlite_runtime *rt, char ***removed, uint64_t *reclaimed, boxlite_error **err);

#ifdef __cplusplus
}
#endif

#endif
