/* boxlite create: record a new box (nothing boots until start). */
#include <stdio.h>

#include "box_opts.h"
#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite create [OPTIONS] IMAGE [--] [COMMAND [ARG...]]\n"
		   "       boxlite create [OPTIONS] --rootfs DIR [--] [COMMAND [ARG...]]\n\n"
		   "Create a box and print its id. Nothing boots until 'boxlite start'; the box\n"
		   "then runs detached until its main command ends or it is stopped.\n\n"
		   "Options:\n" BOX_OPTS_HELP);
}

int cmd_create(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = { BOX_OPTS_LONG, { "help", no_argument, NULL, 'h' }, { 0 } };
	boxlite_box_options *opts;
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	struct box_opts bo;
	int c, code = CLI_EXIT_RUNTIME;

	box_opts_init(&bo, "create");
	optind = 1;
	while ((c = cli_getopt("create", argc, argv, "+" BOX_OPTS_SHORT "h", longopts)) != -1) {
		int r = box_opts_handle(&bo, c, optarg);
		if (r < 0)
			return CLI_EXIT_RUNTIME;
		if (r > 0)
			continue;
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		return CLI_EXIT_RUNTIME;
	}
	if (optind >= argc && !bo.rootfs)
		return cli_usage_error("create", "needs an image (or --rootfs DIR)");
	/* Started later by another process: the box cannot be tied to this one. */
	if (!(opts = bo.rootfs ? box_opts_build(&bo, NULL, argv + cli_skip_separator(argc, argv, optind), 1)
			       : box_opts_build(&bo, argv[optind], argv + cli_skip_separator(argc, argv, optind + 1), 1)))
		return CLI_EXIT_RUNTIME;
	if (cli_open_runtime(g, &rt) == 0) {
		if (boxlite_box_create(rt, opts, &box, &err) < 0) {
			cli_report(err);
		} else {
			printf("%s\n", boxlite_box_id(box));
			code = 0;
		}
	}
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	boxlite_box_options_free(opts);
	return code;
}
