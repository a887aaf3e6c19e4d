/* The virtio-serial port to the host and the bounded queue of frames
 * waiting to be written to it.
 *
 * The port fd is non-blocking: writes stall whenever QEMU has no host
 * client or the host reads slowly, and the agent must keep reaping and
 * serving other fds meanwhile. Every outgoing frame goes through one ring
 * buffer of OUTQ_CAP bytes. Producers check outq_room() before producing
 * (replies: OUTQ_REPLY_MAX, data: a whole DATA frame plus that reserve), so
 * a frame is never dropped and the queue never grows. */
#ifndef BOXLITE_GUEST_PORT_H
#define BOXLITE_GUEST_PORT_H

#include <stddef.h>
#include <stdint.h>

#define OUTQ_CAP (1024u * 1024u)
/* Upper bound of any reply or control frame (header + TLVs); ERROR messages
 * are truncated to fit. */
#define OUTQ_REPLY_MAX 2048u

/* Polls /sys/class/virtio-ports for the port named BXP_PORT_NAME until it
 * appears, then opens /dev/<port> O_RDWR|O_NONBLOCK|O_CLOEXEC. */
int port_open_wait(void);
/* 1 when a host is connected to the port (no POLLHUP), else 0. */
int port_host_connected(int fd);

size_t outq_room(void);
size_t outq_used(void);
void outq_reset(void);
/* Appends one frame. Returns 0, or -ENOBUFS when it does not fit (the
 * caller keeps its state and retries later), -EMSGSIZE when it never can. */
int outq_frame(uint32_t chan, uint16_t type, uint8_t stream, const void *payload, size_t len);
/* Writes as much of the queue as the port takes now. Returns 0 (also when
 * the port would block), or -errno when the connection is gone. */
int outq_flush(int fd);

/* ERROR frame with BXT_ERRNO (positive) and a formatted BXT_MESSAGE. */
void send_error(uint32_t chan, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
