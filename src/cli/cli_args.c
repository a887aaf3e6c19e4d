/* Option parsing shared by every command (cli.h): getopt_long whose errors
 * are one line that names what was wrong and points to the command's
 * --help, and the `--` that ends a command's options. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "boxlite %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'boxlite %s --help')\n", cmd);
	return CLI_EXIT_RUNTIME;
}

int cli_getopt(const char *cmd, int argc, char **argv, const char *optstring, const struct option *longopts)
{
	char spec[128];
	int plus = optstring[0] == '+', c;

	/* ':' first (after '+'): a missing value is told apart from an unknown
	 * option, and getopt prints nothing itself. */
	snprintf(spec, sizeof(spec), "%s:%s", plus ? "+" : "", optstring + plus);
	opterr = 0;
	c = getopt_long(argc, argv, spec, longopts, NULL);
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

int cli_skip_separator(int argc, char **argv, int i)
{
	return i < argc && !strcmp(argv[i], "--") ? i + 1 : i;
}
