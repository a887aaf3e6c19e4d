/* boxlite exec: run a command in a running box, output streamed; the exit
 * status is the command's (as for run). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite exec [OPTIONS] BOX [--] COMMAND [ARG...]\n\n"
		   "Run a command in a running box (id, id prefix or name). Options end at\n"
		   "BOX; a `--` after it is dropped (the command may then start with '-').\n\n"
		   "Options:\n"
		   "  -e, --env K=V      set an environment variable (repeatable)\n"
		   "  -w, --workdir DIR  working directory inside the box\n"
		   "  -i, --interactive  stream this stdin to the command (EOF included)\n"
		   "  -t, --tty          run on a pseudo-terminal (raw mode here, resize\n"
		   "                     forwarded; stdout and stderr merged)\n"
		   "  -d, --detach       return once the command runs; print nothing\n"
		   "  -u, --user USER    name, uid, name:group or uid:gid (default: the box's)\n"
		   "      --timeout SEC  SIGTERM after SEC seconds, SIGKILL 2 s later\n"
		   "\nWithout -t, SIGINT/SIGTERM/SIGHUP are forwarded to the command.\n");
}

int cmd_exec(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "env", required_argument, NULL, 'e' }, { "workdir", required_argument, NULL, 'w' },
		{ "interactive", no_argument, NULL, 'i' }, { "tty", no_argument, NULL, 't' },
		{ "detach", no_argument, NULL, 'd' },    { "user", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },      { 0 } };
	struct cli_exec_flags fl = { 0 };
	const char *user = NULL;
	int tty = 0;
	unsigned long timeout_s = 0;
	char *end;
	const char *envs[257];
	size_t n_env = 0;
	const char *workdir = NULL;
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	int c, cmd, code = CLI_EXIT_RUNTIME;

	optind = 1;
	while ((c = cli_getopt("exec", argc, argv, "+e:w:itdu:h", longopts)) != -1) {
		switch (c) {
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=' || n_env >= 256) {
				return cli_usage_error("exec", "-e wants KEY=VALUE (at most 256), got '%s'", optarg);
			}
			envs[n_env++] = optarg;
			break;
		case 'w': workdir = optarg; break;
		case 'i': fl.interactive = 1; break;
		case 't': tty = 1; break;
		case 'd': fl.detach = 1; break;
		case 'u': user = optarg; break;
		case 'T':
			timeout_s = strtoul(optarg, &end, 10);
			if (!*optarg || *end || timeout_s > 4000000) {
				return cli_usage_error("exec", "--timeout wants seconds, got '%s'", optarg);
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return CLI_EXIT_RUNTIME;
		}
	}
	envs[n_env] = NULL;
	if (optind >= argc)
		return cli_usage_error("exec", "needs a box and a command");
	if ((c = cli_tty_check(tty, fl.detach, &fl.interactive)))
		return c;
	cmd = cli_skip_separator(argc, argv, optind + 1);
	if (cmd >= argc)
		return cli_usage_error("exec", "needs a command after the box");
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (cli_get_box(rt, argv[optind], &box) == 0) {
		boxlite_exec_options eo = { .struct_size = sizeof(eo),
					    .argv = (const char *const *)argv + cmd,
					    .env = n_env ? envs : NULL,
					    .workdir = workdir,
					    .user = user,
					    .timeout_ms = (uint32_t)(timeout_s * 1000),
					    .tty = (uint32_t)tty };
		code = cli_exec_attached(box, &eo, &fl);
		boxlite_box_free(box);
	}
	boxlite_runtime_close(rt);
	return code;
}
