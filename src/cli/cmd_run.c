/* boxlite run: create a box, run its command with output streamed, stop it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: boxlite run [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
		"Run a command in a new box and print its output. The exit status is the\n"
		"command's (128+N when killed by signal N; 125 when boxlite itself failed,\n"
		"126 when the command cannot be invoked, 127 when it is not found).\n\n"
		"Options:\n"
		"  --rm               remove the box when the command ends\n"
		"  -e, --env K=V      set an environment variable (repeatable); -e K takes\n"
		"                     K's value from this environment (keeps secrets off\n"
		"                     the command line)\n"
		"  -w, --workdir DIR  working directory inside the box\n"
		"      --cpus N       virtual CPUs (default 1)\n"
		"      --memory MIB   guest memory in MiB (default 512)\n"
		"      --network MODE user (default) or none\n"
		"      --timings      print boot stage timings to stderr\n");
}

static void write_output(void *ud, enum boxlite_stream s, const void *data, size_t n)
{
	FILE *f = s == BOXLITE_STDERR ? stderr : stdout;
	(void)ud;
	fwrite(data, 1, n, f);
	fflush(f);
}

static double ms_between(uint64_t a, uint64_t b)
{
	return (a && b) ? (double)((int64_t)(b - a)) / 1e6 : -1;
}

static void print_timings(const boxlite_box *box)
{
	boxlite_timings t = { .struct_size = sizeof(t) };

	boxlite_box_timings(box, &t);
	fprintf(stderr, "timings (ms since spawn):\n");
	fprintf(stderr, "  shim start     %8.1f\n", ms_between(t.spawn, t.shim_start));
	fprintf(stderr, "  qemu start     %8.1f\n", ms_between(t.spawn, t.qemu_start));
	fprintf(stderr, "  agent hello    %8.1f   (guest uptime at agent start %.1f, at hello %.1f)\n",
		ms_between(t.spawn, t.agent_hello), (double)t.guest_agent_start / 1e6,
		(double)t.guest_ready / 1e6);
	fprintf(stderr, "  ready          %8.1f   (guest uptime at root mounted %.1f)\n",
		ms_between(t.spawn, t.ready), (double)t.guest_setup_done / 1e6);
	fprintf(stderr, "  exec start     %8.1f\n", ms_between(t.spawn, t.exec_start));
	fprintf(stderr, "  exec running   %8.1f\n", ms_between(t.spawn, t.exec_started));
	fprintf(stderr, "  exit           %8.1f\n", ms_between(t.spawn, t.exec_exit));
}

static int exit_code_for_error(boxlite_error *err)
{
	if (boxlite_error_origin(err) != BOXLITE_ORIGIN_EXEC)
		return CLI_EXIT_RUNTIME;
	return boxlite_error_code(err) == -ENOENT ? CLI_EXIT_NOT_FOUND : CLI_EXIT_CANNOT_INVOKE;
}

/* -e K=V, or -e K meaning K's value here (unset: skipped, as docker does). */
static int cli_add_env(boxlite_box_options *opts, const char *arg)
{
	const char *val;
	char *kv;
	int rc;

	if (strchr(arg, '='))
		rc = boxlite_box_options_add_env(opts, arg);
	else if (!*arg)
		rc = -EINVAL;
	else if (!(val = getenv(arg)))
		return 0;
	else if (asprintf(&kv, "%s=%s", arg, val) < 0)
		rc = -ENOMEM;
	else {
		rc = boxlite_box_options_add_env(opts, kv);
		free(kv);
	}
	if (rc < 0)
		fprintf(stderr, "boxlite: -e wants KEY=VALUE or KEY, got '%s'\n", arg);
	return rc;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int cmd_run(const struct cli_globals *g, int argc, char **argv)
{
	enum { OPT_RM = 256, OPT_CPUS, OPT_MEMORY, OPT_NETWORK, OPT_TIMINGS };
	static const struct option longopts[] = {
		{ "rm", no_argument, NULL, OPT_RM },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "timings", no_argument, NULL, OPT_TIMINGS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	boxlite_box_options *opts = NULL;
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	boxlite_exit_status st;
	int rm = 0, timings = getenv("BOXLITE_TIMINGS") != NULL, c, code = CLI_EXIT_RUNTIME;
	const char *envs[256];
	size_t n_env = 0;
	const char *workdir = NULL, *network = "user";
	uint32_t cpus = 1, memory = 512;

	optind = 1;
	/* '+': stop at the image name; the rest is the box's command. */
	while ((c = getopt_long(argc, argv, "+e:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_RM: rm = 1; break;
		case 'e':
			if (n_env >= sizeof(envs) / sizeof(envs[0])) {
				fprintf(stderr, "boxlite: too many -e options\n");
				return CLI_EXIT_RUNTIME;
			}
			envs[n_env++] = optarg;
			break;
		case 'w': workdir = optarg; break;
		case OPT_CPUS:
			if (parse_u32(optarg, &cpus) < 0) {
				fprintf(stderr, "boxlite: --cpus wants a number, got '%s'\n", optarg);
				return CLI_EXIT_RUNTIME;
			}
			break;
		case OPT_MEMORY:
			if (parse_u32(optarg, &memory) < 0) {
				fprintf(stderr, "boxlite: --memory wants MiB as a number, got '%s'\n", optarg);
				return CLI_EXIT_RUNTIME;
			}
			break;
		case OPT_NETWORK: network = optarg; break;
		case OPT_TIMINGS: timings = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CLI_EXIT_RUNTIME;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "boxlite: run needs an image (see 'boxlite run --help')\n");
		return CLI_EXIT_RUNTIME;
	}
	if (strcmp(network, "user") && strcmp(network, "none")) {
		fprintf(stderr, "boxlite: --network must be 'user' or 'none', got '%s'\n", network);
		return CLI_EXIT_RUNTIME;
	}

	opts = boxlite_box_options_new(argv[optind]);
	if (!opts) {
		fprintf(stderr, "boxlite: out of memory\n");
		return CLI_EXIT_RUNTIME;
	}
	if (boxlite_box_options_set_cpus(opts, cpus) < 0) {
		fprintf(stderr, "boxlite: --cpus must be between 1 and 64\n");
		goto out;
	}
	if (boxlite_box_options_set_memory_mib(opts, memory) < 0) {
		fprintf(stderr, "boxlite: --memory must be between 64 and 65536 MiB\n");
		goto out;
	}
	for (size_t i = 0; i < n_env; i++) {
		if (cli_add_env(opts, envs[i]) < 0)
			goto out;
	}
	if (workdir && boxlite_box_options_set_workdir(opts, workdir) < 0) {
		fprintf(stderr, "boxlite: --workdir must be an absolute path, got '%s'\n", workdir);
		goto out;
	}
	boxlite_box_options_set_network(opts, !strcmp(network, "user"));
	if (optind + 1 < argc)
		boxlite_box_options_set_command(opts, (const char *const *)argv + optind + 1);

	if (cli_open_runtime(g, &rt) < 0)
		goto out;
	if (boxlite_box_create(rt, opts, &box, &err) < 0 || boxlite_box_start(box, &err) < 0) {
		cli_report(err);
		goto out;
	}
	boxlite_exec_options eo = { .struct_size = sizeof(eo) };
	if (boxlite_box_exec(box, &eo, write_output, NULL, &st, &err) < 0) {
		code = exit_code_for_error(err);
		cli_report(err);
	} else {
		code = st.signal ? 128 + st.signal : st.exit_code;
	}
	if (timings)
		print_timings(box);
out:
	if (box) {
		if (rm) {
			if (boxlite_box_remove(box, &err) < 0)
				cli_report(err);
		} else {
			boxlite_box_stop(box, 0, NULL);
			boxlite_box_free(box);
		}
	}
	boxlite_runtime_close(rt);
	boxlite_box_options_free(opts);
	return code;
}
