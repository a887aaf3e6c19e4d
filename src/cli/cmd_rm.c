/* boxlite rm [-f] BOX... | rm -a [-f]: delete boxes (a running one only
 * with -f); prints each removed box's id. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int active(enum boxlite_box_state s)
{
	return s == BOXLITE_BOX_STARTING || s == BOXLITE_BOX_RUNNING || s == BOXLITE_BOX_PAUSED ||
	       s == BOXLITE_BOX_STOPPING;
}

static int remove_one(boxlite_runtime *rt, const char *key, int force)
{
	boxlite_box_info info = { .struct_size = sizeof(info) };
	boxlite_error *err = NULL;
	boxlite_box *box = NULL;
	char id[128];

	if (cli_get_box(rt, key, &box) < 0)
		return -1;
	if (!force && boxlite_box_info_get(box, &info, NULL) == 0 && active(info.state)) {
		fprintf(stderr, "boxlite: box %s is %s: stop it first, or use rm -f\n", boxlite_box_id(box),
			boxlite_box_state_name(info.state));
		boxlite_box_free(box);
		return -1;
	}
	snprintf(id, sizeof(id), "%s", boxlite_box_id(box));
	if (boxlite_box_remove(box, &err) < 0) { /* frees box */
		cli_report(err);
		return -1;
	}
	printf("%s\n", id);
	return 0;
}

/* rm --all without --force: asks on a terminal, refuses elsewhere. */
static int confirm_all(size_t n)
{
	char answer[16] = "";

	if (!isatty(STDIN_FILENO)) {
		cli_usage_error("rm", "--all removes every box: add --force to do it without asking");
		return 0;
	}
	fprintf(stderr, "Remove all %zu boxes? [y/N] ", n);
	if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
		return 0;
	return 1;
}

int cmd_rm(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = { { "force", no_argument, NULL, 'f' },
						  { "all", no_argument, NULL, 'a' },
						  { "help", no_argument, NULL, 'h' },
						  { 0 } };
	boxlite_runtime *rt = NULL;
	boxlite_box_info *v = NULL;
	boxlite_error *err = NULL;
	size_t n = 0;
	int force = 0, all = 0, failed = 0, c;

	optind = 1;
	while ((c = cli_getopt("rm", argc, argv, "fah", longopts)) != -1) {
		switch (c) {
		case 'f': force = 1; break;
		case 'a': all = 1; break;
		case 'h':
			printf("Usage: boxlite rm [OPTIONS] BOX...\n"
			       "       boxlite rm --all [--force]\n\n"
			       "Remove boxes and their files; prints each removed box's id.\n\n"
			       "Options:\n"
			       "  -f, --force  remove running boxes too (stopped first)\n"
			       "  -a, --all    every box (asks first on a terminal unless --force)\n");
			return 0;
		default: return CLI_EXIT_RUNTIME;
		}
	}
	if (all && optind < argc)
		return cli_usage_error("rm", "--all and BOX cannot be used together");
	if (!all && optind >= argc)
		return cli_usage_error("rm", "give at least one box (id, id prefix or name), or --all");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (!all) {
		for (int i = optind; i < argc; i++)
			failed |= remove_one(rt, argv[i], force) < 0;
	} else if (boxlite_runtime_list_boxes(rt, &v, &n, &err) < 0) {
		cli_report(err);
		failed = 1;
	} else if (n && (force || confirm_all(n))) {
		for (size_t i = 0; i < n; i++)
			failed |= remove_one(rt, v[i].id, force) < 0;
	} else if (n) {
		failed = 1;
	}
	boxlite_box_info_list_free(v, n);
	boxlite_runtime_close(rt);
	return failed ? CLI_EXIT_RUNTIME : 0;
}
