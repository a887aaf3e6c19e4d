/* boxlite clone BOX [--name N] [-n COUNT]: thin copies of a box
 * (docs/snapshots.md). Prints each clone's id. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: boxlite clone [OPTIONS] BOX\n"
	"\n"
	"Make new boxes whose disks start as BOX's is now (thin: copy-on-write), each with\n"
	"its own id and hostname. A running BOX runs on.\n"
	"\n"
	"Options:\n"
	"      --name NAME    the clone's name (with -n: NAME-1 ... NAME-COUNT)\n"
	"  -n, --count N      how many clones (1..64, default 1)\n"
	"  -h, --help         Show this help\n";

int cmd_clone(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *name = NULL, **names = NULL;
	char (*buf)[80] = NULL;
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL, **out = NULL;
	boxlite_error *err = NULL;
	long count = 1;
	int c, rc = 0;

	while ((c = cli_getopt("clone", argc, argv, "n:h", opts)) != -1) {
		switch (c) {
		case 'N':
			name = optarg;
			break;
		case 'n': {
			char *end;
			count = strtol(optarg, &end, 10);
			if (*end || count < 1 || count > 64)
				return cli_usage_error("clone", "-n must be 1..64, not '%s'", optarg);
			break;
		}
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("clone", "needs exactly one box");
	if (!(out = calloc((size_t)count, sizeof(*out))) || (name && (!(names = calloc((size_t)count, sizeof(*names))) ||
								      !(buf = calloc((size_t)count, sizeof(*buf)))))) {
		perror("boxlite clone");
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	for (long i = 0; name && i < count; i++) {
		if (count == 1)
			snprintf(buf[i], sizeof(buf[i]), "%s", name);
		else
			snprintf(buf[i], sizeof(buf[i]), "%s-%ld", name, i + 1);
		names[i] = buf[i];
	}
	if (cli_open_runtime(g, &rt) < 0 || cli_get_box(rt, argv[optind], &box) < 0) {
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	if (boxlite_box_clone(box, (size_t)count, names, out, &err) < 0) {
		cli_report(err);
		rc = CLI_EXIT_RUNTIME;
		goto out;
	}
	for (long i = 0; i < count; i++) {
		puts(boxlite_box_id(out[i]));
		boxlite_box_free(out[i]);
	}
out:
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	free(out);
	free(names);
	free(buf);
	return rc;
}
