/* boxlite cp: copy files between the host and a running box (docker cp). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: boxlite cp [OPTIONS] SRC BOX:DST\n"
		"       boxlite cp [OPTIONS] BOX:SRC DST\n\n"
		"Copy files or directories between the host and a box, as docker cp (a\n"
		"stopped box without a command of its own is started for it, then stopped):\n"
		"a directory is copied recursively; when DST is an existing directory SRC\n"
		"goes into it, else SRC becomes DST; SRC ending in /. copies a directory's\n"
		"contents. Modes, numeric ownership, mtimes and symlinks are preserved.\n"
		"SRC - reads a tar stream from stdin (DST must be a directory); DST -\n"
		"writes a tar stream to stdout. Paths in the box resolve inside its root.\n"
		"BOX is an id, id prefix or name; a host path containing ':' must start\n"
		"with / or ./ .\n\n"
		"Options:\n"
		"  -L, --follow-symlinks     copy what a symlink SRC points to, under its name\n"
		"      --no-overwrite        keep files the destination already has\n"
		"      --include-parent=BOOL copying out a directory: true (default) copies the\n"
		"                            directory itself, false only its contents\n");
}

/* "BOX:PATH" -> box key and path; host paths start with / or . or have no ':'. */
static int split_box(char *arg, char **box, char **path)
{
	char *colon;

	if (arg[0] == '/' || arg[0] == '.' || !(colon = strchr(arg, ':')) || colon == arg)
		return 0;
	*colon = '\0';
	*box = arg;
	*path = colon + 1;
	return 1;
}

int cmd_cp(const struct cli_globals *g, int argc, char **argv)
{
	char *sbox = NULL, *spath = NULL, *dbox = NULL, *dpath = NULL;
	static char root[] = "/";
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	enum { OPT_NO_OVERWRITE = 256, OPT_INCLUDE_PARENT };
	static const struct option longopts[] = { { "follow-symlinks", no_argument, NULL, 'L' },
						  { "no-overwrite", no_argument, NULL, OPT_NO_OVERWRITE },
						  { "include-parent", optional_argument, NULL, OPT_INCLUDE_PARENT },
						  { "help", no_argument, NULL, 'h' },
						  { 0 } };
	boxlite_copy_options co = { .struct_size = sizeof(co) };
	boxlite_box_info info = { .struct_size = sizeof(info) };
	char contents[4096];
	int in, out, rc, c, code = 1, include_parent = 1, was_up;

	optind = 1;
	while ((c = cli_getopt("cp", argc, argv, "+Lh", longopts)) != -1) {
		switch (c) {
		case 'L': co.follow_symlinks = 1; break;
		case OPT_NO_OVERWRITE: co.no_overwrite = 1; break;
		case OPT_INCLUDE_PARENT:
			if (!optarg || !strcmp(optarg, "true"))
				include_parent = 1;
			else if (!strcmp(optarg, "false"))
				include_parent = 0;
			else
				return cli_usage_error("cp", "--include-parent is true or false, got '%s'", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: return CLI_EXIT_RUNTIME;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("cp", "needs SRC and DST, one of them BOX:PATH");
	argv += optind - 1;
	in = split_box(argv[2], &dbox, &dpath);
	out = split_box(argv[1], &sbox, &spath);
	if (in == out)
		return cli_usage_error("cp", "needs exactly one side as BOX:PATH");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (boxlite_box_get(rt, in ? dbox : sbox, &box, &err) < 0) {
		cli_report(err);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	/* The reference: a box that was not up is started for the copy (the
	 * library does it when the box has no command of its own) and
	 * stopped again afterwards. */
	was_up = boxlite_box_info_get(box, &info, NULL) == 0 &&
		 (info.state == BOXLITE_BOX_RUNNING || info.state == BOXLITE_BOX_PAUSED ||
		  info.state == BOXLITE_BOX_STARTING);
	if (in) {
		if (!dpath[0])
			dpath = root;
		rc = !strcmp(argv[1], "-") ? boxlite_box_copy_in_tar(box, STDIN_FILENO, dpath, &err)
					   : boxlite_box_copy_in_ex(box, argv[1], dpath, &co, &err);
	} else {
		if (!spath[0])
			spath = root;
		/* --include-parent=false: the directory's contents (SRC/.) */
		if (!include_parent && snprintf(contents, sizeof(contents), "%s%s.", spath,
						spath[strlen(spath) - 1] == '/' ? "" : "/") < (int)sizeof(contents))
			spath = contents;
		rc = !strcmp(argv[2], "-") ? boxlite_box_copy_out_tar(box, spath, STDOUT_FILENO, &err)
					   : boxlite_box_copy_out_ex(box, spath, argv[2], &co, &err);
	}
	if (rc < 0)
		cli_report(err);
	else
		code = 0;
	if (!was_up && boxlite_box_info_get(box, &info, NULL) == 0 && info.state == BOXLITE_BOX_RUNNING)
		boxlite_box_stop(box, 0, NULL);
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	return code;
}
