/* WebSocket framing (RFC 6455), both roles: the REST server's attach and
 * the library's REST client speak it. libmicrohttpd hands the server the
 * upgraded socket and nothing more, and libcurl (Debian's 7.88) has no
 * WebSocket API, so the codec is written here: small, pure (bytes in,
 * frames out) and fuzzed (fuzz/fuzz_server_ws.c). */
#ifndef BX_WS_H
#define BX_WS_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode { WS_CONT = 0, WS_TEXT = 1, WS_BINARY = 2, WS_CLOSE = 8, WS_PING = 9, WS_PONG = 10 };

/* Close codes. */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_TOO_BIG 1009

/* Largest payload of one frame, and of a reassembled message. */
#define WS_MAX_PAYLOAD (1u << 20)
/* Largest frame header: 2 + 8 (length) + 4 (mask key). */
#define WS_MAX_HEADER 14

/* Which side's frames are parsed: a server reads masked client frames, a
 * client reads unmasked server frames (RFC 6455 §5.1). */
enum ws_role { WS_FROM_CLIENT, WS_FROM_SERVER };

struct ws_frame {
	int fin;
	enum ws_opcode opcode;
	uint8_t *payload; /* inside the parsed buffer, unmasked in place */
	size_t len;
};

/* Parses one frame at the start of buf[0..len). Returns the bytes it takes
 * (> 0) with *f filled and the payload unmasked in place; 0 when buf holds
 * only part of a frame; or minus a close code when the bytes break the
 * protocol (masking wrong for the role, reserved bits or opcode, a control
 * frame fragmented or longer than 125, a payload over WS_MAX_PAYLOAD). */
long ws_parse(uint8_t *buf, size_t len, enum ws_role from, struct ws_frame *f);

/* Puts data frames back together into messages (control frames are not
 * its business: they come between fragments and are handled by the caller). */
struct ws_message {
	uint8_t *buf;          /* WS_MAX_PAYLOAD bytes, the caller's */
	size_t len;
	enum ws_opcode op;     /* WS_TEXT or WS_BINARY, once complete */
	int partial;           /* fragments came, the last not yet */
};
/* Adds data frame f. Returns 1 when a message is complete (in m->buf,
 * m->len, m->op), 0 when more fragments are due, or minus a close code
 * (a continuation out of place, or a message over WS_MAX_PAYLOAD). */
int ws_message_add(struct ws_message *m, const struct ws_frame *f);

/* Writes the header of a frame (fin set) of payload length len; with mask
 * (a client's frame) the key follows, and the caller masks the payload with
 * ws_mask. Returns its size (at most WS_MAX_HEADER). */
size_t ws_header(uint8_t hdr[WS_MAX_HEADER], enum ws_opcode op, uint64_t len, const uint8_t mask[4]);
/* XORs data with the mask key, data being bytes off.. of the payload. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t off);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (28 chars + NUL). Returns
 * 0, or -1 when the key is not 16 bytes in base64. */
int ws_accept_key(const char *client_key, char out[29]);
/* A fresh Sec-WebSocket-Key (24 chars + NUL). */
void ws_new_key(char out[25]);

#endif
