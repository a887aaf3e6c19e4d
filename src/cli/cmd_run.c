/* boxlite run: create a box, run its command with output streamed, stop it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "box_opts.h"
#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: boxlite run [OPTIONS] IMAGE [--] [COMMAND [ARG...]]\n"
		"       boxlite run [OPTIONS] --rootfs DIR [--] [COMMAND [ARG...]]\n\n"
		"Create a box and start its main command (COMMAND, else the image's), streaming\n"
		"its output. The exit status is the command's (128+N when killed by signal N;\n"
		"125 when boxlite itself failed, 126 when the command cannot be invoked, 127\n"
		"when it is not found). With -d, print the box's id and leave it running.\n"
		"Options end at IMAGE; a `--` after it is dropped (the command may then\n"
		"start with '-').\n\n"
		"Options:\n"
		"  -d, --detach       run in the background: outlives this process and terminal\n"
		"  -i, --interactive  stream this stdin to the command (EOF included)\n"
		"  -t, --tty          run it on a pseudo-terminal (raw mode here, resize\n"
		"                     forwarded; stdout and stderr merged)\n"
		BOX_OPTS_HELP
		"      --timings      print boot stage timings to stderr\n"
		"      --security MODE  jail (default) or development (NO jail: debugging only)\n"
		"\nWithout -t, SIGINT/SIGTERM/SIGHUP are forwarded to the command.\n");
}

static double ms_between(uint64_t a, uint64_t b)
{
	return (a && b) ? (double)((int64_t)(b - a)) / 1e6 : -1;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The library's own stages around the boot: when `run` began, when the
 * runtime was open, the box created, and (--rm) removed. */
struct run_marks {
	uint64_t begin, opened, created, done;
};

static void print_timings(const boxlite_timings *tp, const struct run_marks *m)
{
	const boxlite_timings t = *tp;

	fprintf(stderr, "timings (ms since spawn):\n");
	fprintf(stderr, "  run begins     %8.1f   (runtime open %.1f, box created %.1f)\n",
		-ms_between(m->begin, t.spawn), -ms_between(m->opened, t.spawn),
		-ms_between(m->created, t.spawn));
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
	fprintf(stderr, "  stopped%s  %8.1f\n", m->done ? " + rm" : "     ", ms_between(t.spawn, m->done));
}

int cmd_run(const struct cli_globals *g, int argc, char **argv)
{
	enum { OPT_TIMINGS = 256, OPT_SECURITY };
	static const struct option longopts[] = {
		BOX_OPTS_LONG,
		{ "detach", no_argument, NULL, 'd' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },
		{ "timings", no_argument, NULL, OPT_TIMINGS },
		{ "security", required_argument, NULL, OPT_SECURITY },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	boxlite_box_options *opts = NULL;
	boxlite_runtime *rt = NULL;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	struct cli_exec_flags fl = { 0 };
	struct box_opts bo;
	uint16_t rows = 0, cols = 0;
	int tty = 0, detach = 0, timings = getenv("BOXLITE_TIMINGS") != NULL, c, code = CLI_EXIT_RUNTIME;
	int security = BOXLITE_SECURITY_JAIL;
	boxlite_timings tm = { .struct_size = sizeof(tm) };
	struct run_marks marks = { .begin = wall_ns() };

	box_opts_init(&bo, "run");
	optind = 1;
	/* '+': stop at the image name; the rest is the box's command. */
	while ((c = cli_getopt("run", argc, argv, "+" BOX_OPTS_SHORT "dith", longopts)) != -1) {
		int r = box_opts_handle(&bo, c, optarg);
		if (r < 0)
			return CLI_EXIT_RUNTIME;
		if (r > 0)
			continue;
		switch (c) {
		case 'd': detach = 1; break;
		case 'i': fl.interactive = 1; break;
		case 't': tty = 1; break;
		case OPT_TIMINGS: timings = 1; break;
		case OPT_SECURITY:
			if (!strcmp(optarg, "development")) {
				security = BOXLITE_SECURITY_DEVELOPMENT;
			} else if (strcmp(optarg, "jail")) {
				return cli_usage_error("run", "--security must be 'jail' or 'development', got '%s'",
						       optarg);
			}
			break;
		case 'h': usage(stdout); return 0;
		default: return CLI_EXIT_RUNTIME;
		}
	}
	if ((c = cli_tty_check(tty, detach, &fl.interactive)))
		return c;
	/* The reference CLI: -d drops --rm, so the box outlives its command
	 * until `boxlite rm` (docs/cli.md). */
	if (detach)
		bo.rm = 0;
	if (bo.rootfs) /* no IMAGE: the operands are the command */
		opts = box_opts_build(&bo, NULL, argv + cli_skip_separator(argc, argv, optind), detach);
	else if (optind >= argc)
		return cli_usage_error("run", "needs an image (or --rootfs DIR)");
	else
		opts = box_opts_build(&bo, argv[optind], argv + cli_skip_separator(argc, argv, optind + 1), detach);
	if (!opts)
		return CLI_EXIT_RUNTIME;
	if (tty) {
		cli_term_size(&rows, &cols);
		boxlite_box_options_set_tty(opts, rows, cols);
	}
	if (security == BOXLITE_SECURITY_DEVELOPMENT) {
		fprintf(stderr, "boxlite: WARNING: --security development: this box runs WITHOUT the jail "
				"(no namespaces, seccomp, cgroups or privilege drop); for debugging only\n");
		boxlite_box_options_set_security(opts, BOXLITE_SECURITY_DEVELOPMENT);
	}
	if (cli_open_runtime(g, &rt) < 0)
		goto out;
	marks.opened = wall_ns();
	if (boxlite_box_create(rt, opts, &box, &err) < 0) {
		cli_report(err);
		goto out;
	}
	marks.created = wall_ns();
	if (detach) {
		if (boxlite_box_start(box, &err) < 0) {
			cli_report(err);
			goto out;
		}
		printf("%s\n", boxlite_box_id(box));
		code = 0;
		goto out;
	}
	/* Starts the box and streams its main command from the first byte
	 * (with -i, taking its stdin). */
	code = cli_attach_main(box, &fl, tty);
	boxlite_box_timings(box, &tm);
out:
	if (box) {
		if (!detach && bo.rm) {
			if (boxlite_box_remove(box, &err) < 0)
				cli_report(err);
		} else {
			if (!detach)
				boxlite_box_stop(box, 0, NULL);
			boxlite_box_free(box);
		}
		marks.done = wall_ns();
	}
	if (timings && tm.spawn)
		print_timings(&tm, &marks);
	boxlite_runtime_close(rt);
	boxlite_box_options_free(opts);
	return code;
}
