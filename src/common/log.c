#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "boxlite";
static enum bx_log_level log_max = BX_LOG_INFO;

void bx_log_init(const char *prog)
{
	const char *lvl = getenv("BOXLITE_LOG");

	log_prog = prog;
	if (!lvl)
		return;
	if (!strcmp(lvl, "error"))
		log_max = BX_LOG_ERROR;
	else if (!strcmp(lvl, "warn"))
		log_max = BX_LOG_WARN;
	else if (!strcmp(lvl, "debug") || !strcmp(lvl, "trace"))
		log_max = BX_LOG_DEBUG;
}

void bx_log(enum bx_log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	struct timespec ts;
	char line[2048];
	int n;
	va_list ap;

	if (lvl > log_max)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%lld.%03ld %s[%d] %s: ", (long long)ts.tv_sec,
		     ts.tv_nsec / 1000000, log_prog, (int)getpid(), names[lvl]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so concurrent writers do not interleave. */
	n = (int)strlen(line);
	if (n < (int)sizeof(line) - 1)
		line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nothing sensible to do */
	}
}
