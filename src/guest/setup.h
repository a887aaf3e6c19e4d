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

#endif
