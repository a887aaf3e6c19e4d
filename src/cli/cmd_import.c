/* boxlite import: an image from an OCI image-layout directory. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_import(const struct cli_globals *g, int argc, char **argv)
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
