/* Exec internals shared by exec.c and copy.c. */
#ifndef BOXLITE_LIB_EXEC_INTERNAL_H
#define BOXLITE_LIB_EXEC_INTERNAL_H

#include <pthread.h>

#include "internal.h"

struct bx_conn;
struct bx_rexec;

struct boxlite_exec {
	boxlite_box *box;
	struct bx_conn *c;
	pthread_t thread;
	int thread_started;
	pthread_mutex_t send_mu; /* serializes frames on c->fd */
	pthread_mutex_t mu;      /* guards the state below */
	pthread_cond_t cv;
	int user_fd[3];  /* caller's ends: stdin (write), stdout, stderr (read) */
	int pump_fd[3];  /* the thread's ends; -1 once closed */
	int wake[2];     /* caller -> thread: "quit" */
	int tty;
	int attach;      /* attached to the main command (no output credit) */
	size_t out_cap;  /* bytes of each out_buf */
	/* under mu */
	int ended;       /* EXIT, ERROR or connection loss seen */
	int rc;          /* 0, or the error ending it */
	struct bx_error err;
	boxlite_exit_status st;
	int quit;
	/* thread only */
	uint32_t in_credit;
	int in_done;     /* stdin EOF sent (or the session ended) */
	uint8_t *out_buf[3];
	size_t out_off[3], out_len[3];
	uint32_t unacked[3];
	int out_eof[3];  /* EOF received from the guest */
	int out_gone[3]; /* caller closed its end: discard */
	struct bx_rexec *remote; /* a remote runtime's execution (rest/rexec.c) */
};

/* A handle with its three socket pairs and wake pipe, no thread yet; out_cap
 * bytes of output buffer per stream (0: none). NULL with err set. */
boxlite_exec *bx_exec_alloc(boxlite_box *box, int tty, size_t out_cap, struct bx_error *err);
/* Stops its thread (if started) and frees it. */
void bx_exec_free_handle(boxlite_exec *x);
/* Starts x's pump thread (the local or the remote one); on success the
 * handle is ready for its caller. */
int bx_exec_start_pump(boxlite_exec *x, void *(*pump)(void *), struct bx_error *err);
/* Records the end (first call wins) and wakes waiters. */
void bx_exec_end(boxlite_exec *x, int rc, const boxlite_exit_status *st, struct bx_error *err);
/* Reads both output fds to their end, handing the bytes to output (may be NULL). */
void bx_exec_drain(boxlite_exec *x, boxlite_output_fn output, void *ud);
/* Closes the thread's end of stream s: the caller reads EOF. */
void bx_exec_close_pump(boxlite_exec *x, int s);

/* A session that runs the agent's copy streamer instead of a program. */
struct bx_exec_extra {
	uint16_t copy_tag;     /* BXT_COPY_OUT or BXT_COPY_IN */
	const char *copy_path; /* guest path */
	int copy_single;       /* COPY_IN: docker cp target rules for one top entry */
	uint32_t copy_flags;   /* BXT_COPY_FLAGS */
	int attach;            /* ATTACH to the main command instead of EXEC */
	int attach_stdin;      /* ... and write its stdin */
};

/* boxlite_exec_start with an optional extra (opts may then be NULL). */
int bx_exec_start(boxlite_box *box, const boxlite_exec_options *opts, const struct bx_exec_extra *extra,
		  boxlite_exec **out, enum boxlite_error_origin *origin, struct bx_error *err);
/* Writes all of buf to a socket without SIGPIPE; -EPIPE when the peer is gone. */
int bx_exec_write_all(int fd, const void *buf, size_t len);

/* Reads an EXIT payload (exit code or signal) into *st. */
void bx_exec_parse_exit(const uint8_t *p, size_t len, boxlite_exit_status *st);

#endif
