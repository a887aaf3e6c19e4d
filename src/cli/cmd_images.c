/* boxlite images: list the images of the home. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite images [--format table|json] [-q]\n\n"
		   "List the images stored in the home.\n\n"
		   "Options:\n"
		   "      --format F  table (default) or json\n"
		   "  -q, --quiet     print only the references\n");
}

static int print_json(const boxlite_image_info *v, size_t n)
{
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "ref", v[i].ref, "digest", v[i].digest,
						     "size", (json_int_t)v[i].size, "created", (json_int_t)v[i].created));
	s = arr ? json_dumps(arr, JSON_INDENT(2)) : NULL;
	json_decref(arr);
	if (!s)
		return -1;
	printf("%s\n", s);
	free(s);
	return 0;
}

int cmd_images(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *format = "table";
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	boxlite_image_info *v = NULL;
	size_t n = 0;
	int c, quiet = 0, rc = 0;

	optind = 1;
	while ((c = cli_getopt("images", argc, argv, "+qh", longopts)) != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'q')
			quiet = 1;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind != argc)
		return cli_usage_error("images", "takes no arguments, got '%s'", argv[optind]);
	if (strcmp(format, "table") && strcmp(format, "json"))
		return cli_usage_error("images", "--format wants 'table' or 'json', got '%s'", format);
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (boxlite_image_list(rt, &v, &n, &err) < 0) {
		cli_report(err);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	if (!strcmp(format, "json")) {
		rc = print_json(v, n);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].ref);
	} else {
		printf("%-60s %-19s %10s  %s\n", "REFERENCE", "DIGEST", "SIZE", "CREATED");
		for (size_t i = 0; i < n; i++) {
			char when[32] = "?";
			time_t t = (time_t)v[i].created;
			struct tm tm;
			if (localtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
			printf("%-60s %-19.19s %8.1fMB  %s\n", v[i].ref, v[i].digest, (double)v[i].size / 1e6, when);
		}
	}
	boxlite_image_list_free(v, n);
	boxlite_runtime_close(rt);
	return rc < 0 ? CLI_EXIT_RUNTIME : 0;
}
