/* What a QEMU binary can do, asked of the binary itself (engine.h,
 * bx_engine_qemu_probe): its version, and whether memory-backend-file maps
 * a read-only file private and writable (the "rom" property, QEMU >= 8.2),
 * which warm-start clones need (BX_MEM_CLONE). */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs qemu with one or two arguments, stdout into buf (NUL-terminated,
 * truncated to cap - 1), stderr discarded; "" when it cannot run. */
static void qemu_output(const char *qemu, const char *arg1, const char *arg2, char *buf, size_t cap)
{
	char *argv[] = { (char *)qemu, (char *)arg1, (char *)arg2, NULL };
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	pid_t pid = -1;
	int p[2];
	ssize_t n;

	buf[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, qemu, &fa, NULL, argv, (char *[]){ NULL }) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	while (pid > 0 && len < cap - 1 && (n = read(p[0], buf + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	buf[len] = '\0';
}

void bx_engine_qemu_probe(const char *qemu, struct bx_engine_caps *caps)
{
	char buf[8192];
	const char *v;

	memset(caps, 0, sizeof(*caps));
	/* "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2...)" */
	qemu_output(qemu, "--version", NULL, buf, sizeof(buf));
	if ((v = strstr(buf, "version ")))
		sscanf(v + 8, "%31[0-9.]", caps->version);
	/* "  rom=<OnOffAuto>        - Whether to create Read Only Memory (ROM)" */
	qemu_output(qemu, "-object", "memory-backend-file,help", buf, sizeof(buf));
	for (const char *q = buf; !caps->ram_file_cow && (q = strstr(q, "rom=")); q++)
		caps->ram_file_cow = q == buf || q[-1] == ' ' || q[-1] == '\n';
}
