/* boxlite-guest: the agent, PID 1 of every box.
 *
 * Boot: mount /dev, /proc, /sys; find the virtio-serial port "boxlite.agent";
 * announce readiness with HELLO before touching any disk (so one booted
 * template can later serve any image); then wait for the host's HELLO and
 * SETUP (setup.c), which mounts the root disk and switches into it.
 *
 * Then one poll loop serves everything: frames from the host, the exec
 * sessions' pipes (session.c), the output queue to the port (port.c), and
 * SIGCHLD through a signalfd (every zombie is reaped; orphans included).
 *
 * The host connection can go away at any time (the shim crashed, or no
 * shim yet): the agent then drops its sessions, polls for a new connection
 * every few ms and greets it with a fresh HELLO. A malformed frame stream
 * is answered with ERROR EPROTO on channel 0 and input is discarded until a
 * host HELLO shows up (docs/protocol.md, "Connection lifecycle"). */
#include "dns.h"
#include "fsfreeze.h"
#include "guest.h"
#include "meminfo.h"
#include "mount.h"
#include "port.h"
#include "protocol.h"
#include "session.h"
#include "setup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECONNECT_POLL_MS 10
/* Until SETUP the agent wakes up this often, idle or not: a guest saved as a
 * warm-start template with no timer pending did not answer once restored
 * (ENVIRONMENT.md, "Memory snapshots under TCG"). */
#define SETUP_WAIT_POLL_MS 50
#define SHUTDOWN_GRACE_MS 1000
#define SHUTDOWN_FLUSH_MS 300

bool g_root_ready;
bool g_shutting_down;

enum conn_state {
	CONN_DOWN,   /* no host on the port: poll for one */
	CONN_UP,     /* serving frames */
	CONN_BROKEN, /* malformed stream: discard input until a host HELLO or hang-up */
};

static struct bxp_framer g_framer;
static enum conn_state g_conn = CONN_DOWN;
static bool g_host_hello;
static int g_port = -1;
static int g_sigfd = -1;
static uint64_t g_t_start;
static bool g_announced;
static int64_t g_shutdown_at;

static struct pollfd g_pfd[3 + 3 * MAX_SESSIONS];
static struct poll_ref g_ref[3 + 3 * MAX_SESSIONS];

/* ---- connection ---- */

static void send_hello(void)
{
	uint8_t buf[64];
	struct bxp_writer w;
	uint64_t now = boot_ns();

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_VERSION, BXP_VERSION);
	bxp_put_u64(&w, BXT_T_AGENT_START, g_t_start);
	bxp_put_u64(&w, BXT_T_READY, now);
	outq_frame(0, BXP_HELLO, 0, buf, w.len);
	outq_flush(g_port);
	if (!g_announced) {
		glog("ready at %llu ms (agent started at %llu ms)", (unsigned long long)(now / 1000000),
		     (unsigned long long)(g_t_start / 1000000));
		g_announced = true;
	}
}

/* Forgets the host's greeting. Its sessions wait for the next host's
 * HELLO, which takes some back (a resumed checkpoint) or none. */
static void host_reset(void)
{
	g_host_hello = false;
}

/* host_reset, and the input stream starts over. */
static void conn_reset(enum conn_state to)
{
	host_reset();
	bxp_framer_init(&g_framer);
	g_conn = to;
}

static void conn_up(void)
{
	conn_reset(CONN_UP);
	outq_reset();
	send_hello();
}

static void conn_down(const char *why)
{
	if (g_conn != CONN_DOWN)
		glog("host connection closed (%s); waiting for a new one", why);
	conn_reset(CONN_DOWN);
	outq_reset();
}

static void conn_break(int err)
{
	glog("malformed frame stream from host (%s): discarding input until a new HELLO",
	     strerror(-err));
	conn_reset(CONN_BROKEN);
	send_error(0, EPROTO, "malformed frame from host (%s): reconnect and send HELLO",
		   strerror(-err));
}

static bool is_host_hello(const uint8_t *hdr, size_t avail, bool *complete)
{
	struct bxp_header h;
	struct bxp_reader r;
	struct bxp_field f;

	*complete = false;
	if (bxp_header_decode(hdr, &h) < 0 || h.chan != 0 || h.type != BXP_HELLO || h.stream ||
	    h.len > 1024)
		return false;
	if (avail - BXP_HEADER_SIZE < h.len)
		return true; /* a candidate; wait for the rest */
	*complete = true;
	bxp_reader_init(&r, hdr + BXP_HEADER_SIZE, h.len);
	while (bxp_next(&r, &f) == 1)
		if (f.tag == BXT_VERSION && f.len == 4)
			return bxp_payload_validate(hdr + BXP_HEADER_SIZE, h.len) == 0;
	return false;
}

/* CONN_BROKEN: a host that reconnected faster than the port could report
 * the hang-up starts with its HELLO. Find it in the input, drop what came
 * before, and serve the new host from there. */
static void resync(void)
{
	struct bxp_framer *fr = &g_framer;
	size_t i = 0, keep;

	bxp_framer_space(fr, &keep); /* drops a consumed frame, if any */
	for (; i + BXP_HEADER_SIZE <= fr->have; i++) {
		bool complete;

		if (!is_host_hello(fr->buf + i, fr->have - i, &complete))
			continue;
		if (!complete)
			break;
		memmove(fr->buf, fr->buf + i, fr->have - i);
		fr->have -= i;
		glog("HELLO from a new host found in the discarded input: resuming");
		g_conn = CONN_UP;
		g_host_hello = false;
		send_hello();
		return;
	}
	keep = fr->have - i;
	memmove(fr->buf, fr->buf + i, keep);
	fr->have = keep;
}

/* ---- channel 0 ---- */

static void host_hello(const uint8_t *payload, size_t len)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint32_t version = 0, keep[8];
	uint64_t clock_ns = 0;
	const uint8_t *seed = NULL;
	size_t n_keep = 0, seed_len = 0;
	int have = 0, has_clock = 0, dropped;

	bxp_reader_init(&r, payload, len);
	while (bxp_next(&r, &f) == 1) {
		if (f.tag == BXT_VERSION && bxp_field_u32(&f, &version) == 0)
			have = 1;
		else if (f.tag == BXT_RESUME_CHAN && n_keep < 8 && bxp_field_u32(&f, &keep[n_keep]) == 0)
			n_keep++;
		else if (f.tag == BXT_CLOCK_NS && bxp_field_u64(&f, &clock_ns) == 0)
			has_clock = 1;
		else if (f.tag == BXT_RNG_SEED) {
			seed = f.value;
			seed_len = f.len;
		}
	}
	/* The sessions of the previous host: those it takes back go on (a
	 * checkpoint resumed: the clock and the RNG move on too), the rest end. */
	if ((dropped = sessions_drop_except(keep, n_keep)))
		glog("dropped %d session(s) of the previous host connection", dropped);
	if (n_keep) {
		glog("resumed: %zu session(s) taken back", n_keep);
		setup_clock_and_seed(has_clock, clock_ns, seed, seed_len);
	}
	if (g_host_hello) {
		/* A second HELLO on what looks like the same connection: a new
		 * host connected faster than the port reported the hang-up. */
		glog("HELLO from a new host: starting over");
		host_reset(); /* not the framer: frames after this HELLO are the new host's */
		send_hello();
	}
	if (!have) {
		send_error(0, EPROTO, "HELLO without a protocol version");
		return;
	}
	if (version != BXP_VERSION) {
		send_error(0, EPROTONOSUPPORT, "protocol version mismatch: host speaks v%u, guest speaks v%u",
			   version, BXP_VERSION);
		return;
	}
	g_host_hello = true;
}

/* MemTotal and MemAvailable from /proc/meminfo (both lead the file). */
static int read_meminfo(struct meminfo *mi)
{
	char text[4096];
	ssize_t n, len = 0;
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)len < sizeof(text) && (n = read(fd, text + len, sizeof(text) - (size_t)len)) > 0)
		len += n;
	close(fd);
	return meminfo_parse(text, (size_t)len, mi);
}

static void send_pong(void)
{
	uint8_t buf[64];
	struct bxp_writer w;
	struct meminfo mi;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u64(&w, BXT_T_EVENT, boot_ns());
	if (read_meminfo(&mi) == 0) {
		bxp_put_u64(&w, BXT_GUEST_MEM_TOTAL, mi.total);
		if (mi.available)
			bxp_put_u64(&w, BXT_GUEST_MEM_AVAILABLE, mi.available);
	}
	outq_frame(0, BXP_PONG, 0, buf, w.len);
}

static void log_host_error(const uint8_t *payload, size_t len)
{
	struct bxp_reader r;
	struct bxp_field f;
	char msg[256] = "";

	bxp_reader_init(&r, payload, len);
	while (bxp_next(&r, &f) == 1)
		if (f.tag == BXT_MESSAGE)
			bxp_field_str(&f, msg, sizeof(msg));
	glog("host reported an error: %s", msg[0] ? msg : "(no message)");
}

static void shutdown_begin(void)
{
	if (g_shutting_down)
		return;
	g_shutting_down = true;
	g_shutdown_at = mono_ms() + SHUTDOWN_GRACE_MS;
	fsfreeze_thaw(); /* the processes about to end may be waiting on it */
	glog("shutdown: stopping all processes");
	sessions_signal_all(SIGTERM);
	kill(-1, SIGTERM);
}

static void control_frame(const struct bxp_header *h, const uint8_t *payload)
{
	switch (h->type) {
	case BXP_HELLO:
		host_hello(payload, h->len);
		break;
	case BXP_SETUP:
		if (!g_host_hello)
			send_error(0, EPROTO, "SETUP before HELLO");
		else
			setup_handle(payload, h->len);
		break;
	case BXP_SHUTDOWN:
		shutdown_begin();
		break;
	case BXP_PING:
		send_pong();
		break;
	case BXP_ERROR:
		log_host_error(payload, h->len);
		break;
	case BXP_RESOLVED: /* an answer for the DNS proxy (dns.c) */
		dns_proxy_resolved(payload, h->len);
		break;
	case BXP_FSFREEZE:
	case BXP_FSTHAW:
		fsfreeze_frame(h->type); /* before SETUP "/" is the initramfs: EOPNOTSUPP */
		break;
	default:
		send_error(0, EPROTO, "unexpected %s on channel 0", bxp_type_name(h->type));
		break;
	}
}

static void dispatch(const struct bxp_header *h, const uint8_t *payload)
{
	if (h->type != BXP_DATA && bxp_payload_validate(payload, h->len) < 0) {
		if (h->chan == 0 || h->type == BXP_EXEC)
			send_error(h->chan, EPROTO, "malformed %s payload", bxp_type_name(h->type));
		else
			glog("channel %u: malformed %s payload dropped", h->chan, bxp_type_name(h->type));
		return;
	}
	if (h->chan == 0) {
		control_frame(h, payload);
	} else if (h->type == BXP_EXEC) {
		if (!g_host_hello)
			send_error(h->chan, EPROTO, "EXEC before HELLO");
		else
			session_exec(h->chan, payload, h->len);
	} else {
		session_frame(h, payload);
	}
}

/* Handles whole frames while a reply is sure to fit in the output queue;
 * the rest waits in the framer (and the port is not read meanwhile). */
static void process_frames(void)
{
	struct bxp_header h;
	const uint8_t *payload;
	int rc;

	while (g_conn == CONN_UP && outq_room() >= 2 * OUTQ_REPLY_MAX) {
		rc = bxp_framer_next(&g_framer, &h, &payload);
		if (rc == 0)
			return;
		if (rc < 0) {
			conn_break(rc);
			return;
		}
		dispatch(&h, payload);
	}
}

static bool want_port_input(void)
{
	size_t avail;

	bxp_framer_space(&g_framer, &avail);
	return avail > 0 && outq_room() >= 2 * OUTQ_REPLY_MAX;
}

static void port_input(short revents)
{
	/* A read returns one virtio buffer (a page or so): take up to 64 per
	 * round, then let the other fds have their turn. */
	for (int i = 0; i < 64 && g_conn != CONN_DOWN; i++) {
		size_t avail;
		uint8_t *space = bxp_framer_space(&g_framer, &avail);
		ssize_t n;

		if (!avail)
			break;
		n = read(g_port, space, avail);
		if (n > 0) {
			bxp_framer_commit(&g_framer, (size_t)n);
			if (g_conn == CONN_BROKEN)
				resync();
			process_frames();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		conn_down(n == 0 ? "EOF" : strerror(errno));
		return;
	}
	/* A hang-up with unread input we cannot take now still ends it. */
	if ((revents & (POLLHUP | POLLERR)) && !port_host_connected(g_port))
		conn_down("hang-up");
}

/* ---- signals and children ---- */

static int signals_setup(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Reaps every zombie. Returns true when no child is left at all. */
static bool reap_children(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			sessions_reaped(pid, status); /* not a session: an orphan, dropped */
			continue;
		}
		return pid < 0 && errno == ECHILD;
	}
}

static void signal_input(void)
{
	struct signalfd_siginfo si[8];
	ssize_t n;

	while ((n = read(g_sigfd, si, sizeof(si))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
			if (si[i].ssi_signo != SIGCHLD)
				glog("signal %u ignored (PID 1 stops on SHUTDOWN only)", si[i].ssi_signo);
	}
	reap_children();
}

static void __attribute__((noreturn)) shutdown_finish(void)
{
	int64_t deadline;

	kill(-1, SIGKILL);
	deadline = mono_ms() + 500;
	while (!reap_children() && mono_ms() < deadline)
		sleep_ms(5);
	/* Best effort: what is queued (EXITs of the stopped sessions) goes out. */
	deadline = mono_ms() + SHUTDOWN_FLUSH_MS;
	while (g_conn != CONN_DOWN && outq_used() && mono_ms() < deadline) {
		struct pollfd p = { .fd = g_port, .events = POLLOUT };
		if (poll(&p, 1, 10) > 0 && (p.revents & (POLLHUP | POLLERR)))
			break;
		if (outq_flush(g_port) < 0)
			break;
	}
	fs_shutdown();
	glog("power off");
	reboot(RB_AUTOBOOT);
	glog("reboot: %s", strerror(errno));
	_exit(1); /* PID 1 exiting panics the kernel; panic=-1 reboots it */
}

/* ---- the loop ---- */

static int poll_timeout(int64_t now, int64_t next)
{
	int64_t t = -1;

	if (g_conn == CONN_DOWN)
		t = RECONNECT_POLL_MS;
	else if (!g_root_ready)
		t = SETUP_WAIT_POLL_MS;
	else if (g_sigfd < 0)
		t = 100;
	if (next >= 0 && (t < 0 || next - now < t))
		t = next > now ? next - now : 0;
	return (int)t;
}

static void __attribute__((noreturn)) serve(void)
{
	for (;;) {
		int64_t now = mono_ms(), next = sessions_timers(now);
		int n = 0, rc;

		fsfreeze_tick(now);
		if (fsfreeze_deadline() >= 0 && (next < 0 || fsfreeze_deadline() < next))
			next = fsfreeze_deadline();

		if (g_shutting_down) {
			if (reap_children() || now >= g_shutdown_at)
				shutdown_finish();
			if (next < 0 || g_shutdown_at < next)
				next = g_shutdown_at;
		}
		if (g_sigfd < 0)
			reap_children(); /* no signalfd: reap by polling */
		if (g_conn == CONN_UP)
			process_frames();
		/* Sessions talk only to a host that said HELLO: what they would
		 * say before would be lost with the queue at the next connect. */
		if (g_conn == CONN_UP && g_host_hello)
			sessions_pump();
		if (g_conn != CONN_DOWN && outq_used() && (rc = outq_flush(g_port)) < 0)
			conn_down(strerror(-rc));

		g_pfd[n] = (struct pollfd){ .fd = g_sigfd, .events = POLLIN };
		g_ref[n++] = (struct poll_ref){ -1, 0 };
		if (g_conn != CONN_DOWN) {
			short ev = 0;
			if (want_port_input())
				ev |= POLLIN;
			if (outq_used())
				ev |= POLLOUT;
			g_pfd[n] = (struct pollfd){ .fd = g_port, .events = ev };
			g_ref[n++] = (struct poll_ref){ -1, 1 };
		}
		/* The DNS proxy asks the host: only while the queue has room. */
		if (dns_proxy_fd() >= 0 && g_conn == CONN_UP && outq_room() >= 2 * OUTQ_REPLY_MAX) {
			g_pfd[n] = (struct pollfd){ .fd = dns_proxy_fd(), .events = POLLIN };
			g_ref[n++] = (struct poll_ref){ -1, 2 };
		}
		if (g_conn == CONN_UP && g_host_hello)
			n += sessions_pollfds(g_pfd + n, g_ref + n, (int)(sizeof(g_pfd) / sizeof(g_pfd[0])) - n);

		rc = poll(g_pfd, (nfds_t)n, poll_timeout(now, next));
		if (rc < 0 && errno != EINTR) {
			glog("poll: %s", strerror(errno));
			sleep_ms(10);
			continue;
		}
		if (g_conn == CONN_DOWN && port_host_connected(g_port)) {
			conn_up();
			continue; /* the pollfd set is stale now */
		}
		for (int i = 0; rc > 0 && i < n; i++) {
			if (!g_pfd[i].revents)
				continue;
			if (g_ref[i].session >= 0)
				session_io(&g_ref[i], g_pfd[i].revents);
			else if (g_ref[i].which == 0)
				signal_input();
			else if (g_ref[i].which == 2)
				dns_proxy_input();
			else if (g_pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				port_input(g_pfd[i].revents);
		}
	}
}

int main(void)
{
	g_t_start = boot_ns();
	if (chdir("/") < 0)
		glog("chdir /: %s", strerror(errno));
	console_fds(); /* the initramfs has a /dev/console node... */
	mount_early();
	console_fds(); /* ...and devtmpfs has one if it did not */
	if (getpid() != 1)
		glog("warning: not running as PID 1");
	g_sigfd = signals_setup();
	if (g_sigfd < 0)
		glog("signalfd: %s", strerror(errno));
	bxp_framer_init(&g_framer);
	g_port = port_open_wait();
	if (port_host_connected(g_port))
		conn_up();
	serve();
}
