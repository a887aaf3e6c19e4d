/* -p/--publish and -v/--volume of create and run. */
#ifndef BOXLITE_CLI_NETVOL_OPTS_H
#define BOXLITE_CLI_NETVOL_OPTS_H

#include "boxlite.h"

/* "[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]". Returns 0, or -1 (reported). */
int cli_add_publish(boxlite_box_options *o, const char *spec);
/* "HOST_PATH:GUEST_PATH[:ro|:rw]" (HOST_PATH relative to the cwd allowed).
 * Returns 0, or -1 (reported). */
int cli_add_volume(boxlite_box_options *o, const char *spec);

#endif
