/* boxlite inspect: boxes as JSON (an array; env values masked), YAML, or one
 * line each from a Go template (-f '{{.State.Status}}'), as the reference
 * CLI's inspect. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"

static void usage(void)
{
	printf("Usage: boxlite inspect [OPTIONS] BOX...\n\n"
	       "Show boxes (id, id prefix or name): config (environment keys only), state,\n"
	       "pids, paths, times.\n\n"
	       "Options:\n"
	       "  -f, --format FMT  json (default), yaml, or a Go template, one line per box:\n"
	       "                    '{{.State.Status}}', '{{.State.ExitCode}}', '{{.Id}}',\n"
	       "                    '{{.Name}}', '{{json .State}}'\n"
	       "  -l, --latest      the most recently created box (instead of BOX)\n");
}

/* The id of the most recently created box, or NULL (reported). */
static char *latest_box(boxlite_runtime *rt)
{
	boxlite_box_info *v = NULL;
	boxlite_error *err = NULL;
	size_t n = 0, best = 0;
	char *id = NULL;

	if (boxlite_runtime_list_boxes(rt, &v, &n, &err) < 0) {
		cli_report(err);
		return NULL;
	}
	for (size_t i = 1; i < n; i++)
		if (v[i].created_at > v[best].created_at)
			best = i;
	if (n)
		id = strdup(v[best].id);
	else
		fprintf(stderr, "boxlite: no boxes to inspect\n");
	boxlite_box_info_list_free(v, n);
	return id;
}

/* Appends box key's inspect JSON to all; -1 (reported) when it fails. */
static int collect(boxlite_runtime *rt, const char *key, json_t *all)
{
	boxlite_error *err = NULL;
	boxlite_box *box = NULL;
	char *text = NULL;
	json_t *j;

	if (cli_get_box(rt, key, &box) < 0)
		return -1;
	if (boxlite_box_inspect(box, &text, &err) < 0) {
		cli_report(err);
		boxlite_box_free(box);
		return -1;
	}
	boxlite_box_free(box);
	j = json_loads(text, 0, NULL);
	free(text);
	if (!j || json_array_append_new(all, j) < 0) {
		fprintf(stderr, "boxlite: inspect: unreadable box record\n");
		return -1;
	}
	return 0;
}

int cmd_inspect(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = { { "format", required_argument, NULL, 'f' },
						  { "latest", no_argument, NULL, 'l' },
						  { "help", no_argument, NULL, 'h' },
						  { 0 } };
	const char *format = "json";
	enum cli_format fmt = CLI_FORMAT_JSON;
	boxlite_runtime *rt = NULL;
	json_t *all = NULL;
	char *latest = NULL;
	int c, latest_opt = 0, failed = 0, templ;

	optind = 1;
	while ((c = cli_getopt("inspect", argc, argv, "f:lh", longopts)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'l': latest_opt = 1; break;
		case 'h': usage(); return 0;
		default: return CLI_EXIT_RUNTIME;
		}
	}
	templ = cli_is_template(format);
	if (!templ && (cli_format_parse(format, &fmt) < 0 || fmt == CLI_FORMAT_TABLE))
		return cli_usage_error("inspect", "--format wants json, yaml or a Go template such as "
						  "'{{.State.Status}}', got '%s'", format);
	if (templ) { /* a bad template is a usage error: found before anything runs */
		char msg[256], *line = NULL;
		json_t *empty = json_object();
		int bad = cli_template_render(format, empty, &line, msg, sizeof(msg)) < 0;

		json_decref(empty);
		free(line);
		if (bad)
			return cli_usage_error("inspect", "%s", msg);
	}
	if (latest_opt && optind < argc)
		return cli_usage_error("inspect", "--latest and BOX cannot be used together");
	if (!latest_opt && optind >= argc)
		return cli_usage_error("inspect", "give at least one box (id, id prefix or name), or --latest");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	all = json_array();
	if (latest_opt) {
		failed = !(latest = latest_box(rt)) || collect(rt, latest, all) < 0;
	} else {
		for (int i = optind; i < argc; i++)
			failed |= collect(rt, argv[i], all) < 0;
	}
	boxlite_runtime_close(rt);
	if (templ) {
		size_t i;
		json_t *box;

		json_array_foreach(all, i, box) {
			char msg[256], *line = NULL;

			if (cli_template_render(format, box, &line, msg, sizeof(msg)) < 0) {
				cli_usage_error("inspect", "%s", msg);
				failed = 1;
				break;
			}
			printf("%s\n", line);
			free(line);
		}
	} else if (fmt == CLI_FORMAT_YAML) {
		cli_print_yaml(stdout, all);
	} else {
		cli_print_json(stdout, all);
	}
	json_decref(all);
	free(latest);
	return failed ? CLI_EXIT_RUNTIME : 0;
}
