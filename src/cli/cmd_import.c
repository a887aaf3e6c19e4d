/* boxlite import: a box from a .boxlite archive (FILE [--name N]), or an
 * image from an OCI image-layout directory (DIR[:TAG] NAME). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char box_usage[] =
	"Usage: boxlite import FILE.boxlite [--name NAME]\n"
	"       boxlite import DIR[:TAG] NAME   (an image: see boxlite image import --help)\n"
	"\n"
	"Make a new box from an archive `boxlite export` wrote. The archive is checked\n"
	"(checksums, format version, nothing but a manifest and a disk) before anything\n"
	"is kept. Prints the new box's id.\n"
	"\n"
	"Options:\n"
	"      --name NAME    the new box's name\n"
	"  -h, --help         Show this help\n";

static int import_box(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *name = NULL;
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	int c, rc = 0;

	while ((c = cli_getopt("import", argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'N':
			name = optarg;
			break;
		case 'h':
			fputs(box_usage, stdout);
			return 0;
		default:
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("import", "needs exactly one archive");
	if (cli_open_runtime(g, &rt) < 0) {
		rc = CLI_EXIT_RUNTIME;
	} else if (boxlite_runtime_import_box(rt, argv[optind], name, 0, &box, &err) < 0) {
		cli_report(err);
		rc = CLI_EXIT_RUNTIME;
	} else {
		puts(boxlite_box_id(box));
	}
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	return rc;
}

/* A box archive is a file (or comes with --name); an image layout a directory. */
static int is_box_import(int argc, char **argv)
{
	struct stat st;
	int positional = 0;
	const char *first = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") || !strncmp(argv[i], "--name=", 7))
			return 1;
		if (argv[i][0] != '-' && !positional++)
			first = argv[i];
	}
	return first && positional == 1 && stat(first, &st) == 0 && S_ISREG(st.st_mode);
}

int cmd_import(const struct cli_globals *g, int argc, char **argv)
{
	if (is_box_import(argc, argv))
		return import_box(g, argc, argv);
	return cmd_image_import(g, argc, argv);
}

int cmd_image_import(const struct cli_globals *g, int argc, char **argv)
{
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	char dir[PATH_MAX], ref[512];
	const char *tag = NULL, *colon;
	int rc, i = cli_simple_args("import", argc, argv,
				    "Usage: boxlite import DIR[:TAG] NAME\n\n"
				    "Import the image tagged TAG (default: latest) of the OCI image layout in\n"
				    "DIR (as written by umoci, skopeo copy oci:DIR:TAG, buildah push oci:...)\n"
				    "under NAME. Layers are verified and shared with the images already here.\n");

	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	if (argc - i != 2)
		return cli_usage_error("import", "needs DIR[:TAG] and NAME");
	argv += i - 1;
	/* DIR:TAG, unless what follows the last ':' is a path */
	colon = strrchr(argv[1], ':');
	if (colon && colon != argv[1] && !strchr(colon, '/')) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(colon - argv[1]), argv[1]);
		tag = colon + 1;
	} else {
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	}
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	rc = boxlite_image_import(rt, dir, tag, argv[2], ref, sizeof(ref), &err);
	boxlite_runtime_close(rt);
	if (rc < 0) {
		cli_report(err);
		return CLI_EXIT_RUNTIME;
	}
	printf("Imported image: %s\n", ref);
	return 0;
}
