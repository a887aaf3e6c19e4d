/* /proc helpers (proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

ssize_t bx_proc_read_text(const char *path, char *buf, size_t cap)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)total < cap - 1 && (n = read(fd, buf + total, cap - 1 - (size_t)total)) > 0)
		total += n;
	buf[total] = '\0';
	return total;
}

int bx_proc_starttime(pid_t pid, uint64_t *out)
{
	char path[64], stat[1024];
	unsigned long long v;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (bx_proc_read_text(path, stat, sizeof(stat)) <= 0)
		return -ESRCH;
	/* comm (field 2) may hold spaces: count from the last ')'. */
	p = strrchr(stat, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &v) != 1)
		return -EIO;
	/* A zombie has exited: it is not alive for our purposes. */
	if ((p = strrchr(stat, ')')) && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
		return -ESRCH;
	*out = v;
	return 0;
}

int bx_proc_is_shim(pid_t pid, uint64_t starttime, const char *box_id)
{
	char path[64], marker[64];
	_cleanup_free_ char *env = NULL;
	uint64_t st;
	ssize_t n;

	if (pid <= 0 || bx_proc_starttime(pid, &st) < 0 || (starttime && st != starttime))
		return 0;
	env = malloc(65536);
	if (!env)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	n = bx_proc_read_text(path, env, 65536);
	if (n == -EACCES && starttime)
		return 1; /* a jailed shim may hide its environment: pid + starttime decide */
	if (n <= 0)
		return 0;
	snprintf(marker, sizeof(marker), "BOXLITE_BOX_ID=%s", box_id);
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(env + off) + 1)
		if (!strcmp(env + off, marker))
			return 1;
	return 0;
}

int bx_proc_read_pidfile(const char *box_dir, pid_t *pid, uint64_t *starttime)
{
	char path[PATH_MAX], buf[128];
	unsigned long long st;
	int p;

	snprintf(path, sizeof(path), "%s/shim.pid", box_dir);
	if (bx_proc_read_text(path, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	if (sscanf(buf, "%d %llu", &p, &st) != 2 || p <= 0)
		return -EINVAL;
	*pid = p;
	*starttime = st;
	return 0;
}

pid_t bx_proc_qemu_child(pid_t pid)
{
	char path[96], buf[1024], comm[64];
	const char *p = buf;
	pid_t first = 0;
	int child, used;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if (bx_proc_read_text(path, buf, sizeof(buf)) <= 0)
		return 0;
	/* The shim may have helpers besides QEMU: pick QEMU by its name. */
	while (sscanf(p, "%d%n", &child, &used) == 1) {
		p += used;
		if (!first)
			first = child;
		snprintf(path, sizeof(path), "/proc/%d/comm", child);
		if (bx_proc_read_text(path, comm, sizeof(comm)) > 0 && !strncmp(comm, "qemu", 4))
			return child;
	}
	return first;
}
