/* boxlite image SUBCOMMAND: prune (and docker's aliases ls, rm, pull, load, import). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int image_prune(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	char **removed = NULL;
	uint64_t bytes = 0;
	int c, rc;

	optind = 1;
	while ((c = cli_getopt("image prune", argc, argv, "+afh", longopts)) != -1) {
		if (c == 'a' || c == 'f')
			continue; /* docker's flags: every unused image goes, without a prompt */
		if (c != 'h')
			return CLI_EXIT_RUNTIME;
		printf("Usage: boxlite image prune\n\n"
			"Remove every image no box is built on, then the layers and root disks no\n"
			"remaining image uses and the downloads of pulls that died. Prints what\n"
			"it removed and the space freed. (-a and -f are accepted for docker's sake.)\n");
		return 0;
	}
	if (optind != argc)
		return cli_usage_error("image prune", "takes no arguments");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	rc = boxlite_image_prune(rt, &removed, &bytes, &err);
	boxlite_runtime_close(rt);
	if (rc < 0) {
		cli_report(err);
		return CLI_EXIT_RUNTIME;
	}
	for (size_t i = 0; removed && removed[i]; i++)
		printf("Deleted: %s\n", removed[i]);
	printf("Total reclaimed space: %.1fMB\n", (double)bytes / 1e6);
	boxlite_image_refs_free(removed);
	return 0;
}

int cmd_image(const struct cli_globals *g, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct cli_globals *g, int argc, char **argv);
	} subs[] = {
		{ "prune", image_prune }, { "ls", cmd_images }, { "list", cmd_images }, { "rm", cmd_rmi },
		{ "pull", cmd_pull },     { "load", cmd_load }, { "import", cmd_image_import },
	};

	if (argc >= 2)
		for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
			if (!strcmp(argv[1], subs[i].name))
				return subs[i].fn(g, argc - 1, argv + 1);
	if (argc < 2)
		return cli_usage_error("image", "needs a command");
	if (strcmp(argv[1], "--help") && strcmp(argv[1], "-h"))
		return cli_usage_error("image", "unknown command '%s'", argv[1]);
	printf("Usage: boxlite image COMMAND\n\n"
		"Commands:\n"
		"  prune   remove images no box uses, and what only they used\n"
		"  ls      list images (boxlite images)\n"
		"  rm      remove images (boxlite rmi)\n"
		"  pull    download an image (boxlite pull)\n"
		"  load    load an archive (boxlite load)\n"
		"  import  import an OCI image layout (boxlite import)\n");
	return 0;
}
