/* A byte queue of outgoing frames for one non-blocking socket. Frames are
 * copied in whole; the owner decides the bound (see mux.c). */
#ifndef BOXLITE_SHIM_OUTQ_H
#define BOXLITE_SHIM_OUTQ_H

#include <stddef.h>
#include <stdint.h>

struct outq_chunk;

struct outq {
	struct outq_chunk *head, *tail;
	size_t bytes; /* queued and not yet written */
};

/* Queues one frame. Returns 0 or -ENOMEM / -EMSGSIZE. */
int outq_push(struct outq *q, uint32_t chan, uint16_t type, uint8_t stream, const void *payload,
	      size_t len);
/* Writes as much as the socket takes. Returns 0 (written or would block)
 * or -errno for a dead peer. */
int outq_flush(struct outq *q, int fd);
void outq_clear(struct outq *q);
static inline int outq_empty(const struct outq *q) { return q->bytes == 0; }

#endif
