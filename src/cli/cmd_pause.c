/* boxlite pause / unpause: freeze and thaw a box's virtual CPUs. */
#include <stdio.h>

#include "cli.h"

static int pause_one(boxlite_box *box, void *ud)
{
	boxlite_error *err = NULL;
	int rc = ud ? boxlite_box_pause(box, &err) : boxlite_box_unpause(box, &err);

	if (rc < 0) {
		cli_report(err);
		return -1;
	}
	printf("%s\n", boxlite_box_id(box));
	return 0;
}

int cmd_pause(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args("pause", argc, argv, "Usage: boxlite pause BOX...\n\nFreeze the boxes' virtual CPUs.\n");
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	return cli_each_box("pause", g, argc - i, argv + i, pause_one, (void *)1);
}

int cmd_unpause(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args("unpause", argc, argv, "Usage: boxlite unpause BOX...\n\nLet paused boxes run again.\n");
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	return cli_each_box("unpause", g, argc - i, argv + i, pause_one, NULL);
}
