/* boxlite serve: the REST API server (src/server, docs/server.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "server.h"

static const char usage[] =
	"Usage: boxlite serve [OPTIONS]\n"
	"\n"
	"Serve the REST API (the reference's /v1 routes) on this machine's runtime.\n"
	"\n"
	"Options:\n"
	"      --host ADDR          Address to listen on (default 127.0.0.1)\n"
	"      --port PORT          Port (default 8100; 0: any free port)\n"
	"      --api-key-file FILE  Require 'Authorization: Bearer KEY', KEY read from FILE\n"
	"                           (also: BOXLITE_SERVE_API_KEY). Required off loopback.\n"
	"      --api-key KEY        The same, on the command line (visible to other users)\n"
	"  -h, --help               Show this help\n";

/* The key in FILE, trailing newline and spaces dropped. */
static char *read_key(const char *path)
{
	char buf[4097];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		fprintf(stderr, "boxlite serve: cannot read the API key file %s: %s\n", path, strerror(errno));
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf) - 1) {
		fprintf(stderr, "boxlite serve: %s: %s\n", path, n < 0 ? strerror(errno) : "longer than 4096 bytes");
		return NULL;
	}
	while (n > 0 && strchr("\r\n \t", buf[n - 1]))
		n--;
	buf[n] = 0;
	if (!n || strpbrk(buf, "\r\n")) {
		fprintf(stderr, "boxlite serve: %s: the key must be one non-empty line\n", path);
		return NULL;
	}
	return strdup(buf);
}

int cmd_serve(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "api-key-file", required_argument, NULL, 'k' },
		{ "api-key", required_argument, NULL, 'K' },
		{ "print-routes", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bx_server_opts o = { .host = "127.0.0.1", .port = 8100 };
	boxlite_runtime_info info = { .struct_size = sizeof(info) };
	const char *key_file = NULL, *env_key = getenv("BOXLITE_SERVE_API_KEY");
	char *key = NULL, *share = NULL, openapi[4096], err[512];
	boxlite_runtime *rt = NULL;
	int c, rc;

	while ((c = cli_getopt("serve", argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'H':
			o.host = optarg;
			break;
		case 'p': {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*end || p < 0 || p > 65535)
				return cli_usage_error("serve", "--port must be 0..65535, not '%s'", optarg);
			o.port = (uint16_t)p;
			break;
		}
		case 'k':
			key_file = optarg;
			break;
		case 'K':
			free(key);
			key = strdup(optarg);
			break;
		case 'R':
			bx_server_print_routes(stdout);
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return CLI_EXIT_RUNTIME;
		}
	}
	if (optind < argc)
		return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
	if (key_file) {
		free(key);
		if (!(key = read_key(key_file)))
			return CLI_EXIT_RUNTIME;
	} else if (!key && env_key && *env_key)
		key = strdup(env_key);
	if (key && !*key) {
		free(key);
		return cli_usage_error("serve", "the API key is empty");
	}
	if (cli_open_runtime(g, &rt) < 0) {
		free(key);
		return CLI_EXIT_RUNTIME;
	}
	/* The OpenAPI document is installed beside the kernel. */
	if (boxlite_runtime_info_get(rt, &info, NULL) == 0 && (share = strdup(info.kernel))) {
		snprintf(openapi, sizeof(openapi), "%s/openapi.yaml", dirname(share));
		o.openapi_path = openapi;
	}
	o.api_key = key;
	rc = bx_server_run(rt, &o, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "boxlite serve: %s\n", err);
	boxlite_runtime_close(rt);
	free(share);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	return rc < 0 ? CLI_EXIT_RUNTIME : 0;
}
