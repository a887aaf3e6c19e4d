/* Console logging, clocks and fd helpers for the agent. */
#include "guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A host that sends junk must not be able to flood the console (a file
 * on the host): a burst of LOG_BURST lines, then LOG_PER_SEC per second. */
#define LOG_BURST 50
#define LOG_PER_SEC 5

static bool log_allowed(int *suppressed_out)
{
	static int64_t last_ms;
	static int tokens = LOG_BURST, suppressed;
	int64_t now = mono_ms();

	if (now - last_ms >= 1000 / LOG_PER_SEC) {
		int add = (int)((now - last_ms) * LOG_PER_SEC / 1000);
		tokens = tokens + add > LOG_BURST ? LOG_BURST : tokens + add;
		last_ms = now;
	}
	if (tokens == 0) {
		suppressed++;
		return false;
	}
	tokens--;
	*suppressed_out = suppressed;
	suppressed = 0;
	return true;
}

void glog(const char *fmt, ...)
{
	static const char prefix[] = "boxlite-guest: ";
	char line[512];
	va_list ap;
	int n = (int)sizeof(prefix) - 1, r, suppressed = 0;

	if (!log_allowed(&suppressed))
		return;
	if (suppressed) {
		char note[80];
		int m = snprintf(note, sizeof(note), "%s(%d messages suppressed)\n", prefix, suppressed);
		(void)!write(2, note, (size_t)m);
	}
	memcpy(line, prefix, (size_t)n);
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n += r > 0 ? r : 0;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line; the console is never worth blocking on twice. */
	(void)!write(2, line, (size_t)n);
}

uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

ssize_t read_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == cap - 1) {
		char c;
		if (read(fd, &c, 1) > 0) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
