/* A QMP client (QEMU's machine protocol), one for the library (templates)
 * and the shim (pause, ports, the live disk switch, quit): a session on
 * QEMU's unix socket, commands with an optional fd attached (SCM_RIGHTS,
 * for getfd), events skipped, every wait bounded by the session's deadline.
 * Saving a VM's state through it is bx_qmp_save_state. */
#ifndef BOXLITE_ENGINE_QMP_H
#define BOXLITE_ENGINE_QMP_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"

struct bx_qmp {
	int fd;
	uint64_t deadline;       /* CLOCK_MONOTONIC ns: no wait goes past it */
	int (*alive)(void *ud);  /* may be NULL; 0: QEMU died, stop waiting (-ECHILD) */
	void *ud;
	char buf[8192];
	size_t len;
};

/* Connects to the socket at path, reads the greeting and negotiates the
 * capabilities; timeout_ms bounds the whole session (bx_qmp_extend moves
 * it). alive/ud may be NULL. -ENOENT/-ECONNREFUSED while QEMU is not
 * listening yet. */
int bx_qmp_open(struct bx_qmp *q, const char *path, unsigned timeout_ms, int (*alive)(void *ud), void *ud,
		struct bx_error *err);
void bx_qmp_extend(struct bx_qmp *q, unsigned timeout_ms);
/* Runs request (a JSON object; the reference is stolen), with fd attached
 * when >= 0. *ret (may be NULL) gets a reference to the "return" value.
 * An error reply is -EIO with QEMU's description. */
int bx_qmp_exec(struct bx_qmp *q, json_t *request, int fd, json_t **ret, struct bx_error *err);
void bx_qmp_close(struct bx_qmp *q);

/* One command on a session of its own. */
int bx_qmp_call(const char *path, json_t *request, json_t **ret, unsigned timeout_ms, struct bx_error *err);

/* Stops the VM and migrates its state into state_fd (getfd + migrate
 * "fd:"), waiting for the migration to complete. ignore_shared: RAM in a
 * shared file stays out of the stream (x-ignore-shared, set on or off
 * explicitly). The VM stays stopped. */
int bx_qmp_save_state(struct bx_qmp *q, int state_fd, int ignore_shared, struct bx_error *err);

#endif
