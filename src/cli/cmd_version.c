#include <stdio.h>

#include "cli.h"

int cmd_version(const struct cli_globals *g, int argc, char **argv)
{
	(void)g;
	(void)argc;
	(void)argv;
	printf("boxlite %s\n", boxlite_version());
	return 0;
}
