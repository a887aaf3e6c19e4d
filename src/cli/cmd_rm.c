/* boxlite rm [-f]: delete boxes (a running one only with -f). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int active(enum boxlite_box_state s)
{
	return s == BOXLITE_BOX_STARTING || s == BOXLITE_BOX_RUNNING || s == BOXLITE_BOX_PAUSED ||
	       s == BOXLITE_BOX_STOPPING;
}

int cmd_rm(const struct cli_globals *g, int argc, char **argv)
{
	boxlite_runtime *rt = NULL;
	int force = 0, failed = 0, i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("Usage: boxlite rm [-f] BOX...\n\nRemove boxes and their files. A running box needs -f (it is stopped first).\n");
			return 0;
		} else {
			return cli_usage_error("rm", "unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc)
		return cli_usage_error("rm", "give at least one box (id, id prefix or name)");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	for (; i < argc; i++) {
		boxlite_box_info info = { .struct_size = sizeof(info) };
		boxlite_error *err = NULL;
		boxlite_box *box = NULL;

		if (cli_get_box(rt, argv[i], &box) < 0) {
			failed = 1;
			continue;
		}
		if (!force && boxlite_box_info_get(box, &info, NULL) == 0 && active(info.state)) {
			fprintf(stderr, "boxlite: box %s is %s: stop it first, or use rm -f\n", boxlite_box_id(box),
				boxlite_box_state_name(info.state));
			boxlite_box_free(box);
			failed = 1;
			continue;
		}
		printf("%s\n", boxlite_box_id(box));
		if (boxlite_box_remove(box, &err) < 0) {
			cli_report(err);
			failed = 1;
		}
	}
	boxlite_runtime_close(rt);
	return failed ? CLI_EXIT_RUNTIME : 0;
}
