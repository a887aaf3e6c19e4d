/* boxlite: command-line entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*fn)(const struct cli_globals *g, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", cmd_run, "Run a command in a new box" },
	{ "create", cmd_create, "Create a box (prints its id; boots on start)" },
	{ "start", cmd_start, "Start boxes" },
	{ "stop", cmd_stop, "Stop boxes" },
	{ "restart", cmd_restart, "Restart boxes" },
	{ "rm", cmd_rm, "Remove boxes" },
	{ "list", cmd_ls, "List boxes (also: ls, ps)" },
	{ "ls", cmd_ls, NULL },
	{ "ps", cmd_ls, NULL },
	{ "inspect", cmd_inspect, "Show boxes as JSON, YAML or through a Go template" },
	{ "port", cmd_port, "List a box's published ports" },
	{ "wait", cmd_wait, "Wait for boxes to stop; print their exit codes" },
	{ "logs", cmd_logs, "Show a box's main command output (or console)" },
	{ "stats", cmd_stats, "Show CPU and memory use of running boxes" },
	{ "pause", cmd_pause, "Freeze boxes" },
	{ "unpause", cmd_unpause, "Thaw paused boxes" },
	{ "exec", cmd_exec, "Run a command in a running box" },
	{ "cp", cmd_cp, "Copy files between the host and a box" },
	{ "info", cmd_info, "Show the runtime: accelerator and why, kernel, home" },
	{ "pull", cmd_pull, "Download an image from a registry" },
	{ "images", cmd_images, "List images" },
	{ "rmi", cmd_rmi, "Remove images" },
	{ "load", cmd_load, "Load images from a docker-archive or oci-archive file" },
	{ "import", cmd_import, "Import an image from an OCI image-layout directory" },
	{ "image", cmd_image, "Manage images (prune; ls, rm, pull, load, import)" },
	{ "login", cmd_login, "Store credentials for a registry" },
	{ "logout", cmd_logout, "Forget the credentials of a registry" },
	{ "version", cmd_version, "Show the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite [--home DIR] COMMAND [ARG...]\n\n"
		   "Run OCI images in micro-VMs.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary) /* NULL: an alias, named in its command's summary */
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nGlobal options:\n"
		   "  --home DIR   where images and boxes live (default $BOXLITE_HOME, else ~/.boxlite)\n"
		   "\nRun 'boxlite COMMAND --help' for a command's options.\n");
}

void cli_report(boxlite_error *err)
{
	fprintf(stderr, "boxlite: %s\n", err ? boxlite_error_message(err) : "unknown error");
	boxlite_error_free(err);
}

int cli_open_runtime(const struct cli_globals *g, boxlite_runtime **rt)
{
	boxlite_error *err = NULL;

	const char *lvl = getenv("BOXLITE_LOG");

	if (boxlite_runtime_open(g->home, rt, &err) < 0) {
		cli_report(err);
		return -1;
	}
	if (lvl && !strcmp(lvl, "debug") && *boxlite_runtime_recovery_report(*rt))
		fprintf(stderr, "boxlite: recovery:\n%s", boxlite_runtime_recovery_report(*rt));
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_globals g = { 0 };
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--home") && i + 1 < argc) {
			g.home = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--home=", 7)) {
			g.home = argv[i] + 7;
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version")) {
			return cmd_version(&g, 0, NULL);
		} else {
			fprintf(stderr, "boxlite: unknown option '%s' (see 'boxlite --help')\n", argv[i]);
			return CLI_EXIT_RUNTIME;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "boxlite: no command given (see 'boxlite --help')\n");
		return CLI_EXIT_RUNTIME;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(&g, argc - i, argv + i);
	fprintf(stderr, "boxlite: unknown command '%s' (see 'boxlite --help')\n", argv[i]);
	return CLI_EXIT_RUNTIME;
}
