/* Facts about host processes from /proc: is this pid really box X's shim? */
#ifndef BOXLITE_LIB_PROC_H
#define BOXLITE_LIB_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Reads at most cap-1 bytes of a small file (a /proc entry) into buf,
 * NUL-terminated. Returns the length or -errno. */
ssize_t bx_proc_read_text(const char *path, char *buf, size_t cap);
/* Field 22 of /proc/PID/stat (clock ticks after boot). -ESRCH if gone. */
int bx_proc_starttime(pid_t pid, uint64_t *out);
/* 1 when pid is alive, started at starttime (0: not checked) and carries
 * BOXLITE_BOX_ID=box_id in its environment; else 0. */
int bx_proc_is_shim(pid_t pid, uint64_t starttime, const char *box_id);
/* Reads "<pid> <starttime>" from box_dir/shim.pid. -ENOENT when absent. */
int bx_proc_read_pidfile(const char *box_dir, pid_t *pid, uint64_t *starttime);
/* The shim's QEMU child (by name; else its first child), or 0. */
pid_t bx_proc_qemu_child(pid_t pid);

#endif
