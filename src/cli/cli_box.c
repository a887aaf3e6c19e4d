/* Helpers for the commands that work on existing boxes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_get_box(boxlite_runtime *rt, const char *key, boxlite_box **box)
{
	boxlite_error *err = NULL;

	if (boxlite_box_get(rt, key, box, &err) < 0) {
		cli_report(err);
		return -1;
	}
	return 0;
}

int cli_each_box(const char *cmd, const struct cli_globals *g, int argc, char **argv,
		 int (*fn)(boxlite_box *box, void *ud), void *ud)
{
	boxlite_runtime *rt = NULL;
	int failed = 0;

	if (argc < 1)
		return cli_usage_error(cmd, "give at least one box (id, id prefix or name)");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	for (int i = 0; i < argc; i++) {
		boxlite_box *box = NULL;
		if (cli_get_box(rt, argv[i], &box) < 0) {
			failed = 1;
			continue;
		}
		if (fn(box, ud) < 0)
			failed = 1;
		boxlite_box_free(box);
	}
	boxlite_runtime_close(rt);
	return failed ? CLI_EXIT_RUNTIME : 0;
}

/* Prints what the given --help text says when asked, else complains. */
int cli_simple_args(const char *cmd, int argc, char **argv, const char *usage)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		int gl = cli_global_option(cmd, argc, argv, &i);

		if (gl < 0)
			return -1;
		if (gl)
			continue;
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return -2;
		}
		cli_usage_error(cmd, "unknown option '%s'", argv[i]);
		return -1;
	}
	return i;
}
