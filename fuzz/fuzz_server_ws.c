/* The WebSocket codec (src/websocket/ws.c): frames parsed one after
 * another from untrusted bytes, as the server's attach session reads a
 * client's (first byte even) or the library's REST client a server's (odd),
 * and the handshake key. A parsed frame must lie inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct ws_message m = { .buf = malloc(WS_MAX_PAYLOAD) };
	char key[64], accept[29];
	size_t off = 0;

	if (!buf || !m.buf) {
		free(buf);
		free(m.buf);
		return 0;
	}
	memcpy(buf, data, size);
	enum ws_role role = size && (data[0] & 1) ? WS_FROM_SERVER : WS_FROM_CLIENT;
	off = size ? 1 : 0;
	while (off < size) {
		struct ws_frame f;
		long n = ws_parse(buf + off, size - off, role, &f);
		if (n <= 0)
			break;
		if (f.payload < buf + off || f.payload + f.len > buf + off + n)
			abort();
		off += (size_t)n;
		/* Data frames into messages, as both sides put them together. */
		if (f.opcode <= WS_BINARY && ws_message_add(&m, &f) < 0)
			break;
		if (m.len > WS_MAX_PAYLOAD)
			abort();
	}
	memcpy(key, data, size < sizeof(key) - 1 ? size : sizeof(key) - 1);
	key[size < sizeof(key) - 1 ? size : sizeof(key) - 1] = 0;
	ws_accept_key(key, accept);
	free(buf);
	free(m.buf);
	return 0;
}
