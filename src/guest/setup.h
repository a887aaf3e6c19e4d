/* SETUP: the box's identity (hostname, clock, RNG seed) and its root disk.
 * Kept apart from boot so a booted template can be set up as any box. */
#ifndef BOXLITE_GUEST_SETUP_H
#define BOXLITE_GUEST_SETUP_H

#include <stddef.h>
#include <stdint.h>

/* Applies a SETUP payload and queues SETUP_DONE or ERROR on channel 0.
 * A second SETUP (a reconnected host, a cloned template) re-applies the
 * identity; its root must then be the one already mounted. */
void setup_handle(const uint8_t *payload, size_t len);
/* Sets the clock (when has_clock) and mixes seed into the RNG: SETUP does,
 * and a host resuming a checkpoint (its HELLO). */
void setup_clock_and_seed(int has_clock, uint64_t clock_ns, const uint8_t *seed, size_t seed_len);

#endif
