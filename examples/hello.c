/* The README's example, built and run by the test suite so it cannot rot. */
#include <boxlite.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	boxlite_runtime *rt;
	boxlite_box *box;
	boxlite_error *err = NULL;
	boxlite_exit_status st;
	char *out = NULL;
	const char *argv[] = { "python3", "-c", "print(6*7)", NULL };

	if (boxlite_runtime_open(NULL, &rt, &err) < 0)
		goto fail;
	boxlite_box_options *o = boxlite_box_options_new("localhost/python:3.11");
	if (boxlite_box_create(rt, o, &box, &err) < 0 || boxlite_box_start(box, &err) < 0)
		goto fail;
	if (boxlite_box_run(box, argv, &st, &out, NULL, &err) < 0)
		goto fail;
	printf("exit %d: %s", st.exit_code, out);
	free(out);
	boxlite_box_remove(box, NULL);
	boxlite_box_options_free(o);
	boxlite_runtime_close(rt);
	return 0;
fail:
	fprintf(stderr, "boxlite: %s\n", boxlite_error_message(err));
	return 1;
}
