/* boxlite stop [-t SECS]: graceful shutdown, then SIGTERM, then SIGKILL. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static int stop_one(boxlite_box *box, void *ud)
{
	boxlite_error *err = NULL;

	if (boxlite_box_stop(box, *(uint32_t *)ud, &err) < 0) {
		cli_report(err);
		return -1;
	}
	printf("%s\n", boxlite_box_id(box));
	return 0;
}

/* Shared with restart: parses -t SECS; returns the index of the first box. */
int cli_stop_args(const char *cmd, int argc, char **argv, const char *usage, uint32_t *timeout_ms);
int cli_stop_args(const char *cmd, int argc, char **argv, const char *usage, uint32_t *timeout_ms)
{
	static const struct option longopts[] = {
		{ "time", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	char *end;
	long secs;
	int c;

	*timeout_ms = 0;
	optind = 1;
	while ((c = cli_getopt(cmd, argc, argv, "+t:h", longopts)) != -1) {
		switch (c) {
		case 't':
			secs = strtol(optarg, &end, 10);
			if (!*optarg || *end || secs < 0 || secs > 3600) {
				cli_usage_error(cmd, "-t wants seconds (0..3600), got '%s'", optarg);
				return -1;
			}
			/* 0 s: straight to the hard stop after a token grace. */
			*timeout_ms = secs ? (uint32_t)secs * 1000 : 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return -2;
		default:
			return -1;
		}
	}
	return optind;
}

int cmd_stop(const struct cli_globals *g, int argc, char **argv)
{
	uint32_t timeout_ms;
	int i = cli_stop_args("stop", argc, argv,
			      "Usage: boxlite stop [OPTIONS] BOX...\n\n"
			      "Stop boxes: the guest shuts down cleanly (its main command gets SIGTERM),\n"
			      "then after SECS (default 10) the VM is terminated.\n\n"
			      "Options:\n"
			      "  -t, --time SECS  grace before the VM is terminated (0..3600, default 10)\n",
			      &timeout_ms);
	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	return cli_each_box("stop", g, argc - i, argv + i, stop_one, &timeout_ms);
}
