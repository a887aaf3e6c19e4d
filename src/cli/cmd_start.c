/* boxlite start: boot boxes; each runs detached until its main command ends. */
#include <stdio.h>

#include "cli.h"

static int start_one(boxlite_box *box, void *ud)
{
	boxlite_error *err = NULL;

	(void)ud;
	if (boxlite_box_start(box, &err) < 0) {
		cli_report(err);
		return -1;
	}
	printf("%s\n", boxlite_box_id(box));
	return 0;
}

int cmd_start(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args("start", argc, argv,
				"Usage: boxlite start BOX...\n\nBoot boxes (id, id prefix or name) and wait until each is ready.\n");
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	return cli_each_box("start", g, argc - i, argv + i, start_one, NULL);
}
