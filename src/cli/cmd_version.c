#include <stdio.h>

#include "cli.h"

int cmd_version(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args("version", argc, argv, "Usage: boxlite version\n\nShow boxlite's version.\n");

	(void)g;
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	if (i < argc)
		return cli_usage_error("version", "takes no arguments, got '%s'", argv[i]);
	printf("boxlite %s\n", boxlite_version());
	return 0;
}
