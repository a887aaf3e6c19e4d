/* The boxlite CLI: thin; one file per command, all real work in libboxlite. */
#ifndef BOXLITE_CLI_H
#define BOXLITE_CLI_H

#include "boxlite.h"

/* docker's exit codes for failures of the runtime itself */
#define CLI_EXIT_RUNTIME 125
#define CLI_EXIT_CANNOT_INVOKE 126
#define CLI_EXIT_NOT_FOUND 127

struct cli_globals {
	const char *home; /* --home, or NULL */
};

int cmd_run(const struct cli_globals *g, int argc, char **argv);
int cmd_info(const struct cli_globals *g, int argc, char **argv);
int cmd_version(const struct cli_globals *g, int argc, char **argv);

/* Prints "boxlite: <message>" for err to stderr and frees it. */
void cli_report(boxlite_error *err);
/* Opens the runtime or reports why not. */
int cli_open_runtime(const struct cli_globals *g, boxlite_runtime **rt);

#endif
