/* boxlite rmi: remove images from the home. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_rmi(const struct cli_globals *g, int argc, char **argv)
{
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	int failed = 0, first = cli_simple_args("rmi", argc, argv,
					       "Usage: boxlite rmi IMAGE [IMAGE...]\n\n"
					       "Remove images; their layers and root disk go too unless another image\n"
					       "shares them. An image a box is built on is refused: remove the box first.\n");

	if (first < 0)
		return first == -2 ? 0 : CLI_EXIT_RUNTIME;
	if (first >= argc)
		return cli_usage_error("rmi", "give at least one image");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	for (int i = first; i < argc; i++) {
		if (boxlite_image_remove(rt, argv[i], &err) < 0) {
			cli_report(err);
			err = NULL;
			failed = 1;
		} else {
			printf("Untagged: %s\n", argv[i]);
		}
	}
	boxlite_runtime_close(rt);
	return failed ? CLI_EXIT_RUNTIME : 0;
}
