/* Stands in for qemu-system-x86_64 in test_shim: serves agent.sock the way
 * the guest agent does and qmp.sock the way QEMU does, so the shim's boot
 * handshake, multiplexer and stop ladder can be tested without a VM.
 * Behaviour comes from ./fake-mode (the shim runs QEMU in the box dir):
 *   normal           boots; SHUTDOWN exits 0
 *   die-at-boot      complains on stderr and exits 1 after 0.3 s
 *   no-hello         never says HELLO
 *   ignore-shutdown  SHUTDOWN ignored (QMP quit works)
 *   stubborn         ignores SHUTDOWN, QMP quit and SIGTERM
 * Commands (EXEC argv[0]): echo ARGS, cat, sleep, crash (exit 3), garbage
 * (a malformed frame), flood (16 MiB of stdout, ignoring flow control). Events go to ./fake.log. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol.h"

static char mode[64] = "normal";
static FILE *logf_;
static int agent = -1;
static uint32_t cat_chans[64];

static void __attribute__((format(printf, 1, 2))) logev(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(logf_, fmt, ap);
	va_end(ap);
	fputc('\n', logf_);
	fflush(logf_);
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static char *opt_path(const char *arg, const char *prefix)
{
	static char out[2][256];
	static int which;
	const char *p = strstr(arg, prefix);
	char *o = out[which++ & 1];
	size_t n = 0;

	if (!p)
		return NULL;
	for (p += strlen(prefix); *p && *p != ',' && n < 255; p++)
		o[n++] = *p;
	o[n] = '\0';
	return o;
}

static void send_frame(uint32_t chan, uint16_t type, uint8_t stream, const void *p, size_t len)
{
	if (bxp_send(agent, chan, type, stream, p, len) < 0)
		exit(0);
}

static void send_msg(uint32_t chan, uint16_t type, struct bxp_writer *w)
{
	send_frame(chan, type, 0, w->buf, w->len);
}

static void on_exec(const struct bxp_header *h, const uint8_t *p)
{
	char args[16][256];
	int n = 0;
	struct bxp_reader r;
	struct bxp_field f;
	uint8_t buf[1024];
	struct bxp_writer w;

	bxp_reader_init(&r, p, h->len);
	while (bxp_next(&r, &f) == 1 && n < 16)
		if (f.tag == BXT_ARG && bxp_field_str(&f, args[n], sizeof(args[n])) == 0)
			n++;
	logev("exec %u %s", h->chan, n ? args[0] : "?");
	if (n && !strcmp(args[0], "crash"))
		exit(3);
	if (n && !strcmp(args[0], "garbage")) {
		uint8_t bad[BXP_HEADER_SIZE] = { 0, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 9 }; /* flags != 0 */
		if (write(agent, bad, sizeof(bad)) < 0)
			exit(1);
		return;
	}
	if (n && !strcmp(args[0], "flood")) {
		/* Ignores flow control: 16 MiB of stdout whatever the credit. */
		static uint8_t chunk[64 * 1024];
		memset(chunk, 'f', sizeof(chunk));
		for (int i = 0; i < 256; i++)
			send_frame(h->chan, BXP_DATA, BXP_STDOUT, chunk, sizeof(chunk));
		logev("flood done %u", h->chan);
		return;
	}
	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_PID, 100 + h->chan);
	bxp_put_u32(&w, BXT_WINDOW, BXP_DEFAULT_WINDOW);
	send_msg(h->chan, BXP_EXEC_STARTED, &w);
	if (n && !strcmp(args[0], "echo")) {
		char out[1024] = "";
		for (int i = 1; i < n; i++) {
			strcat(out, args[i]);
			strcat(out, i + 1 < n ? " " : "\n");
		}
		send_frame(h->chan, BXP_DATA, BXP_STDOUT, out, strlen(out));
		send_frame(h->chan, BXP_EOF, BXP_STDOUT, NULL, 0);
		send_frame(h->chan, BXP_EOF, BXP_STDERR, NULL, 0);
		bxp_writer_init(&w, buf, sizeof(buf));
		bxp_put_u32(&w, BXT_EXIT_CODE, 0);
		send_msg(h->chan, BXP_EXIT, &w);
	} else if (n && !strcmp(args[0], "cat")) {
		for (int i = 0; i < 64; i++)
			if (!cat_chans[i]) {
				cat_chans[i] = h->chan;
				break;
			}
	}
}

static int is_cat(uint32_t chan)
{
	for (int i = 0; i < 64; i++)
		if (cat_chans[i] == chan)
			return 1;
	return 0;
}

static void on_frame(const struct bxp_header *h, const uint8_t *p)
{
	uint8_t buf[512];
	struct bxp_writer w;
	struct bxp_reader r;
	struct bxp_field f;
	char s[256];
	int nenv = 0;

	switch (h->type) {
	case BXP_HELLO:
		logev("host hello");
		break;
	case BXP_SETUP:
		bxp_reader_init(&r, p, h->len);
		while (bxp_next(&r, &f) == 1) {
			if (f.tag == BXT_ENV && bxp_field_str(&f, s, sizeof(s)) == 0) {
				logev("setup env %s", s);
				nenv++;
			} else if ((f.tag == BXT_ROOT_DEV || f.tag == BXT_ROOT_FSTYPE ||
				    f.tag == BXT_HOSTNAME) && bxp_field_str(&f, s, sizeof(s)) == 0) {
				logev("setup %u %s", f.tag, s);
			} else if (f.tag == BXT_RNG_SEED) {
				logev("setup seed %u bytes", f.len);
			} else if (f.tag == BXT_CLOCK_NS) {
				logev("setup clock");
			}
		}
		bxp_writer_init(&w, buf, sizeof(buf));
		bxp_put_u64(&w, BXT_T_SETUP_DONE, 3000000);
		send_msg(0, BXP_SETUP_DONE, &w);
		break;
	case BXP_EXEC:
		on_exec(h, p);
		break;
	case BXP_DATA:
		if (is_cat(h->chan))
			send_frame(h->chan, BXP_DATA, BXP_STDOUT, p, h->len);
		break;
	case BXP_EOF:
		if (is_cat(h->chan)) {
			send_frame(h->chan, BXP_EOF, BXP_STDOUT, NULL, 0);
			bxp_writer_init(&w, buf, sizeof(buf));
			bxp_put_u32(&w, BXT_EXIT_CODE, 0);
			send_msg(h->chan, BXP_EXIT, &w);
		}
		break;
	case BXP_CLOSE:
		logev("close %u", h->chan);
		break;
	case BXP_PING: /* echo, plus guest memory as the real agent sends */
		if (h->len + 16 > sizeof(buf))
			break;
		memcpy(buf, p, h->len);
		bxp_writer_init(&w, buf + h->len, sizeof(buf) - h->len);
		bxp_put_u64(&w, BXT_GUEST_MEM_TOTAL, 123456789);
		send_frame(0, BXP_PONG, 0, buf, h->len + w.len);
		break;
	case BXP_SHUTDOWN:
		logev("shutdown");
		if (!strcmp(mode, "normal"))
			exit(0);
		break;
	default:
		logev("frame %s on %u", bxp_type_name(h->type), h->chan);
		break;
	}
}

static void qmp_line(int fd, const char *line)
{
	static const char ok[] = "{\"return\": {}}\r\n";

	if (strstr(line, "qmp_capabilities")) {
		if (write(fd, ok, sizeof(ok) - 1) < 0)
			exit(1);
	} else if (strstr(line, "\"quit\"")) {
		logev("qmp quit");
		if (write(fd, ok, sizeof(ok) - 1) < 0)
			exit(1);
		if (strcmp(mode, "stubborn"))
			exit(0);
	}
}

#ifdef __SANITIZE_ADDRESS__
/* Runs inside the jail, whose seccomp filter kills LeakSanitizer's ptrace. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int main(int argc, char **argv)
{
	static struct bxp_framer fr;
	const char *agent_path = NULL, *qmp_path = NULL;
	int agent_l, qmp_l, qmp = -1;
	char qbuf[1024];
	size_t qlen = 0;
	FILE *f;

	logf_ = fopen("fake.log", "a");
	f = fopen("fake-mode", "r");
	if (f) {
		if (fscanf(f, "%63s", mode) != 1)
			strcpy(mode, "normal");
		fclose(f);
	}
	f = fopen("fake.argv", "w");
	for (int i = 0; i < argc; i++) {
		fprintf(f, "%s\n", argv[i]);
		if (i + 1 < argc && !strcmp(argv[i], "-chardev") && strstr(argv[i + 1], "id=agent"))
			agent_path = opt_path(argv[i + 1], "path=");
		if (i + 1 < argc && !strcmp(argv[i], "-qmp"))
			qmp_path = opt_path(argv[i + 1], "unix:");
	}
	fclose(f);
	logev("start mode=%s", mode);
	if (!strcmp(mode, "die-at-boot")) {
		usleep(300 * 1000); /* like QEMU loading a kernel: a client gets to wait */
		fprintf(stderr, "fake-qemu: warning: something odd\n");
		fprintf(stderr, "fake-qemu: could not load kernel 'boom'\n");
		return 1;
	}
	if (!strcmp(mode, "stubborn"))
		signal(SIGTERM, SIG_IGN);
	if (!agent_path || !qmp_path) {
		fprintf(stderr, "fake-qemu: no agent or qmp socket in argv\n");
		return 1;
	}
	agent_l = listen_on(agent_path);
	qmp_l = listen_on(qmp_path);
	bxp_framer_init(&fr);

	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = agent < 0 ? agent_l : agent, .events = POLLIN },
			{ .fd = qmp < 0 ? qmp_l : qmp, .events = POLLIN },
		};
		if (poll(pfd, 2, -1) < 0)
			continue;
		if (pfd[0].revents && agent < 0) {
			agent = accept4(agent_l, NULL, NULL, SOCK_CLOEXEC);
			logev("agent connected");
			if (strcmp(mode, "no-hello")) {
				uint8_t buf[64];
				struct bxp_writer w;
				bxp_writer_init(&w, buf, sizeof(buf));
				bxp_put_u32(&w, BXT_VERSION, BXP_VERSION);
				bxp_put_u64(&w, BXT_T_AGENT_START, 1000000);
				bxp_put_u64(&w, BXT_T_READY, 2000000);
				send_msg(0, BXP_HELLO, &w);
			}
		} else if (pfd[0].revents) {
			size_t avail;
			uint8_t *space = bxp_framer_space(&fr, &avail);
			ssize_t n = read(agent, space, avail);
			struct bxp_header h;
			const uint8_t *p;
			int rc;

			if (n <= 0) {
				logev("agent channel closed");
				close(agent);
				agent = -1;
				continue;
			}
			bxp_framer_commit(&fr, (size_t)n);
			while ((rc = bxp_framer_next(&fr, &h, &p)) == 1)
				on_frame(&h, p);
			if (rc < 0) {
				logev("bad frame from host: %d", rc);
				return 1;
			}
		}
		if (pfd[1].revents && qmp < 0) {
			static const char greet[] = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
			qmp = accept4(qmp_l, NULL, NULL, SOCK_CLOEXEC);
			if (write(qmp, greet, sizeof(greet) - 1) < 0)
				return 1;
			qlen = 0;
		} else if (pfd[1].revents) {
			ssize_t n = read(qmp, qbuf + qlen, sizeof(qbuf) - 1 - qlen);
			char *nl;
			if (n <= 0) {
				close(qmp);
				qmp = -1;
				continue;
			}
			qlen += (size_t)n;
			qbuf[qlen] = '\0';
			while ((nl = strchr(qbuf, '\n'))) {
				*nl = '\0';
				qmp_line(qmp, qbuf);
				qlen -= (size_t)(nl + 1 - qbuf);
				memmove(qbuf, nl + 1, qlen + 1);
			}
		}
	}
}
