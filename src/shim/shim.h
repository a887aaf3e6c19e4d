/* boxlite-shim internals: the state of one box and the functions each file
 * contributes. One process, one thread, one poll loop (main.c). */
#ifndef BOXLITE_SHIM_SHIM_H
#define BOXLITE_SHIM_SHIM_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "shim_config.h"
#include "outq.h"
#include "protocol.h"

/* Box directory entries (docs/architecture.md); the shim runs in box_dir. */
#define BOX_SOCK "box.sock"
#define AGENT_SOCK "agent.sock"
#define QMP_SOCK "qmp.sock"
#define CONSOLE_LOG "console.log"
#define GUEST_MEM "guest.mem"
#define SHIM_PID "shim.pid"
#define MAIN_LOG "main.log"
#define EXIT_FILE "exit"

/* The agent channel of the box's main command (mux never hands it out). */
#define MAIN_AGENT_CHAN 0xffffffffu

enum main_state { MAIN_NONE, MAIN_WAITING, MAIN_RUNNING, MAIN_DONE };

enum boot_phase {
	BOOT_CONNECTING,      /* QEMU started, agent.sock not connected yet */
	BOOT_WAIT_HELLO,      /* connected, waiting for the agent's HELLO */
	BOOT_WAIT_SETUP_DONE, /* SETUP sent */
	BOOT_READY,
};

enum stop_phase { STOP_NONE, STOP_AGENT, STOP_QMP, STOP_TERM, STOP_KILL };

/* How long each stop phase may take before the next, harsher one. */
struct stop_budget {
	const char *name;
	unsigned agent_ms, qmp_ms, term_ms;
	int requested; /* asked for (client, signal, parent): a success when done */
};

extern const struct stop_budget stop_graceful; /* client SHUTDOWN */
extern const struct stop_budget stop_watchdog; /* parent died: ~5 s in all */
extern const struct stop_budget stop_signal;   /* SIGTERM: inside the library's 2 s */
extern const struct stop_budget stop_failure;  /* boot or protocol failure */
extern const struct stop_budget stop_agent_lost; /* QEMU closed the agent channel */
extern const struct stop_budget stop_discard;  /* main command ended, disk discarded: kill */

struct client;
struct chan;

#define CHAN_HASH_SIZE 256
#define PING_FIFO_SIZE 32

struct shim {
	struct bx_shim_config cfg;
	int sig_fd, listen_fd, watchdog_fd;

	/* QEMU */
	pid_t qemu_pid;
	int qemu_err_fd;           /* read end of QEMU's stderr */
	int qemu_exited, qemu_status;
	int warm_fd;               /* the template's state (> 2), 0: none (vm_warm.c) */
	char err_line[512];        /* partial stderr line being assembled */
	size_t err_line_len;
	char err_tail[1024];       /* last bytes of QEMU's stderr, for error messages */
	size_t err_tail_len;

	/* Agent channel */
	int agent_fd;
	struct bxp_framer *agent_in;
	struct outq agent_out;
	enum boot_phase boot;
	uint64_t connect_at;       /* monotonic ns of the next connect attempt */
	uint64_t boot_deadline;    /* monotonic ns */

	/* Stage timestamps: host CLOCK_REALTIME ns, guest CLOCK_BOOTTIME ns. */
	uint64_t h_shim_start, h_qemu_start, h_agent_hello, h_ready;
	uint64_t t_agent_start, t_ready, t_setup_done;

	/* Clients (mux.c) */
	struct client *clients;
	unsigned n_clients, next_client_id;
	struct chan *chan_hash[CHAN_HASH_SIZE];
	uint32_t next_agent_chan;
	/* Clients whose PING went to the agent, oldest first: its PONGs come
	 * back in order (a ring of client ids; 0 never names a client). */
	unsigned ping_fifo[PING_FIFO_SIZE];
	unsigned ping_head, ping_count;

	/* Stopping (shutdown.c) */
	enum stop_phase stop;
	const struct stop_budget *budget;
	uint64_t stop_deadline;    /* monotonic ns: end of the current phase */
	char stop_reason[128];

	/* Failure and exit */
	int failed;
	int fail_errno;
	char fail_msg[768];
	int done;                  /* QEMU gone: flush clients, then exit */
	uint64_t flush_deadline;

	uint8_t *scratch;          /* BXP_MAX_PAYLOAD bytes for building payloads */

	/* The box's main command (main_cmd.c) */
	enum main_state main;
	int main_log_fd;
	uint64_t main_log_bytes;
	int main_code;             /* 0..255, 128+N for signal N; -1 before it ended */
	uint16_t main_end_type;    /* EXIT or ERROR, replayed to late attachers */
	uint8_t main_end[1024];
	size_t main_end_len;
	int main_started;          /* EXEC_STARTED seen (replayed to late attachers) */
	uint32_t main_pid;
	uint32_t main_in_credit;   /* stdin credit the agent granted, not yet used */
	int main_in_eof;           /* stdin EOF sent */
	struct client *main_stdin; /* the attached client writing its stdin, or NULL */

	int paused;                /* vCPUs stopped by a client's PAUSE */
	int resuming;              /* QEMU loaded the box's checkpoint (cfg.resume_state) */
	/* A live disk switch in progress (disk_switch.c) */
	struct {
		int busy, frozen;
		unsigned client, seq;
		uint64_t deadline;  /* monotonic ns: stop waiting for FSFREEZE; 0: not waiting */
		char overlay[4096];
	} disk;
};

static inline uint64_t ts_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static inline uint64_t mono_ns(void) { return ts_ns(CLOCK_MONOTONIC); }
static inline uint64_t real_ns(void) { return ts_ns(CLOCK_REALTIME); }
/* Milliseconds since shim start, for stage logs. */
static inline double since_start_ms(const struct shim *s) { return (real_ns() - s->h_shim_start) / 1e6; }

/* vm.c: QEMU and the agent's boot handshake. */
int vm_check_files(struct shim *s, struct bx_error *err);
int vm_start(struct shim *s, struct bx_error *err);
void vm_connect_tick(struct shim *s);
void vm_agent_io(struct shim *s, short revents);
void vm_stderr_io(struct shim *s);
void vm_reap(struct shim *s);
/* vm_warm.c: warm start from a template (docs/architecture.md). Opens
 * cfg.template_state (before the jail) as s->warm_fd; a failure only logs. */
void vm_warm_open(struct shim *s);
void vm_warm_close(struct shim *s);
/* With QEMU started paused on the template's state: waits for the state to
 * load, gives the guest its real disk size, resumes it. */
int vm_warm_resume(struct shim *s, struct bx_error *err);
/* The last lines of QEMU's stderr, flattened onto one line ("" if none). */
const char *vm_stderr_tail(struct shim *s);

/* mux.c: host clients on box.sock. */
int mux_listen(struct shim *s, struct bx_error *err);
void mux_accept(struct shim *s);
void mux_client_io(struct shim *s, struct client *c, short revents);
/* Fills pfd/owner for every live client; returns how many. */
int mux_pollfds(struct shim *s, struct pollfd *pfd, struct client **owner, int max);
int mux_max_clients(void);
void mux_ready(struct shim *s);
void mux_boot_failed(struct shim *s, int err_no, const char *msg);
/* A frame from the agent once ready: <0 means the agent broke the protocol. */
int mux_from_agent(struct shim *s, const struct bxp_header *h, const uint8_t *payload);
void mux_box_stopped(struct shim *s);
/* Writes what the client queues hold (without waiting). */
void mux_flush(struct shim *s);
void mux_reap_dead(struct shim *s);
int mux_flushed(const struct shim *s);
void mux_free_all(struct shim *s);

/* shutdown.c: stopping the VM, failure handling. */
void shim_stop(struct shim *s, const struct stop_budget *b, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void shim_stop_tick(struct shim *s);
/* Records the box's failure (first one wins), tells waiting clients, stops. */
void shim_fail(struct shim *s, int err_no, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void shim_on_qemu_exit(struct shim *s);

/* watchdog.c: parent-death detection and the hard-kill backstop. */
/* Looks at fd 3 before anything else can be opened there. */
int watchdog_probe(void);
void watchdog_init(struct shim *s, int fd3_is_pipe);
void watchdog_io(struct shim *s, short revents);
void backstop_arm(struct shim *s, unsigned ms);
void backstop_disarm(void);

/* qmp.c (one session per call; src/engine/qmp.h for more) */
int qmp_quit(const char *path, unsigned timeout_ms, struct bx_error *err);
/* Runs one argument-less QMP command ("stop", "cont"). */
int qmp_command(const char *path, const char *cmd, unsigned timeout_ms, struct bx_error *err);
/* Runs one HMP command line; *out (malloc'd) gets its output ("" when it
 * printed nothing: HMP reports failures only as text). */
int qmp_hmp(const char *path, const char *command_line, char **out, unsigned timeout_ms, struct bx_error *err);

/* ports.c: applies a client's PORT_ADD/PORT_REMOVE to the running VM.
 * -EADDRINUSE, -ENOENT (not published), -EINVAL, -ENETDOWN (no network). */
int shim_port_forward(const struct shim *s, uint16_t type, const uint8_t *p, size_t len, struct bx_error *err);

/* main_cmd.c: the main command, session 0 of the box (shim_config.h). */
void main_cmd_init(struct shim *s);
/* Box ready: starts it unless the config holds it for the first attach. */
void main_cmd_on_ready(struct shim *s);
void main_cmd_start(struct shim *s);
int main_cmd_from_agent(struct shim *s, const struct bxp_header *h, const uint8_t *payload);
/* At shim exit: writes the exit file if the main command did not. */
void main_cmd_finish(struct shim *s);
/* Resumed from a checkpoint: the main command runs on (its session taken
 * back in HELLO); its output is appended to main.log again. */
void main_cmd_resumed(struct shim *s);
/* Checkpointed: the exit file says so, and the main command is over here. */
void main_cmd_checkpointed(struct shim *s);

/* checkpoint.c: a client's CHECKPOINT: the VM's state saved to
 * checkpoint.state, the client answered, the box stopped. */
void checkpoint_request(struct shim *s, unsigned client);

/* mux.c: copies a frame of the main session to every attached client. */
void mux_to_attached(struct shim *s, uint16_t type, uint8_t stream, const void *payload, size_t len);
/* mux.c: sends a frame of the main session to the client holding its stdin. */
void mux_to_stdin_holder(struct shim *s, uint16_t type, uint8_t stream, const void *payload, size_t len);
/* main_cmd.c: a frame from an attached client (DATA/EOF stdin, RESIZE,
 * SIGNAL); holder says whether it holds stdin. <0: protocol error. */
int main_cmd_from_client(struct shim *s, int holder, const struct bxp_header *h, const uint8_t *payload);
/* main_cmd.c: EXEC_STARTED for a client attaching to a running main command. */
size_t main_cmd_started_payload(struct shim *s, int holder, uint8_t *buf, size_t cap);

/* mux.c: a reply on channel 0 to the client with that id, if still there. */
void mux_reply(struct shim *s, unsigned client, uint16_t type, const void *payload, size_t len);
void mux_reply_error(struct shim *s, unsigned client, int err_no, const char *msg);

/* disk_switch.c: DISK_SNAPSHOT from a client (answered when done), the
 * agent's FSFREEZE/FSTHAW echoes, and the freeze wait's deadline. */
void disk_snapshot_request(struct shim *s, unsigned client, const uint8_t *p, size_t len);
int disk_from_agent(struct shim *s, const struct bxp_header *h, const uint8_t *p);
uint64_t disk_deadline(const struct shim *s);
void disk_tick(struct shim *s);

/* Sends one frame to the agent (queued). */
int agent_send(struct shim *s, uint32_t chan, uint16_t type, uint8_t stream, const void *payload,
	       size_t len);

#endif
