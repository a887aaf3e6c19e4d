/* boxlite list / ls / ps: boxes (active ones; -a all) as a table, ids (-q),
 * JSON or YAML, with the reference CLI's columns and STATUS words. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "format.h"

static int active(enum boxlite_box_state s)
{
	return s == BOXLITE_BOX_STARTING || s == BOXLITE_BOX_RUNNING || s == BOXLITE_BOX_PAUSED ||
	       s == BOXLITE_BOX_STOPPING;
}

/* The reference's STATUS word: its state name, capitalized ("Running"). */
static void status_word(enum boxlite_box_state s, char *out, size_t cap)
{
	snprintf(out, cap, "%s", boxlite_box_state_name(s));
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
}

/* "2026-01-22 15:04:05 UTC", the reference's time format. */
static void created_utc(uint64_t ns, char *out, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* One box as JSON: the reference's keys (ID, Image, Status, CreatedAt,
 * Names), then ours (scripts of both kinds read them). */
static json_t *box_json(const boxlite_box_info *b)
{
	char st[32], created[64];

	status_word(b->state, st, sizeof(st));
	created_utc(b->created_at, created, sizeof(created));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:b, s:I}", "ID", b->id,
			 "Image", b->image, "Status", st, "CreatedAt", created, "Names", b->name, "id", b->id,
			 "name", b->name, "image", b->image, "state", boxlite_box_state_name(b->state),
			 "exit_code", (int)b->exit_code, "reason", b->reason, "shim_pid", (int)b->shim_pid,
			 "qemu_pid", (int)b->qemu_pid, "detached", b->detached,
			 "created_at_ns", (json_int_t)b->created_at);
}

int cmd_ls(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },     { "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	enum cli_format fmt = CLI_FORMAT_TABLE;
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	boxlite_box_info *v = NULL;
	json_t *rows = NULL;
	size_t n = 0;
	int all = 0, quiet = 0, c;

	optind = 1;
	while ((c = cli_getopt("list", argc, argv, "aqf:h", longopts)) != -1) {
		switch (c) {
		case 'a': all = 1; break;
		case 'q': quiet = 1; break;
		case 'f':
			if (cli_format_parse(optarg, &fmt) < 0)
				return cli_usage_error("list", "--format wants table, json or yaml, got '%s'", optarg);
			break;
		case 'h':
			printf("Usage: boxlite list [OPTIONS]   (also: ls, ps)\n\n"
			       "List active boxes: starting, running, paused or stopping.\n\n"
			       "Options:\n"
			       "  -a, --all          all boxes\n"
			       "  -q, --quiet        ids only, one per line\n"
			       "      --format FMT   table (default: ID IMAGE STATUS CREATED NAMES), json or yaml\n");
			return 0;
		default:
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind < argc)
		return cli_usage_error("list", "takes no arguments, got '%s'", argv[optind]);
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (boxlite_runtime_list_boxes(rt, &v, &n, &err) < 0) {
		cli_report(err);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	if (!quiet && fmt == CLI_FORMAT_TABLE)
		printf("%-12s  %-26s  %-10s  %-23s  %s\n", "ID", "IMAGE", "STATUS", "CREATED", "NAMES");
	rows = json_array();
	for (size_t i = 0; i < n; i++) {
		const boxlite_box_info *b = &v[i];
		char st[32], created[64];

		if (!all && !active(b->state))
			continue;
		if (quiet) {
			printf("%s\n", b->id);
		} else if (fmt == CLI_FORMAT_TABLE) {
			status_word(b->state, st, sizeof(st));
			created_utc(b->created_at, created, sizeof(created));
			printf("%-12s  %-26s  %-10s  %-23s  %s\n", b->id, b->image, st, created, b->name);
		} else {
			json_array_append_new(rows, box_json(b));
		}
	}
	if (!quiet && fmt == CLI_FORMAT_JSON)
		cli_print_json(stdout, rows);
	else if (!quiet && fmt == CLI_FORMAT_YAML)
		cli_print_yaml(stdout, rows);
	json_decref(rows);
	boxlite_box_info_list_free(v, n);
	boxlite_runtime_close(rt);
	return 0;
}
