/* Freezing the root filesystem for a snapshot of the running box
 * (FSFREEZE/FSTHAW, docs/protocol.md "Live disk switch"). A freeze makes
 * the filesystem clean on disk and blocks every writer until the thaw; the
 * agent thaws by itself FSFREEZE_MAX_MS later should the host never ask. */
#ifndef BOXLITE_GUEST_FSFREEZE_H
#define BOXLITE_GUEST_FSFREEZE_H

#include <stdint.h>

#define FSFREEZE_MAX_MS 10000

/* Handles FSFREEZE or FSTHAW (chan 0): acts, then echoes the type with
 * ERRNO (0 = done) and, on failure, MESSAGE. */
void fsfreeze_frame(uint16_t type);
/* The auto-thaw deadline (mono_ms), or -1 when not frozen. */
int64_t fsfreeze_deadline(void);
/* Thaws when the deadline has passed. */
void fsfreeze_tick(int64_t now);
/* Thaws now if frozen (shutdown). */
void fsfreeze_thaw(void);

#endif
