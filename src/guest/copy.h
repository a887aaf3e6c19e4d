/* Copy sessions: an EXEC carrying COPY_OUT or COPY_IN instead of ARG runs
 * this in the forked child (no execve), with the session's stdout/stdin as
 * the tar stream. Paths resolve inside the guest root (openat2
 * RESOLVE_IN_ROOT); extraction stays beneath its target (RESOLVE_BENEATH). */
#ifndef BOXLITE_GUEST_COPY_H
#define BOXLITE_GUEST_COPY_H

#include <stdint.h>

enum copy_mode { COPY_NONE = 0, COPY_OUT = 1, COPY_IN = 2 };

/* In the child, stdio already in place. Returns the exit status: 0, or a
 * positive errno (1..125) with "PATH: reason" written to stderr. */
int copy_child(enum copy_mode mode, const char *path, int single, unsigned flags);

#endif
