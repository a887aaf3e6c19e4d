/* Box options: a builder the caller fills before boxlite_box_create. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "internal.h"
#include "strv.h"

BX_EXPORT boxlite_box_options *boxlite_box_options_new(const char *image)
{
	boxlite_box_options *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->image = strdup(image ? image : "");
	o->env = calloc(1, sizeof(char *));
	if (!o->image || !o->env) {
		boxlite_box_options_free(o);
		return NULL;
	}
	o->cpus = 1;
	o->memory_mib = 512;
	o->network = 1;
	return o;
}

BX_EXPORT int boxlite_box_options_set_cpus(boxlite_box_options *o, uint32_t cpus)
{
	if (cpus < 1 || cpus > 64)
		return -EINVAL;
	o->cpus = cpus;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_memory_mib(boxlite_box_options *o, uint32_t mib)
{
	if (mib < 64 || mib > 65536)
		return -EINVAL;
	o->memory_mib = mib;
	return 0;
}

BX_EXPORT int boxlite_box_options_add_env(boxlite_box_options *o, const char *kv)
{
	char **n;

	if (!kv || !strchr(kv, '=') || kv[0] == '=')
		return -EINVAL;
	n = realloc(o->env, (o->n_env + 2) * sizeof(char *));
	if (!n)
		return -ENOMEM;
	o->env = n;
	if (!(o->env[o->n_env] = strdup(kv)))
		return -ENOMEM;
	o->env[++o->n_env] = NULL;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_workdir(boxlite_box_options *o, const char *dir)
{
	char *d;

	if (!dir || dir[0] != '/')
		return -EINVAL;
	if (!(d = strdup(dir)))
		return -ENOMEM;
	free(o->workdir);
	o->workdir = d;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_network(boxlite_box_options *o, int enabled)
{
	o->network = !!enabled;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_detach(boxlite_box_options *o, int detach)
{
	o->detach = !!detach;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_command(boxlite_box_options *o, const char *const *argv)
{
	char **v;

	if (!argv || !argv[0] || !argv[0][0])
		return -EINVAL;
	if (!(v = bx_strv_dup(argv)))
		return -ENOMEM;
	bx_strv_free(o->command);
	o->command = v;
	return 0;
}

int bx_valid_box_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n < 1 || n > 64 || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
	return 1;
}

static int set_str(char **dst, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_name(boxlite_box_options *o, const char *name)
{
	if (!bx_valid_box_name(name))
		return -EINVAL;
	return set_str(&o->name, name);
}

BX_EXPORT int boxlite_box_options_set_user(boxlite_box_options *o, const char *user)
{
	if (!user || !*user)
		return -EINVAL;
	return set_str(&o->user, user);
}

BX_EXPORT int boxlite_box_options_set_entrypoint(boxlite_box_options *o, const char *const *argv)
{
	static const char *const none[] = { NULL };
	char **v;

	if (!argv || !argv[0])
		return -EINVAL;
	if (!argv[0][0] && !argv[1])
		argv = none; /* docker's --entrypoint "": no entrypoint */
	if (!(v = bx_strv_dup(argv)))
		return -ENOMEM;
	bx_strv_free(o->entrypoint);
	o->entrypoint = v;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_disk_size_gb(boxlite_box_options *o, uint32_t gb)
{
	if (gb < 1 || gb > 4096)
		return -EINVAL;
	o->disk_size_gb = gb;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_auto_remove(boxlite_box_options *o, int auto_remove)
{
	o->auto_remove = !!auto_remove;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_tty(boxlite_box_options *o, uint16_t rows, uint16_t cols)
{
	if (!o || (!rows) != (!cols))
		return -EINVAL;
	o->tty = 1;
	o->tty_rows = rows;
	o->tty_cols = cols;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_security(boxlite_box_options *o, int security)
{
	if (security != BOXLITE_SECURITY_JAIL && security != BOXLITE_SECURITY_DEVELOPMENT)
		return -EINVAL;
	o->security = security;
	return 0;
}

BX_EXPORT int boxlite_box_options_set_pull_policy(boxlite_box_options *o, int policy)
{
	if (!o || (policy != BOXLITE_PULL_MISSING && policy != BOXLITE_PULL_ALWAYS && policy != BOXLITE_PULL_NEVER))
		return -EINVAL;
	o->pull_policy = policy;
	return 0;
}

/* Appends name to *list (NULL-terminated, may be NULL). */
static int cap_list_add(char ***list, const char *name)
{
	size_t n = bx_strv_len(*list);
	char **v;

	if (!name || bx_cap_parse(name) == -1 || n >= 64)
		return -EINVAL;
	if (!(v = realloc(*list, (n + 2) * sizeof(*v))))
		return -ENOMEM;
	*list = v;
	if (!(v[n] = strdup(name)))
		return -ENOMEM;
	v[n + 1] = NULL;
	return 0;
}

BX_EXPORT int boxlite_box_options_add_capability(boxlite_box_options *o, const char *name)
{
	return o ? cap_list_add(&o->cap_add, name) : -EINVAL;
}

BX_EXPORT int boxlite_box_options_drop_capability(boxlite_box_options *o, const char *name)
{
	return o ? cap_list_add(&o->cap_drop, name) : -EINVAL;
}

BX_EXPORT int boxlite_box_options_set_rootfs(boxlite_box_options *o, const char *dir)
{
	char *copy;

	if (!o || !dir || dir[0] != '/')
		return -EINVAL;
	if (!(copy = strdup(dir)))
		return -ENOMEM;
	free(o->rootfs);
	o->rootfs = copy;
	return 0;
}

BX_EXPORT int boxlite_box_options_add_port(boxlite_box_options *o, const char *host_ip, uint32_t host_port,
					   uint32_t guest_port, const char *proto)
{
	if (!o)
		return -EINVAL;
	return bx_netvol_add_port(&o->nv, host_ip, host_port, guest_port, proto);
}

BX_EXPORT int boxlite_box_options_add_volume(boxlite_box_options *o, const char *host_path,
					     const char *guest_path, int read_only)
{
	if (!o)
		return -EINVAL;
	return bx_netvol_add_volume(&o->nv, host_path, guest_path, read_only);
}

BX_EXPORT int boxlite_box_options_add_allow_net(boxlite_box_options *o, const char *entry)
{
	if (!o || !entry)
		return -EINVAL;
	return bx_netvol_add_allow(&o->nv, entry);
}

BX_EXPORT void boxlite_box_options_free(boxlite_box_options *o)
{
	if (!o)
		return;
	bx_netvol_free(&o->nv);
	free(o->image);
	free(o->rootfs);
	bx_strv_free(o->cap_add);
	bx_strv_free(o->cap_drop);
	for (size_t i = 0; o->env && i < o->n_env; i++)
		free(o->env[i]);
	free(o->env);
	free(o->workdir);
	bx_strv_free(o->command);
	bx_strv_free(o->entrypoint);
	free(o->name);
	free(o->user);
	free(o);
}
