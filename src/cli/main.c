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
	{ "clone", cmd_clone, "Make thin copies of a box" },
	{ "export", cmd_export, "Write a box to a .boxlite archive" },
	{ "checkpoint", cmd_checkpoint, "Save running boxes to disk and stop them (start resumes)" },
	{ "snapshot", cmd_snapshot, "Disk snapshots of a box (create, ls, restore, rm)" },
	{ "cp", cmd_cp, "Copy files between the host and a box" },
	{ "info", cmd_info, "Show the runtime: accelerator and why, kernel, home" },
	{ "pull", cmd_pull, "Download an image from a registry" },
	{ "images", cmd_images, "List images" },
	{ "rmi", cmd_rmi, "Remove images" },
	{ "load", cmd_load, "Load images from a docker-archive or oci-archive file" },
	{ "import", cmd_import, "Make a box from a .boxlite archive (or an image from an OCI layout)" },
	{ "image", cmd_image, "Manage images (prune; ls, rm, pull, load, import)" },
	{ "login", cmd_login, "Store credentials for a registry" },
	{ "logout", cmd_logout, "Forget the credentials of a registry" },
	{ "serve", cmd_serve, "Serve the REST API for remote clients" },
	{ "auth", cmd_auth, "Log in to a remote boxlite serve (login, logout, status, whoami)" },
	{ "version", cmd_version, "Show the version" },
	{ "completion", cmd_completion, NULL }, /* hidden, as in the reference CLI */
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite [GLOBAL OPTIONS] COMMAND [ARG...]\n\n"
		   "Run OCI images in micro-VMs.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary) /* NULL: an alias named in its command's summary, or hidden */
			fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nGlobal options (before or after the command):\n"
		   "  --home DIR        where images and boxes live (default $BOXLITE_HOME, else the\n"
		   "                    config's home_dir, else ~/.boxlite)\n"
		   "  --config FILE     JSON: {\"home_dir\": ..., \"image_registries\": [{\"host\", \"transport\",\n"
		   "                    \"search\", \"skip_verify\", \"auth\"}]} (docs/cli.md)\n"
		   "  --registry HOST   try unqualified image names on HOST first (repeatable)\n"
		   "  --debug           debug logging (also BOXLITE_LOG=debug, or RUST_LOG)\n"
		   "  --url URL         use the boxlite serve at URL instead of this machine (also\n"
		   "                    $BOXLITE_REST_URL; a login with 'boxlite auth login' does too)\n"
		   "\nRun 'boxlite COMMAND --help' for a command's options.\n");
}

void cli_report(boxlite_error *err)
{
	fprintf(stderr, "boxlite: %s\n", err ? boxlite_error_message(err) : "unknown error");
	boxlite_error_free(err);
}

/* RUST_LOG, the reference's log variable, when BOXLITE_LOG is not set. */
static void log_level_from_env(void)
{
	static const char *const levels[] = { "error", "warn", "info", "debug", "trace" };
	const char *r = getenv("RUST_LOG");

	if (getenv("BOXLITE_LOG") || !r)
		return;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(r, levels[i]) || (!strncmp(r, "boxlite=", 8) && !strcmp(r + 8, levels[i])))
			setenv("BOXLITE_LOG", levels[i], 1);
}

int main(int argc, char **argv)
{
	static struct cli_globals g;
	int i = 1, gl;

	cli_globals_bind(&g);
	log_level_from_env();
	while (i < argc && argv[i][0] == '-') {
		if ((gl = cli_global_option("", argc, argv, &i)) < 0)
			return CLI_EXIT_RUNTIME;
		if (gl)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version")) {
			return cmd_version(&g, 1, argv + i);
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
