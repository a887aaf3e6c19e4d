/* Helpers shared by the tests that run the real boxlite-shim: a box
 * directory, spawning the shim like the library does, and a minimal client
 * of box.sock. Included by one test file each (static functions). */
#ifndef BOXLITE_SHIM_TESTS_SHIM_TEST_H
#define BOXLITE_SHIM_TESTS_SHIM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "protocol.h"
#include "shim_spawn.h"

/* Not every test uses every helper. */
#define HELPER static __attribute__((unused))

#ifndef SECRET
#define SECRET "SENTINEL_SECRET_7c0ffee5"
#endif

static const char *shim_path;

struct box {
	char dir[64];
	pid_t pid;
	int wfd;
};

HELPER char *slurp(const char *dir, const char *name)
{
	static char buf[1 << 20];
	char path[256];
	size_t n = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf[0] = '\0';
	if (fd < 0)
		return buf;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return buf;
}

HELPER int exists(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

HELPER void put_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

HELPER void box_spawn(struct box *b, const char *config, int detach)
{
	struct bx_error err = { 0 };

	CHECK_MSG(bx_shim_spawn(shim_path, b->dir, "testbox01", config, detach, 1, &b->pid, &b->wfd,
				&err) == 0, "%s", err.msg);
}

HELPER int box_wait(struct box *b, int ms)
{
	int status;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(b->pid, &status, WNOHANG) == b->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	fprintf(stderr, "shim %d did not exit in %d ms\n", (int)b->pid, ms);
	kill(-b->pid, SIGKILL);
	waitpid(b->pid, &status, 0);
	return -1;
}

/* After the shim: nothing left in its process group, no secret in its log. */
HELPER void box_done(struct box *b)
{
	char cmd[128];
	char *log = strdup(slurp(b->dir, "shim.stderr"));

	if (b->pid > 0)
		CHECK_MSG(kill(-b->pid, 0) < 0 && errno == ESRCH, "processes left in group %d", (int)b->pid);
	CHECK(strstr(log, SECRET) == NULL);
	CHECK(!exists(b->dir, "box.sock") && !exists(b->dir, "shim.pid"));
	if (b->wfd >= 0)
		close(b->wfd);
	if (test_failures)
		fprintf(stderr, "--- %s/shim.stderr ---\n%s--- fake.log ---\n%s", b->dir, log,
			slurp(b->dir, "fake.log"));
	free(log);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
	CHECK(system(cmd) == 0);
}

HELPER int client_connect(const struct box *b)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/box.sock", b->dir);
	for (int i = 0; i < 500; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		usleep(10000);
	}
	CHECK_MSG(0, "cannot connect to %s", sa.sun_path);
	close(fd);
	return -1;
}

struct frame {
	struct bxp_header h;
	uint8_t p[BXP_MAX_PAYLOAD];
};

HELPER int read_full(int fd, void *buf, size_t n, int ms)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;
		if (poll(&pfd, 1, ms) <= 0)
			return -1;
		r = read(fd, (uint8_t *)buf + got, n - got);
		if (r <= 0)
			return got ? -1 : 0;
		got += (size_t)r;
	}
	return 1;
}

/* 1: a frame; 0: connection closed; -1: timeout or error. */
HELPER int recv_frame(int fd, struct frame *f, int ms)
{
	uint8_t hdr[BXP_HEADER_SIZE];
	int rc = read_full(fd, hdr, sizeof(hdr), ms);

	if (rc <= 0)
		return rc;
	if (bxp_header_decode(hdr, &f->h) < 0)
		return -1;
	return f->h.len ? (read_full(fd, f->p, f->h.len, ms) == 1 ? 1 : -1) : 1;
}

HELPER uint64_t field_u64(const struct frame *f, uint16_t tag)
{
	struct bxp_reader r;
	struct bxp_field fl;
	uint64_t v = 0;
	uint32_t v32;

	bxp_reader_init(&r, f->p, f->h.len);
	while (bxp_next(&r, &fl) == 1)
		if (fl.tag == tag) {
			if (bxp_field_u64(&fl, &v) < 0 && bxp_field_u32(&fl, &v32) == 0)
				v = v32;
			break;
		}
	return v;
}

HELPER const char *field_str(const struct frame *f, uint16_t tag)
{
	static char s[1024];
	struct bxp_reader r;
	struct bxp_field fl;

	s[0] = '\0';
	bxp_reader_init(&r, f->p, f->h.len);
	while (bxp_next(&r, &fl) == 1)
		if (fl.tag == tag && bxp_field_str(&fl, s, sizeof(s)) == 0)
			break;
	return s;
}

HELPER void send_exec(int fd, uint32_t chan, const char *const *argv)
{
	uint8_t buf[1024];
	struct bxp_writer w;

	bxp_writer_init(&w, buf, sizeof(buf));
	for (; *argv; argv++)
		bxp_put_str(&w, BXT_ARG, *argv);
	CHECK(bxp_send(fd, chan, BXP_EXEC, 0, buf, w.len) == 0);
}

/* Reads frames until one of type on chan; others on that chan are checked by the caller. */
HELPER int expect_frame(int fd, struct frame *f, uint32_t chan, uint16_t type)
{
	for (int i = 0; i < 32; i++) {
		int rc = recv_frame(fd, f, 5000);
		if (rc <= 0) {
			CHECK_MSG(0, "waiting for %s on %u: %s", bxp_type_name(type), chan,
				  rc == 0 ? "closed" : "timeout");
			return -1;
		}
		if (f->h.chan == chan && f->h.type == type)
			return 0;
		if (f->h.chan == chan && f->h.type == BXP_ERROR) {
			CHECK_MSG(0, "ERROR on %u while waiting for %s: %s", chan, bxp_type_name(type),
				  field_str(f, BXT_MESSAGE));
			return -1;
		}
	}
	return -1;
}

HELPER int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, prefix)); p++)
		n++;
	return n;
}

#endif
