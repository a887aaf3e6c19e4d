/* A program that creates a non-detached box and then dies by SIGKILL
 * leaves no process behind within 10 s (the shim's watchdog). The creator
 * runs in a child; the parent watches for the box's processes. Then a
 * detached box made by another child outlives it, and this process finds
 * it by name, runs a command in it and removes it. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boxlite.h"
#include "test.h"

static char home[] = "/tmp/boxlite-e2e-kill.XXXXXX";

/* Processes whose working directory is under home (shims, QEMUs). */
static int procs_in_home(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char link[64], cwd[PATH_MAX];
		ssize_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "/proc/%s/cwd", de->d_name);
		len = readlink(link, cwd, sizeof(cwd) - 1);
		if (len > 0 && (cwd[len] = '\0', !strncmp(cwd, home, strlen(home))))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void creator(int detach, int ready_fd)
{
	const char *argv[] = { "sleep", "1000", NULL };
	boxlite_runtime *rt;
	boxlite_box *box;
	boxlite_box_options *o = boxlite_box_options_new("localhost/busybox:latest");

	boxlite_box_options_set_command(o, argv);
	boxlite_box_options_set_detach(o, detach);
	if (detach)
		boxlite_box_options_set_name(o, "keep");
	if (boxlite_runtime_open(home, &rt, NULL) < 0 || boxlite_box_create(rt, o, &box, NULL) < 0 ||
	    boxlite_box_start(box, NULL) < 0)
		_exit(2);
	if (write(ready_fd, "x", 1) != 1)
		_exit(3);
	if (detach)
		_exit(0); /* leaves without closing anything */
	kill(getpid(), SIGKILL);
}

static int spawn_creator(int detach)
{
	int p[2], status;
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		creator(detach, p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		c = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	return c == 'x' ? 0 : -1;
}

int main(void)
{
	boxlite_runtime *rt;
	boxlite_box *box = NULL;
	boxlite_box_info info = { .struct_size = sizeof(info) };
	boxlite_exit_status st;
	char *out = NULL;
	int left = -1;

	if (!mkdtemp(home))
		return 1;
	CHECK(spawn_creator(0) == 0);
	for (int i = 0; i < 100 && (left = procs_in_home()) > 0; i++)
		usleep(100000);
	CHECK(left == 0);

	CHECK(spawn_creator(1) == 0);
	usleep(300000);
	CHECK(procs_in_home() > 0); /* outlived its creator */
	CHECK(boxlite_runtime_open(home, &rt, NULL) == 0);
	CHECK(boxlite_box_get(rt, "keep", &box, NULL) == 0);
	if (box) {
		const char *argv[] = { "echo", "ok", NULL };
		CHECK(boxlite_box_info_get(box, &info, NULL) == 0 && info.state == BOXLITE_BOX_RUNNING &&
		      info.shim_pid > 0 && info.detached);
		CHECK(boxlite_box_run(box, argv, &st, &out, NULL, NULL) == 0 && out && !strcmp(out, "ok\n"));
		free(out);
		/* The shim is not a zombie child of anyone here: init reaps it. */
		CHECK(boxlite_box_remove(box, NULL) == 0);
	}
	boxlite_runtime_close(rt);
	for (int i = 0; i < 100 && (left = procs_in_home()) > 0; i++)
		usleep(100000);
	CHECK(left == 0);
	if (!test_failures) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
		if (system(cmd) != 0)
			return 1;
	}
	TEST_MAIN_END();
}
