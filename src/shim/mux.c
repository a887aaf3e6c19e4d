/* The multiplexer: any number of host clients on box.sock share the one
 * agent connection. Each client numbers its own channels; the shim maps
 * every (client, channel) to a unique agent channel and back, and otherwise
 * passes frames through unchanged. Channel 0 belongs to the shim: PING is
 * passed to the agent once the box is ready (its PONG carries the guest's
 * memory) and answered here before, SHUTDOWN stops the box.
 *
 * Memory is bounded: flow control is end to end (each receiver grants
 * credit per stream, protocol.h), so a client's output queue holds at most
 * what it granted plus control frames; a client whose queue passes that
 * bound anyway is dropped. Client input is not read while the agent's
 * queue is above a high-water mark. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "egress.h"
#include "log.h"
#include "shim.h"

#define MAX_CLIENTS 128
#define CLIENT_QUEUE_BASE (8u << 20)   /* control frames and slack */
#define CLIENT_QUEUE_MAX (256u << 20)  /* whatever windows a client claims */
#define AGENT_QUEUE_HIGH (4u << 20)
#define MAX_EXEC_WINDOW (64u << 20)

struct chan {
	struct chan *hnext;         /* agent-id hash chain */
	struct chan *cnext, *cprev; /* the owning client's channels */
	struct client *cl;
	uint32_t agent_id, client_id;
	uint32_t window; /* credit the client granted per output stream */
};

struct client {
	struct client *next, *prev;
	unsigned id;
	int fd;
	struct bxp_framer *in;
	struct outq out;
	struct chan *chans;
	uint64_t window_sum;
	uint32_t attach_chan; /* the client's channel for the main session, 0: none */
	int greeted; /* HELLO sent: the client may talk */
	int closing; /* close once the queue is written */
	int dead;    /* closed; freed by mux_reap_dead */
};

int mux_max_clients(void)
{
	return MAX_CLIENTS;
}

/* ---- channel map */

static struct chan *agent_chan_find(struct shim *s, uint32_t agent_id)
{
	struct chan *ch = s->chan_hash[agent_id % CHAN_HASH_SIZE];

	while (ch && ch->agent_id != agent_id)
		ch = ch->hnext;
	return ch;
}

static struct chan *client_chan_find(struct client *c, uint32_t client_id)
{
	struct chan *ch = c->chans;

	while (ch && ch->client_id != client_id)
		ch = ch->cnext;
	return ch;
}

static struct chan *chan_new(struct shim *s, struct client *c, uint32_t client_id, uint32_t window)
{
	struct chan *ch = calloc(1, sizeof(*ch));
	uint32_t id;

	if (!ch)
		return NULL;
	/* Ids are not reused soon, so a late frame for an old session can
	 * never reach a new one. */
	do {
		id = s->next_agent_chan++;
		if (s->next_agent_chan == 0)
			s->next_agent_chan = 1;
	} while (id == 0 || id == MAIN_AGENT_CHAN || agent_chan_find(s, id));
	ch->agent_id = id;
	ch->client_id = client_id;
	ch->window = window;
	ch->cl = c;
	ch->hnext = s->chan_hash[id % CHAN_HASH_SIZE];
	s->chan_hash[id % CHAN_HASH_SIZE] = ch;
	ch->cnext = c->chans;
	if (c->chans)
		c->chans->cprev = ch;
	c->chans = ch;
	c->window_sum += window;
	return ch;
}

static void chan_free(struct shim *s, struct chan *ch)
{
	struct chan **pp = &s->chan_hash[ch->agent_id % CHAN_HASH_SIZE];

	while (*pp != ch)
		pp = &(*pp)->hnext;
	*pp = ch->hnext;
	if (ch->cprev)
		ch->cprev->cnext = ch->cnext;
	else
		ch->cl->chans = ch->cnext;
	if (ch->cnext)
		ch->cnext->cprev = ch->cprev;
	ch->cl->window_sum -= ch->window;
	free(ch);
}

/* ---- clients */

static void client_close(struct shim *s, struct client *c)
{
	if (c->dead)
		return;
	/* The agent forgets (and kills) whatever this client left running. */
	while (c->chans) {
		agent_send(s, c->chans->agent_id, BXP_CLOSE, 0, NULL, 0);
		chan_free(s, c->chans);
	}
	if (s->main_stdin == c)
		s->main_stdin = NULL; /* another client may take it */
	close(c->fd);
	c->fd = -1;
	c->dead = 1;
	outq_clear(&c->out);
	free(c->in);
	c->in = NULL;
	s->n_clients--;
}

static void __attribute__((format(printf, 3, 4))) client_drop(struct shim *s, struct client *c,
							     const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	bx_warn("client %u dropped: %s", c->id, why);
	client_close(s, c);
}

static size_t client_queue_cap(const struct client *c)
{
	uint64_t cap = CLIENT_QUEUE_BASE + 2 * c->window_sum;
	return cap > CLIENT_QUEUE_MAX ? CLIENT_QUEUE_MAX : (size_t)cap;
}

static int client_send(struct shim *s, struct client *c, uint32_t chan, uint16_t type, uint8_t stream,
		       const void *payload, size_t len)
{
	int rc;

	if (c->dead)
		return -EPIPE;
	if (c->out.bytes + BXP_HEADER_SIZE + len > client_queue_cap(c)) {
		client_drop(s, c, "output queue over %zu bytes (not reading, or ignoring flow control)",
			    client_queue_cap(c));
		return -ENOBUFS;
	}
	rc = outq_push(&c->out, chan, type, stream, payload, len);
	if (rc < 0)
		client_drop(s, c, "queueing a frame: %s", strerror(-rc));
	return rc;
}

static void client_send_error(struct shim *s, struct client *c, uint32_t chan, int err_no, const char *msg)
{
	uint8_t buf[1024];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_ERRNO, (uint32_t)err_no);
	bxp_put_str(&w, BXT_MESSAGE, msg);
	if (!bxp_writer_ok(&w)) { /* message too long: send it cut */
		bxp_writer_init(&w, buf, sizeof(buf));
		bxp_put_u32(&w, BXT_ERRNO, (uint32_t)err_no);
		bxp_put_bytes(&w, BXT_MESSAGE, msg, sizeof(buf) - 32);
	}
	client_send(s, c, chan, BXP_ERROR, 0, buf, w.len);
}

static struct client *client_by_id(struct shim *s, unsigned id)
{
	for (struct client *c = s->clients; c; c = c->next)
		if (c->id == id)
			return c->dead || c->closing ? NULL : c;
	return NULL;
}

void mux_reply(struct shim *s, unsigned client, uint16_t type, const void *payload, size_t len)
{
	struct client *c = client_by_id(s, client);
	if (c)
		client_send(s, c, 0, type, 0, payload, len);
}

void mux_reply_error(struct shim *s, unsigned client, int err_no, const char *msg)
{
	struct client *c = client_by_id(s, client);
	if (c)
		client_send_error(s, c, 0, err_no, msg);
}

static void greet(struct shim *s, struct client *c)
{
	uint8_t buf[256];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_VERSION, BXP_VERSION);
	bxp_put_u64(&w, BXT_T_AGENT_START, s->t_agent_start);
	bxp_put_u64(&w, BXT_T_READY, s->t_ready);
	bxp_put_u64(&w, BXT_T_SETUP_DONE, s->t_setup_done);
	bxp_put_u64(&w, BXT_H_SHIM_START, s->h_shim_start);
	bxp_put_u64(&w, BXT_H_QEMU_START, s->h_qemu_start);
	bxp_put_u64(&w, BXT_H_AGENT_HELLO, s->h_agent_hello);
	bxp_put_u64(&w, BXT_H_READY, s->h_ready);
	c->greeted = 1;
	client_send(s, c, 0, BXP_HELLO, 0, buf, w.len);
}

int mux_listen(struct shim *s, struct bx_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = BOX_SOCK };
	int fd;

	unlink(BOX_SOCK);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return bx_err_sys(err, -errno, "box socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		return bx_err_sys(err, -e, "listening on %s/%s", s->cfg.box_dir, BOX_SOCK);
	}
	s->listen_fd = fd;
	return 0;
}

void mux_accept(struct shim *s)
{
	for (;;) {
		struct client *c;
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				bx_warn("accept on %s: %s", BOX_SOCK, strerror(errno));
			return;
		}
		if (s->n_clients >= MAX_CLIENTS) {
			bx_warn("refusing a client: %d clients already connected", MAX_CLIENTS);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->in = malloc(sizeof(*c->in));
		if (!c || !c->in) {
			bx_warn("refusing a client: out of memory");
			if (c)
				free(c);
			close(fd);
			continue;
		}
		bxp_framer_init(c->in);
		c->fd = fd;
		c->id = ++s->next_client_id;
		c->next = s->clients;
		if (s->clients)
			s->clients->prev = c;
		s->clients = c;
		s->n_clients++;
		bx_debug("client %u connected", c->id);

		if (s->failed) {
			client_send_error(s, c, 0, s->fail_errno, s->fail_msg);
			c->closing = 1;
		} else if (s->stop != STOP_NONE || s->done) {
			client_send_error(s, c, 0, ESHUTDOWN, "the box is stopping");
			c->closing = 1;
		} else if (s->boot == BOOT_READY) {
			greet(s, c);
		} /* else held until the box is ready */
	}
}

/* ---- frames from a client */

static uint32_t exec_window(const uint8_t *p, size_t len)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint32_t window = BXP_DEFAULT_WINDOW;

	bxp_reader_init(&r, p, len);
	while (bxp_next(&r, &f) == 1)
		if (f.tag == BXT_WINDOW)
			bxp_field_u32(&f, &window);
	return window > MAX_EXEC_WINDOW ? MAX_EXEC_WINDOW : window;
}

static void forward_to_agent(struct shim *s, struct client *c, uint32_t agent_id, const struct bxp_header *h,
			     const uint8_t *p)
{
	int rc = agent_send(s, agent_id, h->type, h->stream, p, h->len);

	if (rc == -ENOMEM)
		client_drop(s, c, "out of memory queueing for the agent");
	/* -ENOTCONN: the agent is gone; the box is ending and the client will
	 * hear "box stopped" shortly. */
}

static int control_frame(struct shim *s, struct client *c, const struct bxp_header *h, const uint8_t *p)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint32_t version = BXP_VERSION;

	switch (h->type) {
	case BXP_HELLO:
		bxp_reader_init(&r, p, h->len);
		while (bxp_next(&r, &f) == 1)
			if (f.tag == BXT_VERSION && bxp_field_u32(&f, &version) < 0)
				return -EPROTO;
		if (version != BXP_VERSION) {
			char msg[128];
			snprintf(msg, sizeof(msg), "protocol version %u not supported (the box speaks %u)",
				 version, BXP_VERSION);
			client_send_error(s, c, 0, EPROTONOSUPPORT, msg);
			c->closing = 1;
		}
		return 0;
	case BXP_PING:
		/* The agent answers with the guest's memory (docs/protocol.md);
		 * before the box is ready, or with too many in flight, we do. */
		if (s->boot == BOOT_READY && s->agent_fd >= 0 && s->stop == STOP_NONE && !s->done &&
		    s->ping_count < PING_FIFO_SIZE && agent_send(s, 0, BXP_PING, 0, p, h->len) == 0) {
			s->ping_fifo[(s->ping_head + s->ping_count++) % PING_FIFO_SIZE] = c->id;
			return 0;
		}
		client_send(s, c, 0, BXP_PONG, 0, p, h->len);
		return 0;
	case BXP_SHUTDOWN:
		shim_stop(s, &stop_graceful, "client %u asked for shutdown", c->id);
		return 0;
	case BXP_PAUSE:
	case BXP_RESUME: {
		struct bx_error err = { 0 };
		const char *cmd = h->type == BXP_PAUSE ? "stop" : "cont";

		if (qmp_command(QMP_SOCK, cmd, 2000, &err) < 0) {
			client_send_error(s, c, 0, -err.code, err.msg);
		} else {
			s->paused = h->type == BXP_PAUSE;
			client_send(s, c, 0, h->type, 0, NULL, 0);
		}
		bx_info("client %u: QMP %s%s%s", c->id, cmd, err.code ? ": " : "", err.msg);
		return 0;
	}
	case BXP_PORT_ADD:
	case BXP_PORT_REMOVE: {
		struct bx_error err = { 0 };

		if (shim_port_forward(s, h->type, p, h->len, &err) < 0)
			client_send_error(s, c, 0, -err.code, err.msg);
		else
			client_send(s, c, 0, h->type, 0, NULL, 0);
		return 0;
	}
	case BXP_DISK_SNAPSHOT:
		disk_snapshot_request(s, c->id, p, h->len);
		return 0;
	case BXP_CHECKPOINT:
		checkpoint_request(s, c->id);
		return 0;
	default:
		return -EPROTO;
	}
}

/* ATTACH {ATTACH_STDIN}: copy the main session to this channel; with
 * ATTACH_STDIN = 1 this client also writes its stdin (one client at a time). */
static int attach(struct shim *s, struct client *c, const struct bxp_header *h, const uint8_t *p)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint32_t want_stdin = 0;
	uint8_t buf[64];
	size_t n;

	bxp_reader_init(&r, p, h->len);
	while (bxp_next(&r, &f) == 1)
		if (f.tag == BXT_ATTACH_STDIN && bxp_field_u32(&f, &want_stdin) < 0)
			return -EPROTO;
	if (s->main == MAIN_NONE) {
		client_send_error(s, c, h->chan, ENOENT, "the box has no main command");
		return 0;
	}
	if (s->main == MAIN_DONE) {
		client_send(s, c, h->chan, s->main_end_type, 0, s->main_end, s->main_end_len);
		return 0;
	}
	if (c->attach_chan || client_chan_find(c, h->chan))
		return -EPROTO;
	if (want_stdin && s->main_stdin) {
		client_send_error(s, c, h->chan, EBUSY, "another client holds the main command's stdin");
		return 0;
	}
	if (want_stdin && s->main_in_eof) {
		client_send_error(s, c, h->chan, EPIPE, "the main command's stdin is closed");
		return 0;
	}
	c->attach_chan = h->chan;
	if (want_stdin)
		s->main_stdin = c;
	if (s->main == MAIN_RUNNING && s->main_started && (n = main_cmd_started_payload(s, !!want_stdin, buf, sizeof(buf))))
		client_send(s, c, h->chan, BXP_EXEC_STARTED, 0, buf, n);
	main_cmd_start(s); /* when held for the first attach */
	return 0;
}

static int client_frame(struct shim *s, struct client *c, const struct bxp_header *h, const uint8_t *p)
{
	struct chan *ch;

	if (h->type != BXP_DATA && bxp_payload_validate(p, h->len) < 0)
		return -EPROTO;
	if (h->chan == 0)
		return control_frame(s, c, h, p);
	if (h->type == BXP_ATTACH)
		return attach(s, c, h, p);
	if (c->attach_chan && h->chan == c->attach_chan) {
		if (h->type == BXP_CLOSE) { /* detach; the main command runs on */
			c->attach_chan = 0;
			if (s->main_stdin == c)
				s->main_stdin = NULL;
			return 0;
		}
		return main_cmd_from_client(s, s->main_stdin == c, h, p);
	}
	switch (h->type) {
	case BXP_EXEC: case BXP_DATA: case BXP_EOF: case BXP_WINDOW:
	case BXP_SIGNAL: case BXP_RESIZE: case BXP_CLOSE:
		break;
	default:
		return -EPROTO;
	}
	ch = client_chan_find(c, h->chan);
	if (h->type == BXP_EXEC) {
		if (ch)
			return -EPROTO; /* that channel is still in use */
		if (s->stop != STOP_NONE || s->done || s->agent_fd < 0) {
			client_send_error(s, c, h->chan, ESHUTDOWN, "the box is stopping");
			return 0;
		}
		ch = chan_new(s, c, h->chan, exec_window(p, h->len));
		if (!ch) {
			client_send_error(s, c, h->chan, ENOMEM, "out of memory in the shim");
			return 0;
		}
		bx_debug("client %u channel %u -> agent channel %u", c->id, h->chan, ch->agent_id);
		forward_to_agent(s, c, ch->agent_id, h, p);
		return 0;
	}
	if (!ch) {
		/* A session that just ended (EXIT crossed this frame): drop it. */
		bx_debug("client %u: %s on unknown channel %u dropped", c->id, bxp_type_name(h->type), h->chan);
		return 0;
	}
	forward_to_agent(s, c, ch->agent_id, h, p);
	if (h->type == BXP_CLOSE && !c->dead)
		chan_free(s, ch);
	return 0;
}

static void client_read(struct shim *s, struct client *c)
{
	for (int round = 0; round < 4 && !c->dead && !c->closing; round++) {
		struct bxp_header h;
		const uint8_t *payload;
		size_t avail;
		uint8_t *space = bxp_framer_space(c->in, &avail);
		ssize_t n = read(c->fd, space, avail);
		int rc = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			bx_debug("client %u disconnected%s%s", c->id, n < 0 ? ": " : "",
				 n < 0 ? strerror(errno) : "");
			client_close(s, c);
			return;
		}
		bxp_framer_commit(c->in, (size_t)n);
		while (!c->dead && !c->closing && (rc = bxp_framer_next(c->in, &h, &payload)) == 1) {
			rc = client_frame(s, c, &h, payload);
			if (rc < 0)
				break;
		}
		if (rc < 0 && !c->dead) {
			client_drop(s, c, "protocol error (%s frame on channel %u, %u bytes)",
				    rc == -EMSGSIZE ? "oversized" : bxp_type_name(h.type), h.chan, h.len);
			return;
		}
		if ((size_t)n < avail)
			return;
	}
}

void mux_client_io(struct shim *s, struct client *c, short revents)
{
	if (c->dead)
		return;
	if (revents & POLLOUT) {
		int rc = outq_flush(&c->out, c->fd);
		if (rc < 0) {
			bx_debug("client %u gone: %s", c->id, strerror(-rc));
			client_close(s, c);
			return;
		}
	}
	if ((revents & POLLIN) && c->greeted && !c->closing)
		client_read(s, c);
	else if (revents & (POLLHUP | POLLERR))
		client_close(s, c);
	if (!c->dead && c->closing && outq_empty(&c->out))
		client_close(s, c);
}

int mux_pollfds(struct shim *s, struct pollfd *pfd, struct client **owner, int max)
{
	int n = 0;

	for (struct client *c = s->clients; c && n < max; c = c->next) {
		if (c->dead)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = 0;
		pfd[n].revents = 0;
		if (c->greeted && !c->closing && !s->done && s->agent_out.bytes < AGENT_QUEUE_HIGH)
			pfd[n].events |= POLLIN;
		if (!outq_empty(&c->out))
			pfd[n].events |= POLLOUT;
		owner[n++] = c;
	}
	return n;
}

void mux_flush(struct shim *s)
{
	for (struct client *c = s->clients; c; c = c->next)
		if (!c->dead && (c->closing || !outq_empty(&c->out)))
			mux_client_io(s, c, POLLOUT);
}

void mux_reap_dead(struct shim *s)
{
	struct client *c = s->clients, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->dead)
			continue;
		if (c->prev)
			c->prev->next = c->next;
		else
			s->clients = c->next;
		if (c->next)
			c->next->prev = c->prev;
		free(c);
	}
}

int mux_flushed(const struct shim *s)
{
	for (const struct client *c = s->clients; c; c = c->next)
		if (!c->dead)
			return 0;
	return 1;
}

void mux_free_all(struct shim *s)
{
	for (struct client *c = s->clients; c; c = c->next)
		client_close(s, c);
	mux_reap_dead(s);
}

/* ---- box events */

void mux_ready(struct shim *s)
{
	if (s->stop != STOP_NONE)
		return; /* they hear "stopped" at the end */
	for (struct client *c = s->clients; c; c = c->next)
		if (!c->dead && !c->greeted && !c->closing)
			greet(s, c);
	main_cmd_on_ready(s);
}

void mux_to_attached(struct shim *s, uint16_t type, uint8_t stream, const void *payload, size_t len)
{
	for (struct client *c = s->clients; c; c = c->next) {
		uint32_t chan = c->attach_chan;

		if (c->dead || !chan)
			continue;
		if (type == BXP_EXIT || type == BXP_ERROR) {
			c->attach_chan = 0;
			if (s->main_stdin == c)
				s->main_stdin = NULL;
		}
		client_send(s, c, chan, type, stream, payload, len);
	}
}

void mux_to_stdin_holder(struct shim *s, uint16_t type, uint8_t stream, const void *payload, size_t len)
{
	struct client *c = s->main_stdin;

	if (c && !c->dead && c->attach_chan)
		client_send(s, c, c->attach_chan, type, stream, payload, len);
}

void mux_boot_failed(struct shim *s, int err_no, const char *msg)
{
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->dead || c->greeted || c->closing)
			continue;
		client_send_error(s, c, 0, err_no, msg);
		c->closing = 1;
	}
}

void mux_box_stopped(struct shim *s)
{
	for (struct client *c = s->clients; c; c = c->next) {
		if (c->dead || c->closing)
			continue;
		if (!c->greeted)
			client_send_error(s, c, 0, EIO, "the box stopped before it was ready");
		if (c->attach_chan && !c->dead)
			client_send_error(s, c, c->attach_chan, EIO, "box stopped");
		while (!c->dead && c->chans) {
			struct chan *ch = c->chans;
			uint32_t id = ch->client_id;
			chan_free(s, ch);
			client_send_error(s, c, id, EIO, "box stopped");
		}
		c->closing = 1;
	}
}

/* ---- frames from the agent, once the box is ready */

/* The agent's PONG goes to the oldest client whose PING we forwarded, if
 * it is still here. A PONG nobody asked for is dropped. */
static int pong_from_agent(struct shim *s, const uint8_t *p, size_t len)
{
	unsigned id;

	if (!s->ping_count) {
		bx_debug("agent: unrequested PONG dropped");
		return 0;
	}
	id = s->ping_fifo[s->ping_head];
	s->ping_head = (s->ping_head + 1) % PING_FIFO_SIZE;
	s->ping_count--;
	for (struct client *c = s->clients; c; c = c->next)
		if (c->id == id) {
			if (!c->dead && !c->closing)
				client_send(s, c, 0, BXP_PONG, 0, p, len);
			break;
		}
	return 0;
}

int mux_from_agent(struct shim *s, const struct bxp_header *h, const uint8_t *p)
{
	struct chan *ch;
	struct client *c;
	uint32_t client_id;

	if (h->chan == MAIN_AGENT_CHAN)
		return main_cmd_from_agent(s, h, p);
	if (h->chan == 0) {
		if (h->type == BXP_PONG)
			return pong_from_agent(s, p, h->len);
		if (h->type == BXP_RESOLVE) /* the agent's DNS proxy (egress.c) */
			return egress_resolve(s, p, h->len);
		if (h->type == BXP_FSFREEZE || h->type == BXP_FSTHAW)
			return disk_from_agent(s, h, p);
		if (h->type == BXP_ERROR) {
			char msg[512] = "";
			struct bxp_reader r;
			struct bxp_field f;

			bxp_reader_init(&r, p, h->len);
			while (bxp_next(&r, &f) == 1)
				if (f.tag == BXT_MESSAGE)
					bxp_field_str(&f, msg, sizeof(msg));
			bx_warn("guest agent: %s", msg[0] ? msg : "error without message");
			return 0;
		}
		return -EPROTO;
	}
	switch (h->type) {
	case BXP_EXEC_STARTED: case BXP_DATA: case BXP_EOF: case BXP_WINDOW:
	case BXP_EXIT: case BXP_ERROR:
		break;
	default:
		return -EPROTO;
	}
	ch = agent_chan_find(s, h->chan);
	if (!ch) {
		/* Its client left (CLOSE is on its way to the agent). */
		bx_debug("agent: %s on unmapped channel %u dropped", bxp_type_name(h->type), h->chan);
		return 0;
	}
	c = ch->cl;
	client_id = ch->client_id;
	if (h->type == BXP_EXIT || h->type == BXP_ERROR)
		chan_free(s, ch); /* the session is over */
	client_send(s, c, client_id, h->type, h->stream, p, h->len);
	return 0;
}
