/* Options shared by `boxlite create` and `boxlite run`: what a new box is. */
#ifndef BOXLITE_CLI_BOX_OPTS_H
#define BOXLITE_CLI_BOX_OPTS_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "boxlite.h"

enum {
	BOX_OPT_CPUS = 512, BOX_OPT_MEMORY, BOX_OPT_NETWORK, BOX_OPT_NAME, BOX_OPT_DISK,
	BOX_OPT_ENTRYPOINT, BOX_OPT_RM, BOX_OPT_PULL, BOX_OPT_ROOTFS, BOX_OPT_CAP_ADD, BOX_OPT_CAP_DROP,
	BOX_OPT_ALLOW_NET = 600,
};

/* getopt_long entries; short options "e:w:u:p:v:" */
#define BOX_OPTS_SHORT "e:w:u:p:v:"
#define BOX_OPTS_LONG                                                                   \
	{ "env", required_argument, NULL, 'e' }, { "workdir", required_argument, NULL, 'w' }, \
	{ "user", required_argument, NULL, 'u' },                                          \
	{ "publish", required_argument, NULL, 'p' },                                       \
	{ "volume", required_argument, NULL, 'v' },                                        \
	{ "cpus", required_argument, NULL, BOX_OPT_CPUS },                                 \
	{ "memory", required_argument, NULL, BOX_OPT_MEMORY },                             \
	{ "network", required_argument, NULL, BOX_OPT_NETWORK },                           \
	{ "name", required_argument, NULL, BOX_OPT_NAME },                                 \
	{ "disk-size", required_argument, NULL, BOX_OPT_DISK },                            \
	{ "entrypoint", required_argument, NULL, BOX_OPT_ENTRYPOINT },                     \
	{ "rm", no_argument, NULL, BOX_OPT_RM },                                           \
	{ "pull", required_argument, NULL, BOX_OPT_PULL },                                 \
	{ "allow-net", required_argument, NULL, BOX_OPT_ALLOW_NET },                       \
	{ "rootfs", required_argument, NULL, BOX_OPT_ROOTFS },                              \
	{ "cap-add", required_argument, NULL, BOX_OPT_CAP_ADD },                            \
	{ "cap-drop", required_argument, NULL, BOX_OPT_CAP_DROP }

#define BOX_OPTS_HELP                                                                       \
	"  --name NAME        name the box (unique in the home)\n"                             \
	"  --rm               remove the box once it has stopped\n"                           \
	"  -e, --env K=V      set an environment variable (repeatable); -e K takes\n"           \
	"                     K's value from this environment (keeps secrets off\n"             \
	"                     the command line)\n"                                            \
	"  -w, --workdir DIR  working directory inside the box\n"                              \
	"  -u, --user USER    user of the main command and of exec (name, uid, uid:gid)\n"      \
	"      --entrypoint CMD  replace the image's entrypoint (\"\" clears it)\n"             \
	"      --cpus N       virtual CPUs (default 1)\n"                                       \
	"      --memory MIB   guest memory in MiB (default 512)\n"                               \
	"      --disk-size GB size of the box's disk in GiB (default: the image's)\n"         \
	"      --network MODE user (default) or none\n"                                   \
	"  -p, --publish [[IP:]HOST_PORT:]GUEST_PORT[/tcp|/udp]  publish a port\n"          \
	"                     (repeatable); IP defaults to 127.0.0.1; no HOST_PORT, or 0,\n" \
	"                     picks a free port\n"                                          \
	"  -v, --volume HOST_PATH:GUEST_PATH[:ro|:rw]  share a host directory (repeatable);\n" \
	"                     GUEST_PATH[:ro|:rw] alone: an anonymous volume, removed with\n" \
	"                     the box\n"                                                     \
	"      --allow-net HOST|*.DOMAIN|IP|CIDR  reach only these destinations; all\n"      \
	"                     else is refused, DNS answers only these names (repeatable;\n"  \
	"                     the host's loopback via host.boxlite.internal is 127.0.0.1)\n" \
	"      --pull WHEN    pull the image: missing (default), always, never\n"            \
	"      --rootfs DIR   a prepared root filesystem directory instead of IMAGE (its\n"  \
	"                     disk is made once and cached by the tree's content)\n"         \
	"      --cap-add CAP  give the box's processes a Linux capability (repeatable; ALL)\n" \
	"      --cap-drop CAP take one away (repeatable; ALL); default: docker's 14\n"

struct box_opts {
	const char *cmd; /* "run" or "create": usage errors name it */
	const char *envs[256];
	size_t n_env;
	const char *publish[256], *volumes[256];
	size_t n_publish, n_volumes;
	const char *allow_net[256];
	size_t n_allow_net;
	const char *cap_add[64], *cap_drop[64];
	size_t n_cap_add, n_cap_drop;
	const char *workdir, *network, *name, *user, *entrypoint, *pull, *rootfs;
	uint32_t cpus, memory, disk_gb;
	int rm;
};

void box_opts_init(struct box_opts *o, const char *cmd);
/* 1: c was a box option (stored); 0: not one; -1: bad value (reported as a
 * usage error). */
int box_opts_handle(struct box_opts *o, int c, const char *arg);
/* The options for IMAGE (NULL with --rootfs) with command argv (may be
 * empty), or NULL (reported; a bad value as a usage error). */
boxlite_box_options *box_opts_build(const struct box_opts *o, const char *image, char *const *argv,
				    int detach);

#endif
