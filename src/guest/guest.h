/* boxlite-guest: small helpers shared by the agent's files (util.c) and the
 * agent-wide state that more than one file reads. */
#ifndef BOXLITE_GUEST_H
#define BOXLITE_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One line "boxlite-guest: ..." on the console (fd 2). */
void glog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t boot_ns(void);  /* CLOCK_BOOTTIME, what the protocol's T_* fields carry */
int64_t mono_ms(void);   /* CLOCK_MONOTONIC, for deadlines */
void sleep_ms(int ms);

/* Reads a whole file of at most cap-1 bytes and NUL-terminates it. Returns
 * the length, or -errno (-EFBIG when it does not fit). */
ssize_t read_file(const char *path, char *buf, size_t cap);
int set_nonblock(int fd);
void close_fd(int *fd); /* closes when >= 0 and sets -1 */

/* Set by setup.c once the root filesystem is in place: execs run only then. */
extern bool g_root_ready;
/* Set by main.c when SHUTDOWN arrived: no new execs. */
extern bool g_shutting_down;

#endif
