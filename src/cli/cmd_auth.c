/* boxlite auth login|logout|status|whoami: the CLI's login to a remote
 * `boxlite serve` (docs/remote.md), as the reference CLI has it. The key is
 * read from stdin or a hidden prompt, never from argv, and never printed. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"Usage: boxlite auth COMMAND\n"
	"\n"
	"Log in to a remote boxlite serve; while logged in, every command uses it.\n"
	"\n"
	"Commands:\n"
	"  login [--url URL] [--api-key-stdin]   check the API key with the server, then store it\n"
	"                                        (in ~/.boxlite/credentials.toml, mode 0600)\n"
	"  logout [-y|--yes]                     forget the stored login\n"
	"  status                                where the URL and the key come from (never the key)\n"
	"  whoami                                who the server takes you for\n"
	"\n"
	"BOXLITE_API_KEY and BOXLITE_REST_URL override the stored login; --url its URL.\n";

/* One line from stdin, without its newline; echo off when it is a terminal. */
static char *read_key(int from_stdin)
{
	struct termios t, quiet;
	int tty = !from_stdin && isatty(0);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!from_stdin && !tty) {
		fprintf(stderr, "boxlite auth login: stdin is not a terminal: pass --api-key-stdin and pipe the key in\n");
		return NULL;
	}
	if (tty) {
		fputs("API key: ", stderr);
		tcgetattr(0, &t);
		quiet = t;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	n = getline(&line, &cap, stdin);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &t);
		fputc('\n', stderr);
	}
	while (n > 0 && strchr("\r\n \t", line[n - 1]))
		line[--n] = 0;
	if (n <= 0) {
		fprintf(stderr, "boxlite auth login: no API key given\n");
		free(line);
		return NULL;
	}
	return line;
}

static int login(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "api-key-stdin", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *url = g->url, *env_url = getenv("BOXLITE_REST_URL");
	struct cred_profile p = { 0 };
	boxlite_runtime *rt = NULL;
	boxlite_error *err = NULL;
	char *key, *me = NULL;
	int c, from_stdin = 0, rc;

	while ((c = cli_getopt("auth login", argc, argv, "h", opts)) != -1) {
		if (c == 'u')
			url = optarg;
		else if (c == 's')
			from_stdin = 1;
		else if (c == 'h')
			return fputs(usage, stdout), 0;
		else
			return CLI_EXIT_RUNTIME;
	}
	if (optind < argc)
		return cli_usage_error("auth login", "unexpected argument '%s' (the key is read from stdin)", argv[optind]);
	if (!url)
		url = env_url && *env_url ? env_url : CLI_DEFAULT_REST_URL;
	if (!(key = read_key(from_stdin)))
		return CLI_EXIT_RUNTIME;
	/* Checked before it is kept: the server answers GET /v1/me. */
	rc = boxlite_runtime_open_remote(url, key, NULL, &rt, &err);
	if (rc == 0)
		rc = boxlite_runtime_whoami(rt, &me, &err);
	if (rc < 0) {
		fprintf(stderr, "boxlite auth login: %s\n", boxlite_error_message(err));
		boxlite_error_free(err);
		boxlite_runtime_close(rt);
		explicit_bzero(key, strlen(key));
		free(key);
		return CLI_EXIT_RUNTIME;
	}
	p.url = (char *)url;
	p.api_key = key;
	{
		json_t *j = json_loads(me, 0, NULL);
		const char *prefix = json_string_value(json_object_get(j, "path_prefix"));
		const char *who = json_string_value(json_object_get(j, "email"));
		if (!who)
			who = json_string_value(json_object_get(j, "sub"));
		p.path_prefix = prefix ? (char *)prefix : NULL;
		rc = cred_save(CRED_DEFAULT_PROFILE, &p);
		if (rc == 0) {
			char *path = cred_path();
			printf("Logged in to %s as %s%s%s%s\n", url, who ? who : "(unnamed)", prefix ? " (path prefix: " : "",
			       prefix ? prefix : "", prefix ? ")" : "");
			printf("Credentials stored in %s\n", path ? path : "?");
			free(path);
		}
		json_decref(j);
	}
	explicit_bzero(key, strlen(key));
	free(key);
	free(me);
	boxlite_runtime_close(rt);
	return rc < 0 ? CLI_EXIT_RUNTIME : 0;
}

static int logout(int argc, char **argv)
{
	static const struct option opts[] = { { "yes", no_argument, NULL, 'y' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	int c, yes = 0, rc;

	while ((c = cli_getopt("auth logout", argc, argv, "yh", opts)) != -1) {
		if (c == 'y')
			yes = 1;
		else if (c == 'h')
			return fputs(usage, stdout), 0;
		else
			return CLI_EXIT_RUNTIME;
	}
	if (!yes) {
		char answer[16] = "";
		if (!isatty(0))
			return cli_usage_error("auth logout", "stdin is not a terminal: pass -y to confirm");
		fputs("Forget the stored login? [y/N] ", stderr);
		if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
			fputs("Cancelled\n", stderr);
			return 0;
		}
	}
	rc = cred_delete(CRED_DEFAULT_PROFILE);
	if (rc < 0)
		return CLI_EXIT_RUNTIME;
	puts(rc ? "Logged out" : "Not logged in");
	return 0;
}

static int status(const struct cli_globals *g)
{
	struct cli_remote r;
	int rc = cli_remote_target(g, &r);
	char *path = cred_path();

	if (rc < 0) {
		free(path);
		return CLI_EXIT_RUNTIME;
	}
	if (!r.key && !r.profile.url) {
		puts(rc ? "Not logged in (no API key; the server must not need one)." : "Not logged in.");
		if (rc)
			printf("Server:          %s\n", r.url);
	} else {
		printf("Logged in to:    %s\n", r.url);
		if (r.key)
			printf("Credential:      API key (from %s)\n",
			       r.key_from_env ? "BOXLITE_API_KEY env var" : path ? path : "credentials file");
	}
	cred_profile_free(&r.profile);
	free(path);
	return 0;
}

static int whoami(const struct cli_globals *g)
{
	boxlite_runtime *rt;
	boxlite_error *err = NULL;
	char *me = NULL;
	struct cli_remote r;
	int rc = cli_remote_target(g, &r);

	cred_profile_free(&r.profile);
	if (rc <= 0) {
		if (rc == 0)
			fprintf(stderr, "boxlite auth whoami: not logged in (boxlite auth login, or --url)\n");
		return CLI_EXIT_RUNTIME;
	}
	if (cli_open_runtime(g, &rt) < 0)
		return CLI_EXIT_RUNTIME;
	if (boxlite_runtime_whoami(rt, &me, &err) < 0) {
		cli_report(err);
		boxlite_runtime_close(rt);
		return CLI_EXIT_RUNTIME;
	}
	puts(me);
	free(me);
	boxlite_runtime_close(rt);
	return 0;
}

int cmd_auth(const struct cli_globals *g, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_RUNTIME : 0;
	}
	if (!strcmp(argv[1], "login"))
		return login(g, argc - 1, argv + 1);
	if (!strcmp(argv[1], "logout"))
		return logout(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return status(g);
	if (!strcmp(argv[1], "whoami"))
		return whoami(g);
	return cli_usage_error("auth", "unknown command '%s' (login, logout, status, whoami)", argv[1]);
}
