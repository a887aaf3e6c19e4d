/* boxlite port: a box's published ports ("8000/tcp -> 127.0.0.1:41234"),
 * and publishing or unpublishing one after create (boxlite port add/rm). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "netvol_opts.h"

#define PORT_USAGE                                                                                 \
	"Usage: boxlite port BOX\n"                                                                \
	"       boxlite port add BOX [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]...\n"              \
	"       boxlite port rm BOX [HOST_IP:]HOST_PORT[/tcp|/udp]...\n\n"                        \
	"List the box's published ports (GUEST_PORT/PROTO -> HOST_IP:HOST_PORT), or publish\n"    \
	"and unpublish ports: at once when the box runs, from its next start otherwise; kept\n"   \
	"across restarts. HOST_IP defaults to 127.0.0.1; host port 0 picks a free port.\n"

static int port_list(boxlite_box *box, void *ud)
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

/* Applies each spec in order; stops at the first failure. */
static int port_change(const struct cli_globals *g, int add, const char *key, int n, char **specs)
{
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	int rc = CLI_EXIT_RUNTIME;

	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (cli_get_box(rt, key, &box) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		boxlite_error *err = NULL;
		struct cli_publish p;
		uint32_t bound = 0;
		int r;

		if (cli_parse_publish(specs[i], add, &p) < 0) {
			fprintf(stderr, "boxlite: port %s wants %s, got '%s'\n", add ? "add" : "rm",
				add ? "[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]" : "[HOST_IP:]HOST_PORT[/tcp|/udp]",
				specs[i]);
			goto out;
		}
		r = add ? boxlite_box_port_add(box, p.ip, p.host_port, p.guest_port, p.proto, &bound, &err)
			: boxlite_box_port_remove(box, p.ip, p.host_port, p.proto, &err);
		if (r < 0) {
			cli_report(err);
			goto out;
		}
		if (add)
			printf("%u/%s -> %s:%u\n", p.guest_port, p.proto, p.ip[0] ? p.ip : "127.0.0.1", bound);
	}
	rc = 0;
out:
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	return rc;
}

int cmd_port(const struct cli_globals *g, int argc, char **argv)
{
	int i = cli_simple_args("port", argc, argv, PORT_USAGE);

	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	if (argc - i >= 3 && (!strcmp(argv[i], "add") || !strcmp(argv[i], "rm")))
		return port_change(g, !strcmp(argv[i], "add"), argv[i + 1], argc - i - 2, argv + i + 2);
	if (argc - i != 1)
		return cli_usage_error("port", "needs one box, or add|rm BOX PORT...");
	return cli_each_box("port", g, argc - i, argv + i, port_list, NULL);
}
