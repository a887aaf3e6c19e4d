/* boxlite export BOX [-o FILE|DIR]: the box as a .boxlite archive
 * (docs/snapshots.md, "Export and import"). Prints the file written. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char usage[] =
	"Usage: boxlite export [OPTIONS] BOX\n"
	"\n"
	"Write BOX (its config and its disk as it is now) to one .boxlite archive, which\n"
	"`boxlite import` turns into a new box here or on another machine. A running box\n"
	"runs on. Prints the file written.\n"
	"\n"
	"Options:\n"
	"  -o, --output PATH  the archive (default: ./NAME.boxlite, or ./box.boxlite);\n"
	"                     a directory: PATH/NAME.boxlite\n"
	"      --with-state   with the box's checkpoint (a running box is checkpointed,\n"
	"                     so stopped, first): the imported box resumes where it was\n"
	"  -h, --help         Show this help\n";

int cmd_export(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "with-state", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dest = ".";
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	char *written = NULL;
	unsigned flags = 0;
	int c, rc = 0;

	while ((c = cli_getopt("export", argc, argv, "o:h", opts)) != -1) {
		switch (c) {
		case 'o':
			dest = optarg;
			break;
		case 'S':
			flags |= BOXLITE_EXPORT_WITH_STATE;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("export", "needs exactly one box");
	if (cli_open_runtime(g, &rt) < 0 || cli_get_box(rt, argv[optind], &box) < 0) {
		rc = CLI_EXIT_RUNTIME;
	} else if (boxlite_box_export_ex(box, dest, flags, &written, &err) < 0) {
		cli_report(err);
		rc = CLI_EXIT_RUNTIME;
	} else {
		puts(written);
	}
	free(written);
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	return rc;
}
