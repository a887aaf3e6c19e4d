/* bx_shim_spawn against a stand-in binary: the seed semantics of the shim
 * spawner (no argv, config only on stdin, stderr file first, clean env,
 * watchdog pipe at fd 3 and own process group, or setsid when detached). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "shim_spawn.h"

#define SECRET "SENTINEL_SECRET_1b2e9f07"

static const char *standin;

static char *slurp(const char *path, size_t *len)
{
	static char buf[8 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return NULL;
	while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int contains(const char *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* Waits for the stand-in's report (its "END" line) in shim.stderr. */
static char *wait_report(const char *box)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/shim.stderr", box);
	for (int i = 0; i < 500; i++) {
		char *s = slurp(path, NULL);
		if (s && strstr(s, "END\n"))
			return strdup(s);
		usleep(10000);
	}
	return NULL;
}

static int wait_exit(pid_t pid, int *status, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		usleep(10000);
	}
	return -1;
}

static char *make_config(size_t size)
{
	static const char head[] = "{\"env\":[\"SECRET=" SECRET "\"],\"pad\":\"";
	char *c = malloc(size + 1);

	/* Bigger than a pipe buffer: the write must not deadlock. */
	memset(c, 'x', size);
	memcpy(c, head, strlen(head));
	memcpy(c + size - 2, "\"}", 2);
	c[size] = '\0';
	return c;
}

static void check_proc(pid_t pid, int detach, int jail_tmp, const char *box)
{
	char path[64], want[600];
	size_t n;
	char *s;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	s = slurp(path, &n);
	CHECK(s && n == strlen(standin) + 1 && !strcmp(s, standin)); /* argv[0] only */
	CHECK(s && !contains(s, n, SECRET));

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	s = slurp(path, &n);
	CHECK(s && !contains(s, n, SECRET));
	CHECK(s && contains(s, n, "BOXLITE_BOX_ID=testbox01"));
	CHECK(s && contains(s, n, "BOXLITE_LOG=debug"));
	CHECK(s && contains(s, n, "PATH="));
	CHECK(s && !contains(s, n, "UNRELATED_PARENT_VAR"));
	snprintf(want, sizeof(want), "TMPDIR=%s/tmp", box);
	CHECK(s && contains(s, n, want) == jail_tmp);
	CHECK(s && contains(s, n, "TEMP=") == jail_tmp && contains(s, n, "TMP=") == jail_tmp);
	(void)detach;
}

static void run_case(int detach, int jail_tmp)
{
	char box[] = "/tmp/bx-spawn-XXXXXX", path[600];
	struct bx_error err = { 0 };
	char *config = make_config(200 * 1024), *report, *received;
	size_t n;
	pid_t pid;
	int wfd, status, leak;

	CHECK(mkdtemp(box) != NULL);
	/* A stale log must be truncated. */
	snprintf(path, sizeof(path), "%s/shim.stderr", box);
	int old = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(write(old, "STALE-LOG\n", 10) == 10);
	close(old);
	leak = open("/dev/null", O_RDONLY); /* not close-on-exec: must not reach the child */

	CHECK_MSG(bx_shim_spawn(standin, box, "testbox01", config, detach, jail_tmp, &pid, &wfd,
				&err) == 0, "%s", err.msg);
	close(leak);
	report = wait_report(box);
	CHECK_MSG(report != NULL, "no report from the stand-in");
	if (!report)
		return;
	CHECK(!strstr(report, "STALE-LOG"));
	CHECK(strstr(report, "argc=1\n"));
	CHECK(strstr(report, "stderr_is_shim_stderr=1\n")); /* created before it ran */
	CHECK(strstr(report, "stdout_is_null=1\n"));
	CHECK(strstr(report, "mask_empty=1\n"));
	CHECK(strstr(report, "bytes=204800\n"));
	if (detach) {
		CHECK(wfd == -1);
		CHECK(strstr(report, "sid_leader=1\n"));
		CHECK(strstr(report, "fd3=n\n"));
		CHECK_MSG(strstr(report, "fds=0,1,2,\n"), "%s", report);
	} else {
		CHECK(wfd > 2 && (fcntl(wfd, F_GETFD) & FD_CLOEXEC));
		CHECK(strstr(report, "pgid_leader=1\n"));
		CHECK(strstr(report, "sid_leader=0\n"));
		CHECK(getpgid(pid) == pid && getpgid(pid) != getpgid(0));
		CHECK(strstr(report, "fd3=p\n"));
		CHECK_MSG(strstr(report, "fds=0,1,2,3,\n"), "%s", report);
	}
	snprintf(path, sizeof(path), "%s/received", box);
	received = slurp(path, &n);
	CHECK(received && n == strlen(config) && !memcmp(received, config, n));
	check_proc(pid, detach, jail_tmp, box);

	if (detach) {
		kill(pid, SIGTERM);
		CHECK(wait_exit(pid, &status, 5000) == 0);
	} else {
		/* Closing the keepalive is the shutdown signal. */
		close(wfd);
		CHECK(wait_exit(pid, &status, 5000) == 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		snprintf(path, sizeof(path), "%s/shim.stderr", box);
		CHECK(strstr(slurp(path, NULL), "watchdog=hup"));
	}
	free(report);
	free(config);
	snprintf(path, sizeof(path), "rm -rf %s", box);
	CHECK(system(path) == 0);
}

static void test_spawn_failures(void)
{
	char box[] = "/tmp/bx-spawn-XXXXXX", path[600];
	struct bx_error err = { 0 };
	char *config = make_config(1 << 20);
	struct stat st;
	sigset_t pending;
	pid_t pid;
	int wfd;

	CHECK(mkdtemp(box) != NULL);
	CHECK(bx_shim_spawn("/nonexistent/boxlite-shim", box, "testbox01", "{}", 0, 0, &pid, &wfd,
			    &err) == -ENOENT);
	CHECK(pid == -1 && wfd == -1 && strstr(err.msg, "/nonexistent/boxlite-shim"));
	snprintf(path, sizeof(path), "%s/shim.stderr", box);
	CHECK(stat(path, &st) == 0);

	/* A child that never reads: EPIPE, reported, and no SIGPIPE here. */
	bx_err_clear(&err);
	CHECK(bx_shim_spawn("/bin/true", box, "testbox01", config, 0, 0, &pid, &wfd, &err) == -EPIPE);
	CHECK(strstr(err.msg, "before reading its configuration") && pid == -1 && wfd == -1);
	sigpending(&pending);
	CHECK(!sigismember(&pending, SIGPIPE));
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* reaped */

	bx_err_clear(&err);
	CHECK(bx_shim_spawn(standin, "/nonexistent/box", "x", "{}", 0, 0, &pid, &wfd, &err) == -ENOENT);
	free(config);
	snprintf(path, sizeof(path), "rm -rf %s", box);
	CHECK(system(path) == 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s STANDIN\n", argv[0]);
		return 2;
	}
	standin = argv[1];
	setenv("BOXLITE_LOG", "debug", 1);
	setenv("UNRELATED_PARENT_VAR", SECRET, 1);
	run_case(0, 1);
	run_case(1, 1);
	run_case(0, 0);
	test_spawn_failures();
	return check_summary("test_spawn");
}
