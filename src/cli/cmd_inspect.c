/* boxlite inspect: boxes as a JSON array (env values masked). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int inspect_one(boxlite_box *box, void *ud)
{
	boxlite_error *err = NULL;
	int *n = ud;
	char *json;

	if (boxlite_box_inspect(box, &json, &err) < 0) {
		cli_report(err);
		return -1;
	}
	printf("%s%s", (*n)++ ? ",\n" : "", json);
	free(json);
	return 0;
}

int cmd_inspect(const struct cli_globals *g, int argc, char **argv)
{
	int n = 0, rc, i = cli_simple_args("inspect", argc, argv,
					    "Usage: boxlite inspect BOX...\n\nPrint boxes as JSON: config (environment keys only), state, pids, paths, times.\n");
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	printf("[\n");
	rc = cli_each_box("inspect", g, argc - i, argv + i, inspect_one, &n);
	printf("%s]\n", n ? "\n" : "");
	return rc;
}
