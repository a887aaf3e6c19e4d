/* boxlite ls / ps: list boxes (running ones; -a all), as a table, ids (-q)
 * or JSON (--format json). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int active(enum boxlite_box_state s)
{
	return s == BOXLITE_BOX_STARTING || s == BOXLITE_BOX_RUNNING || s == BOXLITE_BOX_PAUSED ||
	       s == BOXLITE_BOX_STOPPING;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void ago(uint64_t ns, char *out, size_t cap)
{
	struct timespec now;
	double s;

	clock_gettime(CLOCK_REALTIME, &now);
	s = ((double)now.tv_sec * 1e9 + now.tv_nsec - (double)ns) / 1e9;
	if (s < 120)
		snprintf(out, cap, "%d seconds ago", (int)s);
	else if (s < 7200)
		snprintf(out, cap, "%d minutes ago", (int)(s / 60));
	else if (s < 172800)
		snprintf(out, cap, "%d hours ago", (int)(s / 3600));
	else
		snprintf(out, cap, "%d days ago", (int)(s / 86400));
}

static void status(const boxlite_box_info *b, char *out, size_t cap)
{
	if (b->state == BOXLITE_BOX_STOPPED && b->exit_code >= 0)
		snprintf(out, cap, "stopped (%d)", (int)b->exit_code);
	else
		snprintf(out, cap, "%s", boxlite_box_state_name(b->state));
}

int cmd_ls(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },     { "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	boxlite_box_info *v = NULL;
	size_t n = 0, shown = 0;
	int all = 0, quiet = 0, json = 0, c;

	optind = 1;
	while ((c = cli_getopt("ls", argc, argv, "aqf:h", longopts)) != -1) {
		switch (c) {
		case 'a': all = 1; break;
		case 'q': quiet = 1; break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				return cli_usage_error("ls", "--format wants 'table' or 'json', got '%s'", optarg);
			}
			json = !strcmp(optarg, "json");
			break;
		case 'h':
			printf("Usage: boxlite ls [-a] [-q] [--format table|json]\n\n"
			       "List running boxes (-a: all boxes; -q: ids only).\n");
			return 0;
		default:
			return CLI_EXIT_RUNTIME;
		}
	}
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (boxlite_runtime_list_boxes(rt, &v, &n, &err) < 0) {
		cli_report(err);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	if (json)
		printf("[");
	else if (!quiet)
		printf("%-12s  %-16s  %-26s  %-14s  %s\n", "BOX ID", "NAME", "IMAGE", "STATUS", "CREATED");
	for (size_t i = 0; i < n; i++) {
		const boxlite_box_info *b = &v[i];
		char st[64], created[64];

		if (!all && !active(b->state))
			continue;
		if (quiet) {
			printf("%s\n", b->id);
			continue;
		}
		status(b, st, sizeof(st));
		ago(b->created_at, created, sizeof(created));
		if (!json) {
			printf("%-12s  %-16s  %-26s  %-14s  %s\n", b->id, b->name[0] ? b->name : "-", b->image, st,
			       created);
			continue;
		}
		printf("%s\n  {\"id\": ", shown++ ? "," : "");
		json_str(b->id);
		printf(", \"name\": ");
		json_str(b->name);
		printf(", \"image\": ");
		json_str(b->image);
		printf(", \"state\": \"%s\", \"exit_code\": %d, \"reason\": ", boxlite_box_state_name(b->state),
		       (int)b->exit_code);
		json_str(b->reason);
		printf(", \"shim_pid\": %d, \"qemu_pid\": %d, \"detached\": %s, \"created_at_ns\": %llu}",
		       (int)b->shim_pid, (int)b->qemu_pid, b->detached ? "true" : "false",
		       (unsigned long long)b->created_at);
	}
	if (json && !quiet)
		printf("%s]\n", shown ? "\n" : "");
	boxlite_box_info_list_free(v, n);
	boxlite_runtime_close(rt);
	return 0;
}
