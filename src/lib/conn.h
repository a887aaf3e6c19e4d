/* A connection from the library to a box's shim (box.sock), speaking the
 * wire protocol. The shim greets a connection with HELLO once the box is
 * ready (or ERROR when it failed to boot). */
#ifndef BOXLITE_LIB_CONN_H
#define BOXLITE_LIB_CONN_H

#include "internal.h"
#include "protocol.h"

struct bx_conn {
	int fd;
	struct bxp_framer *fr;
};

/* Connects and waits for the shim's greeting (up to timeout_ms), recording
 * the boot timings it carries into box->timings. */
int bx_conn_open(boxlite_box *box, int timeout_ms, struct bx_conn **out, struct bx_error *err);
/* Next frame; payload is valid until the next call. -ETIMEDOUT, or
 * -ECONNRESET when the shim closed the connection. timeout_ms < 0: forever. */
int bx_conn_recv(struct bx_conn *c, int timeout_ms, struct bxp_header *h, const uint8_t **payload,
		 struct bx_error *err);
int bx_conn_send(struct bx_conn *c, uint32_t chan, uint16_t type, uint8_t stream, const void *p,
		 size_t n, struct bx_error *err);
void bx_conn_close(struct bx_conn *c);
/* Sends a chan-0 request the shim echoes when done, and waits for the echo.
 * An ERROR reply becomes "<what>: <message>" with its errno. */
int bx_conn_request(struct bx_conn *c, uint16_t type, const void *p, size_t n, int timeout_ms,
		    const char *what, struct bx_error *err);

/* Reads an ERROR payload into errno + message. */
void bx_conn_parse_error(const uint8_t *payload, size_t len, int *errnum, char *msg, size_t cap);
/* The last meaningful line of the box's shim.stderr, for error messages. */
void bx_box_log_tail(const boxlite_box *box, char *out, size_t cap);
/* 1 when the box's shim process is alive (reaping it if it is our child). */
int bx_box_shim_alive(boxlite_box *box);

#endif
