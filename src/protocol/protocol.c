/* boxlite wire protocol v1: encoder, decoder and framer (see protocol.h). */
#include "protocol.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | ((uint64_t)get_le32(p + 4) << 32);
}

int bxp_header_decode(const uint8_t in[BXP_HEADER_SIZE], struct bxp_header *h)
{
	h->len = get_le32(in);
	h->chan = get_le32(in + 4);
	h->type = get_le16(in + 8);
	h->stream = in[10];
	h->flags = in[11];
	if (h->len > BXP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (h->type == 0 || h->type >= BXP_TYPE_MAX || h->flags != 0 || h->stream >= BXP_STREAM_MAX)
		return -EPROTO;
	return 0;
}

void bxp_header_encode(const struct bxp_header *h, uint8_t out[BXP_HEADER_SIZE])
{
	put_le32(out, h->len);
	put_le32(out + 4, h->chan);
	put_le16(out + 8, h->type);
	out[10] = h->stream;
	out[11] = h->flags;
}

const char *bxp_type_name(uint16_t type)
{
	static const char *const names[BXP_TYPE_MAX] = {
		[BXP_HELLO] = "HELLO",       [BXP_SETUP] = "SETUP",   [BXP_SETUP_DONE] = "SETUP_DONE",
		[BXP_ERROR] = "ERROR",       [BXP_EXEC] = "EXEC",     [BXP_EXEC_STARTED] = "EXEC_STARTED",
		[BXP_DATA] = "DATA",         [BXP_EOF] = "EOF",       [BXP_WINDOW] = "WINDOW",
		[BXP_EXIT] = "EXIT",         [BXP_SIGNAL] = "SIGNAL", [BXP_RESIZE] = "RESIZE",
		[BXP_CLOSE] = "CLOSE",       [BXP_SHUTDOWN] = "SHUTDOWN", [BXP_PING] = "PING",
		[BXP_PONG] = "PONG",
		[BXP_ATTACH] = "ATTACH",     [BXP_PAUSE] = "PAUSE",   [BXP_RESUME] = "RESUME",
		[BXP_RESOLVE] = "RESOLVE",   [BXP_RESOLVED] = "RESOLVED",
		[BXP_PORT_ADD] = "PORT_ADD", [BXP_PORT_REMOVE] = "PORT_REMOVE",
		[BXP_FSFREEZE] = "FSFREEZE", [BXP_FSTHAW] = "FSTHAW", [BXP_DISK_SNAPSHOT] = "DISK_SNAPSHOT",
		[BXP_CHECKPOINT] = "CHECKPOINT",
	};
	if (type >= BXP_TYPE_MAX || !names[type])
		return "UNKNOWN";
	return names[type];
}

void bxp_writer_init(struct bxp_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = 0;
}

void bxp_put_bytes(struct bxp_writer *w, uint16_t tag, const void *data, size_t n)
{
	if (w->overflow || n > UINT32_MAX || w->cap - w->len < 6 || w->cap - w->len - 6 < n) {
		w->overflow = 1;
		return;
	}
	put_le16(w->buf + w->len, tag);
	put_le32(w->buf + w->len + 2, (uint32_t)n);
	if (n)
		memcpy(w->buf + w->len + 6, data, n);
	w->len += 6 + n;
}

void bxp_put_str(struct bxp_writer *w, uint16_t tag, const char *s)
{
	bxp_put_bytes(w, tag, s, strlen(s));
}

void bxp_put_u32(struct bxp_writer *w, uint16_t tag, uint32_t v)
{
	uint8_t b[4];
	put_le32(b, v);
	bxp_put_bytes(w, tag, b, sizeof(b));
}

void bxp_put_u64(struct bxp_writer *w, uint16_t tag, uint64_t v)
{
	uint8_t b[8];
	put_le64(b, v);
	bxp_put_bytes(w, tag, b, sizeof(b));
}

void bxp_reader_init(struct bxp_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
}

int bxp_next(struct bxp_reader *r, struct bxp_field *f)
{
	size_t left = r->len - r->pos;
	if (left == 0)
		return 0;
	if (left < 6)
		return -EPROTO;
	f->tag = get_le16(r->buf + r->pos);
	f->len = get_le32(r->buf + r->pos + 2);
	if (f->len > left - 6)
		return -EPROTO;
	f->value = r->buf + r->pos + 6;
	r->pos += 6 + (size_t)f->len;
	return 1;
}

int bxp_field_u32(const struct bxp_field *f, uint32_t *v)
{
	if (f->len != 4)
		return -EPROTO;
	*v = get_le32(f->value);
	return 0;
}

int bxp_field_u64(const struct bxp_field *f, uint64_t *v)
{
	if (f->len != 8)
		return -EPROTO;
	*v = get_le64(f->value);
	return 0;
}

int bxp_field_str(const struct bxp_field *f, char *out, size_t cap)
{
	if (memchr(f->value, '\0', f->len))
		return -EPROTO;
	if ((size_t)f->len >= cap)
		return -ENAMETOOLONG;
	memcpy(out, f->value, f->len);
	out[f->len] = '\0';
	return 0;
}

int bxp_payload_validate(const uint8_t *buf, size_t len)
{
	struct bxp_reader r;
	struct bxp_field f;
	int rc;

	bxp_reader_init(&r, buf, len);
	while ((rc = bxp_next(&r, &f)) == 1)
		;
	return rc;
}

void bxp_framer_init(struct bxp_framer *fr)
{
	fr->have = 0;
	fr->consumed = 0;
}

static void framer_drop_consumed(struct bxp_framer *fr)
{
	if (!fr->consumed)
		return;
	memmove(fr->buf, fr->buf + fr->consumed, fr->have - fr->consumed);
	fr->have -= fr->consumed;
	fr->consumed = 0;
}

uint8_t *bxp_framer_space(struct bxp_framer *fr, size_t *avail)
{
	framer_drop_consumed(fr);
	*avail = sizeof(fr->buf) - fr->have;
	return fr->buf + fr->have;
}

void bxp_framer_commit(struct bxp_framer *fr, size_t n)
{
	fr->have += n;
}

int bxp_framer_next(struct bxp_framer *fr, struct bxp_header *h, const uint8_t **payload)
{
	int rc;

	framer_drop_consumed(fr);
	if (fr->have < BXP_HEADER_SIZE)
		return 0;
	rc = bxp_header_decode(fr->buf, h);
	if (rc < 0)
		return rc;
	if (fr->have - BXP_HEADER_SIZE < h->len)
		return 0;
	*payload = fr->buf + BXP_HEADER_SIZE;
	fr->consumed = BXP_HEADER_SIZE + h->len;
	return 1;
}

long bxp_frame_build(uint8_t *out, size_t cap, uint32_t chan, uint16_t type, uint8_t stream,
		     const void *payload, size_t len)
{
	struct bxp_header h = { .len = (uint32_t)len, .chan = chan, .type = type, .stream = stream };

	if (len > BXP_MAX_PAYLOAD || cap < BXP_HEADER_SIZE + len)
		return -EMSGSIZE;
	bxp_header_encode(&h, out);
	if (len)
		memcpy(out + BXP_HEADER_SIZE, payload, len);
	return (long)(BXP_HEADER_SIZE + len);
}

int bxp_send(int fd, uint32_t chan, uint16_t type, uint8_t stream, const void *payload, size_t len)
{
	uint8_t hdr[BXP_HEADER_SIZE];
	struct bxp_header h = { .len = (uint32_t)len, .chan = chan, .type = type, .stream = stream };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
	int n = 2, i = 0, is_sock = 1;

	if (len > BXP_MAX_PAYLOAD)
		return -EMSGSIZE;
	bxp_header_encode(&h, hdr);
	/* One writev so that concurrent writers on a blocking fd do not interleave
	 * within a frame in the common case; the loop finishes short writes. */
	while (i < n) {
		struct msghdr mh = { .msg_iov = iov + i, .msg_iovlen = (size_t)(n - i) };
		/* MSG_NOSIGNAL: a closed peer is an error, never a SIGPIPE in the
		 * caller's process. Non-sockets (the guest's port) use writev. */
		ssize_t w = is_sock ? sendmsg(fd, &mh, MSG_NOSIGNAL) : writev(fd, iov + i, n - i);
		if (w < 0 && errno == ENOTSOCK) {
			is_sock = 0;
			continue;
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (i < n && (size_t)w >= iov[i].iov_len) {
			w -= (ssize_t)iov[i].iov_len;
			i++;
		}
		if (i < n) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + w;
			iov[i].iov_len -= (size_t)w;
		}
	}
	return 0;
}
