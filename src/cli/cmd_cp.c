/* boxlite cp: copy files between the host and a running box (docker cp). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: boxlite cp SRC BOX:DST\n"
		"       boxlite cp BOX:SRC DST\n\n"
		"Copy files or directories between the host and a running box, as docker cp:\n"
		"a directory is copied recursively; when DST is an existing directory SRC\n"
		"goes into it, else SRC becomes DST; SRC ending in /. copies a directory's\n"
		"contents. Modes, numeric ownership, mtimes and symlinks are preserved.\n"
		"SRC - reads a tar stream from stdin (DST must be a directory); DST -\n"
		"writes a tar stream to stdout. Paths in the box resolve inside its root.\n"
		"BOX is an id, id prefix or name; a host path containing ':' must start\n"
		"with / or ./ .\n");
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
	int in, out, rc, code = 1;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("cp", "unknown option '%s'", argv[i]);
	if (argc != 3)
		return cli_usage_error("cp", "needs SRC and DST, one of them BOX:PATH");
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
	if (in) {
		if (!dpath[0])
			dpath = root;
		rc = !strcmp(argv[1], "-") ? boxlite_box_copy_in_tar(box, STDIN_FILENO, dpath, &err)
					   : boxlite_box_copy_in(box, argv[1], dpath, &err);
	} else {
		if (!spath[0])
			spath = root;
		rc = !strcmp(argv[2], "-") ? boxlite_box_copy_out_tar(box, spath, STDOUT_FILENO, &err)
					   : boxlite_box_copy_out(box, spath, argv[2], &err);
	}
	if (rc < 0)
		cli_report(err);
	else
		code = 0;
	boxlite_box_free(box);
	boxlite_runtime_close(rt);
	return code;
}
