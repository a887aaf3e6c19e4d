/* boxlite login / logout: credentials for a registry, kept in <home>/auth.json. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: boxlite login -u USER --password-stdin REGISTRY\n\n"
		   "Check the credentials against REGISTRY (host[:port]) and store them in\n"
		   "<home>/auth.json (mode 0600) for later pulls. The password is read from\n"
		   "stdin (one line), so it never appears on a command line.\n");
}

int cmd_login(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password-stdin", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *user = NULL;
	char *pass = NULL;
	size_t cap = 0;
	ssize_t n;
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	int c, rc;

	optind = 1;
	while ((c = cli_getopt("login", argc, argv, "+u:h", longopts)) != -1) {
		if (c == 'u')
			user = optarg;
		else if (c == 's')
			; /* the only way to pass a password */
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			return CLI_EXIT_RUNTIME;
		}
	}
	if (!user)
		return cli_usage_error("login", "needs -u USER");
	if (optind != argc - 1)
		return cli_usage_error("login", "needs exactly one registry");
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "Password: ");
	n = getline(&pass, &cap, stdin);
	if (n <= 0) {
		fprintf(stderr, "boxlite: no password on stdin\n");
		free(pass);
		return CLI_EXIT_RUNTIME;
	}
	pass[strcspn(pass, "\r\n")] = '\0';
	if (cli_open_runtime(g, &rt) < 0) {
		free(pass);
		return CLI_EXIT_RUNTIME;
	}
	rc = boxlite_registry_login(rt, argv[optind], user, pass, &err);
	explicit_bzero(pass, cap);
	free(pass);
	boxlite_runtime_close(rt);
	if (rc < 0) {
		cli_report(err);
		return CLI_EXIT_RUNTIME;
	}
	printf("Login Succeeded\n");
	return 0;
}

int cmd_logout(const struct cli_globals *g, int argc, char **argv)
{
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	int rc, i = cli_simple_args("logout", argc, argv,
				    "Usage: boxlite logout REGISTRY\n\nForget the stored credentials of REGISTRY.\n");

	if (i < 0)
		return i == -2 ? 0 : CLI_EXIT_RUNTIME;
	if (argc - i != 1)
		return cli_usage_error("logout", "needs exactly one registry");
	argv += i - 1;
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	rc = boxlite_registry_logout(rt, argv[1], &err);
	boxlite_runtime_close(rt);
	if (rc < 0) {
		cli_report(err);
		return CLI_EXIT_RUNTIME;
	}
	printf("Removed login credentials for %s\n", argv[1]);
	return 0;
}
