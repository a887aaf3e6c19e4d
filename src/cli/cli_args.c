/* Option parsing shared by every command (cli.h): getopt_long whose errors
 * are one line that names what was wrong and points to the command's
 * --help, and the `--` that ends a command's options. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { GOPT_HOME = 0x1000, GOPT_CONFIG, GOPT_REGISTRY, GOPT_DEBUG, GOPT_URL };

static const struct option global_opts[] = {
	{ "home", required_argument, NULL, GOPT_HOME },
	{ "config", required_argument, NULL, GOPT_CONFIG },
	{ "registry", required_argument, NULL, GOPT_REGISTRY },
	{ "debug", no_argument, NULL, GOPT_DEBUG },
	{ "url", required_argument, NULL, GOPT_URL },
};
#define N_GLOBAL (sizeof(global_opts) / sizeof(global_opts[0]))

static struct cli_globals *globals;

void cli_globals_bind(struct cli_globals *g)
{
	globals = g;
}

/* Stores global option code with value v; -1 after a usage error. */
static int set_global(const char *cmd, int code, const char *v)
{
	if (!globals)
		return 0;
	switch (code) {
	case GOPT_HOME: globals->home = v; break;
	case GOPT_CONFIG: globals->config = v; break;
	case GOPT_URL: globals->url = v; break;
	case GOPT_REGISTRY:
		if (!*v || globals->n_registries >= CLI_MAX_REGISTRIES) {
			cli_usage_error(cmd, *v ? "at most %d --registry options" : "--registry wants a host",
					CLI_MAX_REGISTRIES);
			return -1;
		}
		globals->registries[globals->n_registries++] = v;
		break;
	case GOPT_DEBUG:
		globals->debug = 1;
		/* Everything that logs reads it: this process, the shim. */
		setenv("BOXLITE_LOG", "debug", 1);
		break;
	}
	return 0;
}

int cli_global_option(const char *cmd, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strncmp(a, "--", 2))
		return 0;
	for (size_t k = 0; k < N_GLOBAL; k++) {
		size_t len = strlen(global_opts[k].name);
		const char *v = NULL;

		if (strncmp(a + 2, global_opts[k].name, len) || (a[2 + len] && a[2 + len] != '='))
			continue;
		if (global_opts[k].has_arg == no_argument) {
			if (a[2 + len] == '=') {
				cli_usage_error(cmd, "option '--%s' takes no value", global_opts[k].name);
				return -1;
			}
		} else if (a[2 + len] == '=') {
			v = a + 3 + len;
		} else if (*i + 1 < argc) {
			v = argv[++*i];
		} else {
			cli_usage_error(cmd, "option '--%s' needs a value", global_opts[k].name);
			return -1;
		}
		++*i;
		return set_global(cmd, global_opts[k].val, v) < 0 ? -1 : 1;
	}
	return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "boxlite%s%s: ", *cmd ? " " : "", cmd); /* "": a global option before the command */
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'boxlite %s%s--help')\n", cmd, *cmd ? " " : "");
	return CLI_EXIT_RUNTIME;
}

/* The command's long options followed by the global ones (rebuilt when
 * another command's table comes). */
static const struct option *with_globals(const struct option *longopts)
{
	static struct option merged[96];
	static const struct option *built_for;
	size_t n = 0;

	if (built_for == longopts)
		return merged;
	while (longopts[n].name && n < sizeof(merged) / sizeof(merged[0]) - N_GLOBAL - 1) {
		merged[n] = longopts[n];
		n++;
	}
	for (size_t k = 0; k < N_GLOBAL; k++)
		merged[n++] = global_opts[k];
	memset(&merged[n], 0, sizeof(merged[n]));
	built_for = longopts;
	return merged;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring, const struct option *longopts)
{
	char spec[128];
	int plus = optstring[0] == '+', c;

	/* ':' first (after '+'): a missing value is told apart from an unknown
	 * option, and getopt prints nothing itself. */
	snprintf(spec, sizeof(spec), "%s:%s", plus ? "+" : "", optstring + plus);
	opterr = 0;
	while ((c = getopt_long(argc, argv, spec, with_globals(longopts), NULL)) >= GOPT_HOME &&
	       c <= GOPT_DEBUG)
		if (set_global(cmd, c, optarg) < 0)
			return '?';
	if (c == '?' || c == ':') {
		const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
		char shown[64];

		/* A long option as written (without its value); a short one by
		 * its letter (it may sit in a cluster such as -xz). */
		if (!strncmp(arg, "--", 2) || optopt <= 0 || optopt > 127)
			snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(arg, "="), arg);
		else
			snprintf(shown, sizeof(shown), "-%c", optopt);
		if (c == ':')
			cli_usage_error(cmd, "option '%s' needs a value", shown);
		else
			cli_usage_error(cmd, "unknown option '%s'", shown);
		return '?';
	}
	return c;
}

int cli_tty_check(int tty, int detach, int *interactive)
{
	if (!tty || detach)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "boxlite: the input device is not a TTY.\n");
		return CLI_EXIT_RUNTIME;
	}
	*interactive = 1;
	return 0;
}

int cli_skip_separator(int argc, char **argv, int i)
{
	return i < argc && !strcmp(argv[i], "--") ? i + 1 : i;
}
