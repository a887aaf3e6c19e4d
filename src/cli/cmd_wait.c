/* boxlite wait: block until boxes stop; print each one's exit code. */
#include <stdio.h>

#include "cli.h"

static int wait_one(boxlite_box *box, void *ud)
{
	boxlite_error *err = NULL;
	int32_t code = -1;

	(void)ud;
	if (boxlite_box_wait(box, 0, &code, &err) < 0) {
		cli_report(err);
		return -1;
	}
	printf("%d\n", (int)code);
	fflush(stdout);
	return 0;
}

int cmd_wait(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args("wait", argc, argv,
				"Usage: boxlite wait BOX...\n\nWait until each box has stopped and print its main command's exit code\n(-1 when it has none).\n");
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	return cli_each_box("wait", g, argc - i, argv + i, wait_one, NULL);
}
