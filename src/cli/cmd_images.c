/* boxlite images: list the images of the home. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "format.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite images [OPTIONS]\n\n"
		   "List the images stored in the home.\n\n"
		   "Options:\n"
		   "  -a, --all       every image (the store keeps no intermediate ones: the same)\n"
		   "      --format F  table (default), json or yaml\n"
		   "  -q, --quiet     print only the references\n");
}

static int print_structured(const boxlite_image_info *v, size_t n, enum cli_format fmt)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "ref", v[i].ref, "digest", v[i].digest,
						     "size", (json_int_t)v[i].size, "created", (json_int_t)v[i].created));
	if (!arr)
		return -1;
	if (fmt == CLI_FORMAT_YAML)
		cli_print_yaml(stdout, arr);
	else
		cli_print_json(stdout, arr);
	json_decref(arr);
	return 0;
}

int cmd_images(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *format = "table";
	enum cli_format fmt = CLI_FORMAT_TABLE;
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	boxlite_image_info *v = NULL;
	size_t n = 0;
	int c, quiet = 0, rc = 0;

	optind = 1;
	while ((c = cli_getopt("images", argc, argv, "+aqh", longopts)) != -1) {
		if (c == 'a')
			continue;
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
	if (cli_format_parse(format, &fmt) < 0)
		return cli_usage_error("images", "--format wants table, json or yaml, got '%s'", format);
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (boxlite_image_list(rt, &v, &n, &err) < 0) {
		cli_report(err);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].ref);
	} else if (fmt != CLI_FORMAT_TABLE) {
		rc = print_structured(v, n, fmt);
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
