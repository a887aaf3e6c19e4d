/* Options shared by create and run (box_opts.h). */
#include "box_opts.h"
#include "cli.h"
#include "netvol_opts.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

void box_opts_init(struct box_opts *o, const char *cmd)
{
	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->network = "user";
	o->cpus = 1;
	o->memory = 512;
}

int box_opts_handle(struct box_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'e':
		if (o->n_env >= sizeof(o->envs) / sizeof(o->envs[0])) {
			cli_usage_error(o->cmd, "too many -e options");
			return -1;
		}
		o->envs[o->n_env++] = arg;
		return 1;
	case 'p':
	case 'v': {
		const char **v = c == 'p' ? o->publish : o->volumes;
		size_t *n = c == 'p' ? &o->n_publish : &o->n_volumes;
		if (*n >= 256) {
			cli_usage_error(o->cmd, "too many -%c options", c);
			return -1;
		}
		v[(*n)++] = arg;
		return 1;
	}
	case 'w': o->workdir = arg; return 1;
	case 'u': o->user = arg; return 1;
	case BOX_OPT_NETWORK: o->network = arg; return 1;
	case BOX_OPT_ALLOW_NET:
		if (o->n_allow_net >= sizeof(o->allow_net) / sizeof(o->allow_net[0])) {
			cli_usage_error(o->cmd, "too many --allow-net options");
			return -1;
		}
		o->allow_net[o->n_allow_net++] = arg;
		return 1;
	case BOX_OPT_NAME: o->name = arg; return 1;
	case BOX_OPT_ENTRYPOINT: o->entrypoint = arg; return 1;
	case BOX_OPT_RM: o->rm = 1; return 1;
	case BOX_OPT_PULL: o->pull = arg; return 1;
	case BOX_OPT_ROOTFS: o->rootfs = arg; return 1;
	case BOX_OPT_CAP_ADD:
	case BOX_OPT_CAP_DROP: {
		const char **v = c == BOX_OPT_CAP_ADD ? o->cap_add : o->cap_drop;
		size_t *n = c == BOX_OPT_CAP_ADD ? &o->n_cap_add : &o->n_cap_drop;

		if (*n >= 64) {
			cli_usage_error(o->cmd, "too many --%s options", c == BOX_OPT_CAP_ADD ? "cap-add" : "cap-drop");
			return -1;
		}
		v[(*n)++] = arg;
		return 1;
	}
	case BOX_OPT_CPUS:
	case BOX_OPT_MEMORY:
	case BOX_OPT_DISK: {
		uint32_t *dst = c == BOX_OPT_CPUS ? &o->cpus : c == BOX_OPT_MEMORY ? &o->memory : &o->disk_gb;
		if (parse_u32(arg, dst) < 0) {
			cli_usage_error(o->cmd, "--%s wants a number, got '%s'",
					c == BOX_OPT_CPUS ? "cpus" : c == BOX_OPT_MEMORY ? "memory" : "disk-size", arg);
			return -1;
		}
		return 1;
	}
	default:
		return 0;
	}
}

/* -e K=V, or -e K meaning K's value here (unset: skipped, as docker does). */
static int add_env(const char *cmd, boxlite_box_options *opts, const char *arg)
{
	const char *val;
	char *kv;
	int rc;

	if (strchr(arg, '='))
		rc = boxlite_box_options_add_env(opts, arg);
	else if (!*arg)
		rc = -EINVAL;
	else if (!(val = getenv(arg)))
		return 0;
	else if (asprintf(&kv, "%s=%s", arg, val) < 0)
		rc = -ENOMEM;
	else {
		rc = boxlite_box_options_add_env(opts, kv);
		free(kv);
	}
	if (rc < 0)
		cli_usage_error(cmd, "-e wants KEY=VALUE or KEY, got '%s'", arg);
	return rc;
}

static const char *check(const struct box_opts *o, boxlite_box_options *b)
{
	if (strcmp(o->network, "user") && strcmp(o->network, "none"))
		return "--network must be 'user' or 'none'";
	if (boxlite_box_options_set_cpus(b, o->cpus) < 0)
		return "--cpus must be between 1 and 64";
	if (boxlite_box_options_set_memory_mib(b, o->memory) < 0)
		return "--memory must be between 64 and 65536 MiB";
	if (o->disk_gb && boxlite_box_options_set_disk_size_gb(b, o->disk_gb) < 0)
		return "--disk-size must be between 1 and 4096 GiB";
	if (o->workdir && boxlite_box_options_set_workdir(b, o->workdir) < 0)
		return "--workdir must be an absolute path";
	if (o->name && boxlite_box_options_set_name(b, o->name) < 0)
		return "--name wants 1..64 of [A-Za-z0-9_.-], starting with a letter or digit";
	if (o->user && boxlite_box_options_set_user(b, o->user) < 0)
		return "--user must not be empty";
	if (o->entrypoint) {
		const char *ep[] = { o->entrypoint, NULL };
		if (boxlite_box_options_set_entrypoint(b, ep) < 0)
			return "bad --entrypoint";
	}
	if (o->pull) {
		int p = !strcmp(o->pull, "missing")  ? BOXLITE_PULL_MISSING
			: !strcmp(o->pull, "always") ? BOXLITE_PULL_ALWAYS
			: !strcmp(o->pull, "never")  ? BOXLITE_PULL_NEVER
						     : -1;
		if (boxlite_box_options_set_pull_policy(b, p) < 0)
			return "--pull must be 'missing', 'always' or 'never'";
	}
	boxlite_box_options_set_network(b, !strcmp(o->network, "user"));
	boxlite_box_options_set_auto_remove(b, o->rm);
	return NULL;
}

boxlite_box_options *box_opts_build(const struct box_opts *o, const char *image, char *const *argv,
				    int detach)
{
	boxlite_box_options *b = boxlite_box_options_new(image);
	char rootfs[PATH_MAX];
	const char *why;

	if (!b) {
		fprintf(stderr, "boxlite: out of memory\n");
		return NULL;
	}
	if (o->rootfs) { /* relative to here, as -v's host paths */
		if (!realpath(o->rootfs, rootfs)) {
			cli_usage_error(o->cmd, "--rootfs %s: %s", o->rootfs, strerror(errno));
			goto fail;
		}
		if (boxlite_box_options_set_rootfs(b, rootfs) < 0) {
			fprintf(stderr, "boxlite: out of memory\n");
			goto fail;
		}
	}
	if ((why = check(o, b))) {
		cli_usage_error(o->cmd, "%s", why);
		goto fail;
	}
	for (size_t i = 0; i < o->n_env; i++)
		if (add_env(o->cmd, b, o->envs[i]) < 0)
			goto fail;
	for (size_t i = 0; i < o->n_publish; i++)
		if (cli_add_publish(o->cmd, b, o->publish[i]) < 0)
			goto fail;
	for (size_t i = 0; i < o->n_volumes; i++)
		if (cli_add_volume(o->cmd, b, o->volumes[i]) < 0)
			goto fail;
	if (o->n_allow_net && !strcmp(o->network, "none")) {
		cli_usage_error(o->cmd, "--allow-net needs the network: it cannot be combined with --network none");
		goto fail;
	}
	for (size_t i = 0; i < o->n_cap_add + o->n_cap_drop; i++) {
		int add = i < o->n_cap_add;
		const char *name = add ? o->cap_add[i] : o->cap_drop[i - o->n_cap_add];

		if ((add ? boxlite_box_options_add_capability(b, name) : boxlite_box_options_drop_capability(b, name)) <
		    0) {
			cli_usage_error(o->cmd, "--%s: unknown capability '%s' (names as in capabilities(7), with or "
						"without CAP_, or ALL)", add ? "cap-add" : "cap-drop", name);
			goto fail;
		}
	}
	for (size_t i = 0; i < o->n_allow_net; i++)
		if (boxlite_box_options_add_allow_net(b, o->allow_net[i]) < 0) {
			cli_usage_error(o->cmd,
					"--allow-net wants a host name, *.domain, an IPv4/IPv6 address or a CIDR "
					"(e.g. 10.0.0.0/8), got '%s'",
					o->allow_net[i]);
			goto fail;
		}
	if (argv && argv[0] && boxlite_box_options_set_command(b, (const char *const *)argv) < 0) {
		cli_usage_error(o->cmd, "the command must not be empty");
		goto fail;
	}
	boxlite_box_options_set_detach(b, detach);
	return b;
fail:
	boxlite_box_options_free(b);
	return NULL;
}
