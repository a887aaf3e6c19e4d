/* `boxlite serve`: the reference system's REST API (docs/server.md) on a
 * runtime of this process. The CLI parses flags and calls bx_server_run. */
#ifndef BOXLITE_SERVER_H
#define BOXLITE_SERVER_H

#include <stdint.h>
#include <stdio.h>

#include "boxlite.h"

struct bx_server_opts {
	const char *host;         /* address to bind: "127.0.0.1" (default), "::1", "0.0.0.0" */
	uint16_t port;            /* 0: any free port (printed) */
	const char *api_key;      /* NULL: no authentication (loopback only) */
	const char *openapi_path; /* docs/openapi.yaml to serve; NULL: the installed copy */
};

/* Serves until SIGINT or SIGTERM, then stops the boxes this server started
 * that were not created detached. Prints "listening on http://H:P" on
 * stdout once it accepts connections. Returns 0, or -errno with a message
 * in err (bad address, port in use, non-loopback without a key). */
int bx_server_run(boxlite_runtime *rt, const struct bx_server_opts *o, char *err, size_t errlen);

/* Every route the server answers, "METHOD /v1/path/{param}" one per line
 * (for the test that compares them with docs/openapi.yaml). */
void bx_server_print_routes(FILE *f);

#endif
