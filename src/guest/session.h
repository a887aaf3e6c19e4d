/* Exec sessions: one process (and its process group) per channel >= 1, with
 * stdin/stdout/stderr as non-blocking pipes or one pty, flow-controlled by
 * per-stream credit. All sessions are served by the agent's one poll loop. */
#ifndef BOXLITE_GUEST_SESSION_H
#define BOXLITE_GUEST_SESSION_H

#include "protocol.h"

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAX_SESSIONS 256
/* Stdin credit the agent grants per session (its stdin buffer size, malloc'd
 * on a session's first stdin DATA). 1 MiB: against 128 KiB, exec -i under
 * TCG went from ~75 to ~90 MiB/s (bench: issue 3 notes). */
#define STDIN_WINDOW (1024u * 1024u)
/* Largest DATA payload the agent sends. */
#define OUT_CHUNK (64u * 1024u)

/* Where a pollfd came from, so the loop can hand its events back. */
struct poll_ref {
	int session; /* index, or -1 for the agent's own fds */
	int which;   /* 0 stdin, 1 stdout, 2 stderr */
};

/* EXEC on chan: replies EXEC_STARTED or ERROR. */
void session_exec(uint32_t chan, const uint8_t *payload, size_t len);
/* DATA, EOF, WINDOW, SIGNAL, RESIZE, CLOSE for an existing session (frames
 * for unknown channels are dropped: they race with EXIT). */
void session_frame(const struct bxp_header *h, const uint8_t *payload);

/* Appends the fds that want events now; returns how many (<= max). */
int sessions_pollfds(struct pollfd *pfd, struct poll_ref *ref, int max);
void session_io(const struct poll_ref *ref, short revents);
/* Emits pending WINDOW/EOF/EXIT frames as queue room allows and forgets
 * finished sessions. */
void sessions_pump(void);
/* Timeouts: SIGTERM at the deadline, SIGKILL 2 s later. Returns the next
 * deadline in mono_ms time, or -1. */
int64_t sessions_timers(int64_t now);
/* A reaped child: returns 1 when it was a session leader. */
int sessions_reaped(pid_t pid, int status);
/* Signals every session's process group. */
void sessions_signal_all(int sig);
/* SIGKILL and forget every session but those on the channels in keep (a
 * new host's HELLO: it takes back those, from a checkpoint). Returns how
 * many went. */
int sessions_drop_except(const uint32_t *keep, size_t n_keep);
int sessions_count(void);

#endif
