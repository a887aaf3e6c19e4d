/* -p/--publish and -v/--volume of create and run. */
#ifndef BOXLITE_CLI_NETVOL_OPTS_H
#define BOXLITE_CLI_NETVOL_OPTS_H

#include "boxlite.h"

struct cli_publish {
	char ip[64]; /* "" = the default, 127.0.0.1 */
	unsigned host_port, guest_port;
	char proto[4];
};

/* need_guest: "[[HOST_IP:]HOST_PORT:]GUEST_PORT[/tcp|/udp]" (host port 0
 * or none: a free one), else "[HOST_IP:]HOST_PORT[/tcp|/udp]". Returns 0 or -1. */
int cli_parse_publish(const char *spec, int need_guest, struct cli_publish *out);
/* "[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]". Returns 0, or -1 (reported
 * as a usage error of cmd). */
int cli_add_publish(const char *cmd, boxlite_box_options *o, const char *spec);
/* "HOST_PATH:GUEST_PATH[:ro|:rw]" (HOST_PATH relative to the cwd allowed),
 * or "GUEST_PATH[:ro|:rw]" (an anonymous volume).
 * Returns 0, or -1 (reported as a usage error of cmd). */
int cli_add_volume(const char *cmd, boxlite_box_options *o, const char *spec);

#endif
