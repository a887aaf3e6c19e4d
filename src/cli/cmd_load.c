/* boxlite load: images from a docker-archive or oci-archive file. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite load -i FILE [--name IMAGE]\n\n"
		   "Load the images of FILE, a docker-archive (docker save) or an oci-archive\n"
		   "(a tar of an OCI image layout), into the home.\n\n"
		   "Options:\n"
		   "  -i, --input FILE  the archive\n"
		   "      --name IMAGE  store the (first) image under this name instead of\n"
		   "                    the names in the archive\n");
}

int cmd_load(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *input = NULL, *name = NULL;
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	char **refs = NULL;
	int c, rc;

	optind = 1;
	while ((c = cli_getopt("load", argc, argv, "+i:h", longopts)) != -1) {
		if (c == 'i')
			input = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			return CLI_EXIT_RUNTIME;
		}
	}
	if (!input)
		return cli_usage_error("load", "needs -i FILE");
	if (optind != argc)
		return cli_usage_error("load", "takes no arguments, got '%s'", argv[optind]);
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	rc = boxlite_image_load(rt, input, name, &refs, &err);
	boxlite_runtime_close(rt);
	if (rc < 0) {
		cli_report(err);
		return CLI_EXIT_RUNTIME;
	}
	for (size_t i = 0; refs && refs[i]; i++)
		printf("Loaded image: %s\n", refs[i]);
	boxlite_image_refs_free(refs);
	return 0;
}
