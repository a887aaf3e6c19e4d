/* Spawning boxlite-shim (library side of the shim contract in
 * docs/architecture.md). Safe to call from a multi-threaded process. */
#ifndef BOXLITE_SHIM_SHIM_SPAWN_H
#define BOXLITE_SHIM_SHIM_SPAWN_H

#include <sys/types.h>

#include "error.h"

/* The fd at which a non-detached shim finds the read end of its watchdog pipe. */
#define BX_SHIM_WATCHDOG_FD 3

/* Starts shim_path with no arguments:
 *  - <box_dir>/shim.stderr is created (truncated) first and becomes the
 *    child's stderr, so even loader errors land there; stdout is /dev/null;
 *  - config_json is written to the child's stdin (a pipe), which is then
 *    closed; it never appears in argv or the environment;
 *  - environment: BOXLITE_BOX_ID, BOXLITE_LOG (if set here), PATH, and with
 *    jail_tmp TMPDIR/TMP/TEMP=<box_dir>/tmp; nothing else;
 *  - detach == 0: the child leads a new process group and finds the read end
 *    of a watchdog pipe at fd 3; the write end is returned in *watchdog_wfd
 *    (close-on-exec). Closing it (or dying) tells the shim to stop the box.
 *    detach != 0: the child leads a new session, has no fd 3, and
 *    *watchdog_wfd is set to -1;
 *  - every other fd is closed in the child; signals are reset to default.
 * The caller must reap *pid. SIGPIPE is never raised in the caller.
 * Returns 0, or -errno with err filled (the child, if any, is killed and reaped). */
int bx_shim_spawn(const char *shim_path, const char *box_dir, const char *box_id,
		  const char *config_json, int detach, int jail_tmp, pid_t *pid, int *watchdog_wfd,
		  struct bx_error *err);

#endif
