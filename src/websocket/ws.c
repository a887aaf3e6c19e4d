#include "ws.h"

#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

long ws_parse(uint8_t *buf, size_t len, enum ws_role from, struct ws_frame *f)
{
	size_t need = 2, hlen;
	uint64_t plen;
	int masked;

	if (len < 2)
		return 0;
	if (buf[0] & 0x70) /* RSV1-3: no extension was negotiated */
		return -WS_CLOSE_PROTOCOL;
	f->fin = !!(buf[0] & 0x80);
	f->opcode = (enum ws_opcode)(buf[0] & 0x0f);
	switch (f->opcode) {
	case WS_CONT: case WS_TEXT: case WS_BINARY:
		break;
	case WS_CLOSE: case WS_PING: case WS_PONG:
		if (!f->fin || (buf[1] & 0x7f) > 125)
			return -WS_CLOSE_PROTOCOL;
		break;
	default:
		return -WS_CLOSE_PROTOCOL;
	}
	masked = !!(buf[1] & 0x80);
	if (masked != (from == WS_FROM_CLIENT)) /* clients mask, servers do not */
		return -WS_CLOSE_PROTOCOL;
	plen = buf[1] & 0x7f;
	if (plen == 126)
		need += 2;
	else if (plen == 127)
		need += 8;
	need += masked ? 4 : 0;
	if (len < need)
		return 0;
	if (plen == 126) {
		plen = (uint64_t)buf[2] << 8 | buf[3];
	} else if (plen == 127) {
		plen = 0;
		for (int i = 0; i < 8; i++)
			plen = plen << 8 | buf[2 + i];
	}
	if (plen > WS_MAX_PAYLOAD)
		return -WS_CLOSE_TOO_BIG;
	hlen = need;
	if (len - hlen < plen)
		return 0;
	f->payload = buf + hlen;
	f->len = (size_t)plen;
	if (masked)
		ws_mask(f->payload, f->len, buf + hlen - 4, 0);
	return (long)(hlen + plen);
}

int ws_message_add(struct ws_message *m, const struct ws_frame *f)
{
	if ((f->opcode == WS_CONT) != m->partial)
		return -WS_CLOSE_PROTOCOL;
	if (f->opcode != WS_CONT) {
		m->op = f->opcode;
		m->len = 0;
	}
	if (m->len + f->len > WS_MAX_PAYLOAD)
		return -WS_CLOSE_TOO_BIG;
	memcpy(m->buf + m->len, f->payload, f->len);
	m->len += f->len;
	m->partial = !f->fin;
	return f->fin;
}

size_t ws_header(uint8_t hdr[WS_MAX_HEADER], enum ws_opcode op, uint64_t len, const uint8_t mask[4])
{
	size_t n;

	hdr[0] = 0x80 | (uint8_t)op;
	if (len < 126) {
		hdr[1] = (uint8_t)len;
		n = 2;
	} else if (len <= 0xffff) {
		hdr[1] = 126;
		hdr[2] = (uint8_t)(len >> 8);
		hdr[3] = (uint8_t)len;
		n = 4;
	} else {
		hdr[1] = 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		hdr[1] |= 0x80;
		memcpy(hdr + n, mask, 4);
		n += 4;
	}
	return n;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t off)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(off + i) & 3];
}

int ws_accept_key(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char raw[64], digest[SHA_DIGEST_LENGTH];
	char cat[64 + sizeof(guid)];
	size_t klen = key ? strlen(key) : 0;

	/* 16 random bytes in base64 are 24 characters ending in "==". */
	if (klen != 24 || EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18 || key[22] != '=' ||
	    key[23] != '=')
		return -1;
	memcpy(cat, key, klen);
	memcpy(cat + klen, guid, sizeof(guid) - 1);
	SHA1((const unsigned char *)cat, klen + sizeof(guid) - 1, digest);
	EVP_EncodeBlock((unsigned char *)out, digest, sizeof(digest));
	return 0;
}

void ws_new_key(char out[25])
{
	unsigned char raw[16];
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		memset(raw, 0x5a, sizeof(raw));
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
}
