/* boxlite checkpoint BOX...: save running boxes to disk and stop them; the
 * next `boxlite start` resumes each where it was (docs/checkpoints.md). */
#include <stdio.h>

#include "cli.h"

static int checkpoint_one(boxlite_box *box, void *ud)
{
	boxlite_error *err = NULL;

	(void)ud;
	if (boxlite_box_checkpoint(box, &err) < 0) {
		cli_report(err);
		return -1;
	}
	printf("%s\n", boxlite_box_id(box));
	return 0;
}

int cmd_checkpoint(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args("checkpoint", argc, argv,
				"Usage: boxlite checkpoint BOX...\n\n"
				"Save running boxes (memory, devices, disk) and stop them: their QEMU and\n"
				"shim go, their memory is freed. `boxlite start BOX` resumes each where it\n"
				"was: its processes, open files and tmpfs go on.\n");
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	return cli_each_box("checkpoint", g, argc - i, argv + i, checkpoint_one, NULL);
}
