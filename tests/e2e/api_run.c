/* The C API end to end: open a runtime in a fresh home, create and start a
 * box, run commands through both exec calls, check errors, remove it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boxlite.h"
#include "test.h"

static void on_output(void *ud, enum boxlite_stream s, const void *data, size_t n)
{
	size_t *counts = ud;
	counts[s] += n;
}

int main(void)
{
	char home[] = "/tmp/boxlite-api.XXXXXX";
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	boxlite_box_options *o;
	boxlite_error *err = NULL;
	boxlite_exit_status st;
	char *out = NULL, *errout = NULL;
	int rc;

	CHECK(mkdtemp(home) != NULL);
	rc = boxlite_runtime_open(home, &rt, &err);
	CHECK(rc == 0);
	if (rc) {
		fprintf(stderr, "%s\n", boxlite_error_message(err));
		return 1;
	}
	o = boxlite_box_options_new("localhost/busybox:latest");
	CHECK(boxlite_box_options_set_cpus(o, 0) == -EINVAL);
	CHECK(boxlite_box_options_add_env(o, "NOEQUALS") == -EINVAL);
	CHECK(boxlite_box_options_add_env(o, "FROM_BOX=1") == 0);
	rc = boxlite_box_create(rt, o, &box, &err);
	CHECK(rc == 0);
	if (rc == 0)
		rc = boxlite_box_start(box, &err);
	CHECK(rc == 0);
	if (rc) {
		fprintf(stderr, "%s\n", boxlite_error_message(err));
		return 1;
	}
	CHECK(strlen(boxlite_box_id(box)) == 12);

	const char *argv1[] = { "sh", "-c", "echo out-$FROM_BOX; echo err >&2; exit 7", NULL };
	rc = boxlite_box_run(box, argv1, &st, &out, &errout, &err);
	CHECK(rc == 0);
	CHECK(st.exit_code == 7 && st.signal == 0);
	CHECK(out && !strcmp(out, "out-1\n"));
	CHECK(errout && !strcmp(errout, "err\n"));
	free(out);
	free(errout);

	/* Many commands in one running box. */
	for (int i = 0; i < 5; i++) {
		const char *argv2[] = { "true", NULL };
		CHECK(boxlite_box_run(box, argv2, &st, NULL, NULL, NULL) == 0 && st.exit_code == 0);
	}

	/* Streaming: 8 MiB through stdout arrives whole. */
	size_t counts[3] = { 0 };
	const char *argv3[] = { "sh", "-c", "head -c 8388608 /dev/zero", NULL };
	boxlite_exec_options eo = { .struct_size = sizeof(eo), .argv = argv3 };
	CHECK(boxlite_box_exec(box, &eo, on_output, counts, &st, NULL) == 0);
	CHECK(counts[BOXLITE_STDOUT] == 8388608 && st.exit_code == 0);

	/* A command that does not exist is an exec error, not a runtime error. */
	const char *argv4[] = { "no-such-command", NULL };
	rc = boxlite_box_run(box, argv4, &st, NULL, NULL, &err);
	CHECK(rc == -ENOENT);
	CHECK(err && boxlite_error_origin(err) == BOXLITE_ORIGIN_EXEC);
	CHECK(err && strstr(boxlite_error_message(err), "no-such-command"));
	boxlite_error_free(err);
	err = NULL;

	/* A second start is refused. */
	CHECK(boxlite_box_start(box, &err) == -EALREADY);
	boxlite_error_free(err);
	err = NULL;

	/* After stop, exec wakes a box without a command of its own (it runs
	 * the image's default): create-then-exec, as the reference's SDKs. */
	CHECK(boxlite_box_stop(box, 0, NULL) == 0);
	CHECK(boxlite_box_run(box, argv1, &st, NULL, NULL, &err) == 0 && st.exit_code == 7);
	CHECK(boxlite_box_remove(box, NULL) == 0);
	boxlite_box_options_free(o);

	/* A job (created with a command) is never started by exec: that would
	 * run its command; the error says so. */
	const char *job[] = { "sleep", "300", NULL };
	o = boxlite_box_options_new("localhost/busybox:latest");
	CHECK(boxlite_box_options_set_command(o, job) == 0);
	CHECK(boxlite_box_create(rt, o, &box, NULL) == 0);
	CHECK(boxlite_box_run(box, argv1, &st, NULL, NULL, &err) == -ENOTCONN);
	CHECK(err && strstr(boxlite_error_message(err), "starting it would run its main command"));
	boxlite_error_free(err);
	err = NULL;
	CHECK(boxlite_box_start(box, NULL) == 0 && boxlite_box_stop(box, 0, NULL) == 0);
	CHECK(boxlite_box_run(box, argv1, &st, NULL, NULL, &err) == -ENOTCONN);
	CHECK(err && strstr(boxlite_error_message(err), "a second time"));
	boxlite_error_free(err);
	err = NULL;
	CHECK(boxlite_box_remove(box, NULL) == 0);
	boxlite_box_options_free(o);

	/* An unknown image is -ENOENT with a message naming it. */
	o = boxlite_box_options_new("localhost/nope:1");
	CHECK(boxlite_box_create(rt, o, &box, &err) == -ENOENT);
	CHECK(err && strstr(boxlite_error_message(err), "localhost/nope:1"));
	boxlite_error_free(err);
	boxlite_box_options_free(o);
	boxlite_runtime_close(rt);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	CHECK(system(cmd) == 0);
	TEST_MAIN_END();
}
