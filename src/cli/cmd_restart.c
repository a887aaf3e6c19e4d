/* boxlite restart [-t SECS]: stop, then start. */
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

int cli_stop_args(const char *cmd, int argc, char **argv, const char *usage, uint32_t *timeout_ms);

static int restart_one(boxlite_box *box, void *ud)
{
	boxlite_error *err = NULL;

	if (boxlite_box_stop(box, *(uint32_t *)ud, &err) < 0 || boxlite_box_start(box, &err) < 0) {
		cli_report(err);
		return -1;
	}
	printf("%s\n", boxlite_box_id(box));
	return 0;
}

int cmd_restart(const struct cli_globals *g, int argc, char **argv)
{
	uint32_t timeout_ms;
	int i = cli_stop_args("restart", argc, argv, "Usage: boxlite restart [OPTIONS] BOX...\n\nStop boxes, then start them again.\n\n"
			      "Options:\n"
			      "  -t, --time SECS  grace before the VM is terminated (0..3600, default 10)\n",
			      &timeout_ms);
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	return cli_each_box("restart", g, argc - i, argv + i, restart_one, &timeout_ms);
}
