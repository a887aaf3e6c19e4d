/* boxlite_box_attach_start end to end: the main command's stdin held by one
 * client at a time (another gets -EBUSY, an output-only attach still sees
 * the output), EOF, exit status; a tty main command with its size and a
 * resize. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boxlite.h"
#include "test.h"

static char *slurp(int fd)
{
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);
	ssize_t n;

	while (b && (n = read(fd, b + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2)
			b = realloc(b, cap *= 2);
	}
	if (b)
		b[len] = '\0';
	return b ? b : strdup("");
}

static boxlite_box *new_box(boxlite_runtime *rt, const char *const *argv, int tty)
{
	boxlite_box_options *o = boxlite_box_options_new("localhost/busybox:latest");
	boxlite_error *err = NULL;
	boxlite_box *box = NULL;

	boxlite_box_options_set_command(o, argv);
	if (tty)
		CHECK(boxlite_box_options_set_tty(o, 10, 40) == 0);
	if (boxlite_box_create(rt, o, &box, &err) < 0) {
		fprintf(stderr, "create: %s\n", boxlite_error_message(err));
		boxlite_error_free(err);
		box = NULL;
	}
	boxlite_box_options_free(o);
	return box;
}

/* Three attachers on one started box: stdin to the first only. */
static void test_stdin_holder(boxlite_runtime *rt)
{
	const char *argv[] = { "sh", "-c", "read a; read b; echo got:$a:$b; exit 4", NULL };
	boxlite_box *box = new_box(rt, argv, 0);
	boxlite_exec *x1 = NULL, *x2 = NULL, *x3 = NULL;
	boxlite_error *err = NULL;
	boxlite_exit_status st = { -1, 0 };
	char *out1, *out3;

	CHECK(box != NULL);
	if (!box)
		return;
	CHECK(boxlite_box_start(box, NULL) == 0);
	CHECK(boxlite_box_attach_start(box, BOXLITE_ATTACH_STDIN, &x1, NULL) == 0);
	CHECK(boxlite_box_attach_start(box, BOXLITE_ATTACH_STDIN, &x2, &err) == -EBUSY);
	CHECK(err && strstr(boxlite_error_message(err), "stdin") != NULL);
	boxlite_error_free(err);
	CHECK(boxlite_box_attach_start(box, 0, &x3, NULL) == 0);
	if (x1 && x3) {
		/* One byte more than nothing at a time, then EOF: the command
		 * reads its two lines, the EOF ends nothing early. */
		CHECK(boxlite_exec_write_stdin(x1, "one\n", 4, NULL) == 0);
		CHECK(boxlite_exec_write_stdin(x1, "two\n", 4, NULL) == 0);
		CHECK(boxlite_exec_close_stdin(x1) == 0);
		out1 = slurp(boxlite_exec_stdout_fd(x1));
		out3 = slurp(boxlite_exec_stdout_fd(x3));
		CHECK(!strcmp(out1, "got:one:two\n"));
		CHECK(!strcmp(out3, "got:one:two\n"));
		CHECK(boxlite_exec_wait(x1, -1, &st, NULL) == 0 && st.exit_code == 4);
		CHECK(boxlite_exec_wait(x3, -1, &st, NULL) == 0 && st.exit_code == 4);
		free(out1);
		free(out3);
	}
	boxlite_exec_free(x1);
	boxlite_exec_free(x3);
	CHECK(boxlite_box_wait(box, 60000, NULL, NULL) == 0);
	boxlite_box_remove(box, NULL);
}

/* A tty main command started by the attach: its size, a resize, ^D. */
static void test_tty(boxlite_runtime *rt)
{
	const char *argv[] = { "sh", NULL };
	boxlite_box *box = new_box(rt, argv, 1);
	boxlite_exec *x = NULL;
	boxlite_exit_status st = { -1, 0 };
	char *out, c;

	CHECK(box != NULL);
	if (!box)
		return;
	CHECK(boxlite_box_attach_start(box, BOXLITE_ATTACH_STDIN, &x, NULL) == 0);
	if (x) {
		CHECK(boxlite_exec_write_stdin(x, "stty size\n", 10, NULL) == 0);
		usleep(300000);
		CHECK(boxlite_exec_resize(x, 50, 132) == 0);
		usleep(300000);
		CHECK(boxlite_exec_write_stdin(x, "stty size; tty; exit 3\n", 23, NULL) == 0);
		out = slurp(boxlite_exec_stdout_fd(x));
		CHECK(boxlite_exec_wait(x, -1, &st, NULL) == 0 && st.exit_code == 3);
		CHECK(strstr(out, "10 40") != NULL);
		CHECK(strstr(out, "50 132") != NULL);
		CHECK(strstr(out, "/dev/pts/") != NULL);
		CHECK(read(boxlite_exec_stderr_fd(x), &c, 1) == 0);
		if (test_failures)
			fprintf(stderr, "tty output: %s\n", out);
		free(out);
	}
	boxlite_exec_free(x);
	boxlite_box_remove(box, NULL);
}

int main(void)
{
	char home[] = "/tmp/bx-attach.XXXXXX";
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;

	signal(SIGPIPE, SIG_IGN);
	CHECK(mkdtemp(home) != NULL);
	if (boxlite_runtime_open(home, &rt, &err) < 0) {
		fprintf(stderr, "%s\n", boxlite_error_message(err));
		return 1;
	}
	test_stdin_holder(rt);
	test_tty(rt);
	boxlite_runtime_close(rt);
	if (!test_failures) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
		(void)!system(cmd);
	}
	TEST_MAIN_END();
}
