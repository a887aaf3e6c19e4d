/* boxlite port: a box's published ports ("8000/tcp -> 127.0.0.1:41234"). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int port_one(boxlite_box *box, void *ud)
{
	boxlite_error *err = NULL;
	char *text = NULL;

	(void)ud;
	if (boxlite_box_ports(box, &text, &err) < 0) {
		cli_report(err);
		return -1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

int cmd_port(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args(argc, argv,
				"Usage: boxlite port BOX\n\nList the box's published ports: GUEST_PORT/PROTO -> HOST_IP:HOST_PORT.\n");
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	if (argc - i != 1) {
		fprintf(stderr, "Usage: boxlite port BOX\n");
		return CLI_EXIT_RUNTIME;
	}
	return cli_each_box(g, argc - i, argv + i, port_one, NULL);
}
