/* WebSocket framing (RFC 6455) for exec attach. libmicrohttpd hands us the
 * upgraded socket and nothing more, and Debian's libwebsockets would replace
 * the whole HTTP layer for the sake of one route, so the codec is written
 * here: small, pure (bytes in, frames out) and fuzzed
 * (fuzz/fuzz_server_ws.c). */
#ifndef BX_SERVER_WS_H
#define BX_SERVER_WS_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

/* Close codes we send. */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_TOO_BIG 1009

/* Largest payload of one client frame, and of a reassembled message. */
#define WS_MAX_PAYLOAD (1u << 20)

struct ws_frame {
	int fin;
	enum ws_opcode opcode;
	uint8_t *payload; /* inside the parsed buffer, unmasked in place */
	size_t len;
};

/* Parses one client frame at the start of buf[0..len). Returns the bytes it
 * takes (> 0) with *f filled and the payload unmasked in place; 0 when buf
 * holds only part of a frame; or minus a close code when the bytes break
 * the protocol (unmasked client frame, reserved bits or opcode, a control
 * frame that is fragmented or longer than 125, a payload over
 * WS_MAX_PAYLOAD). */
long ws_parse(uint8_t *buf, size_t len, struct ws_frame *f);

/* Writes the header of an unmasked server frame (fin set) of payload length
 * len to hdr (room for 10 bytes); returns its size. */
size_t ws_header(uint8_t hdr[10], enum ws_opcode op, uint64_t len);

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (28 chars + NUL).
 * Returns 0, or -1 when the key is not 16 bytes in base64. */
int ws_accept_key(const char *client_key, char out[29]);

#endif
