/* Output queue: one malloc'd chunk per frame, written with writev. */
#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "protocol.h"

struct outq_chunk {
	struct outq_chunk *next;
	size_t len, off;
	uint8_t data[];
};

int outq_push(struct outq *q, uint32_t chan, uint16_t type, uint8_t stream, const void *payload,
	      size_t len)
{
	struct outq_chunk *c;
	long n;

	if (len > BXP_MAX_PAYLOAD)
		return -EMSGSIZE;
	c = malloc(sizeof(*c) + BXP_HEADER_SIZE + len);
	if (!c)
		return -ENOMEM;
	n = bxp_frame_build(c->data, BXP_HEADER_SIZE + len, chan, type, stream, payload, len);
	if (n < 0) {
		free(c);
		return (int)n;
	}
	c->next = NULL;
	c->len = (size_t)n;
	c->off = 0;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->bytes += c->len;
	return 0;
}

int outq_flush(struct outq *q, int fd)
{
	while (q->head) {
		struct iovec iov[64];
		struct outq_chunk *c = q->head;
		int n = 0;
		ssize_t w;

		for (; c && n < 64; c = c->next, n++) {
			iov[n].iov_base = c->data + c->off;
			iov[n].iov_len = c->len - c->off;
		}
		w = writev(fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		q->bytes -= (size_t)w;
		while (w > 0) {
			c = q->head;
			size_t left = c->len - c->off;
			if ((size_t)w < left) {
				c->off += (size_t)w;
				break;
			}
			w -= (ssize_t)left;
			q->head = c->next;
			if (!q->head)
				q->tail = NULL;
			free(c);
		}
	}
	return 0;
}

void outq_clear(struct outq *q)
{
	while (q->head) {
		struct outq_chunk *c = q->head;
		q->head = c->next;
		free(c);
	}
	q->tail = NULL;
	q->bytes = 0;
}
