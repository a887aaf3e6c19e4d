/* The runtime handle: a home directory plus the runtime's own files. */
#include <errno.h>
#include <stddef.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "remote.h"
#include "rest.h"
#include "template.h"

BX_EXPORT const char *boxlite_version(void)
{
	return BOXLITE_VERSION_STRING;
}

static int default_home(char *out, size_t cap, struct bx_error *err)
{
	const char *env = getenv("BOXLITE_HOME");
	const char *home;

	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return 0;
	}
	home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return bx_err(err, -ENOENT, "cannot find a home directory: set BOXLITE_HOME");
	snprintf(out, cap, "%s/.boxlite", home);
	return 0;
}

BX_EXPORT int boxlite_runtime_open(const char *home, boxlite_runtime **out, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	boxlite_runtime *rt;
	char sub[PATH_MAX + 16];
	int rc;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	pthread_mutex_init(&rt->lazy_mu, NULL);
	if (home && *home)
		snprintf(rt->home, sizeof(rt->home), "%s", home);
	else if ((rc = default_home(rt->home, sizeof(rt->home), &err)) < 0)
		goto fail;
	if ((rc = bx_mkdir_p(rt->home, 0700, &err)) < 0)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/boxes", rt->home);
	if ((rc = bx_mkdir_p(sub, 0700, &err)) < 0)
		goto fail;
	if ((rc = bx_paths_resolve(rt, &err)) < 0)
		goto fail;
	if ((rc = bx_store_open(rt->home, &rt->store, &err)) < 0 ||
	    (rc = bx_recover(rt, &rt->recovery_report, &err)) < 0)
		goto fail;
	*out = rt;
	return 0;
fail:
	boxlite_runtime_close(rt);
	return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
}

BX_EXPORT void boxlite_runtime_close(boxlite_runtime *rt)
{
	if (!rt)
		return;
	bx_rest_close(rt->remote);
	bx_store_close(rt->store);
	bx_registries_free(&rt->registries);
	free(rt->recovery_report);
	pthread_mutex_destroy(&rt->lazy_mu);
	free(rt);
}

BX_EXPORT int boxlite_runtime_set_image_registries(boxlite_runtime *rt, const boxlite_image_registry *regs,
						   size_t n, boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "setting image registries"));
	struct bx_error err = { 0 };

	if (!rt || (n && !regs))
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	return bx_error_export(bx_registries_set(&rt->registries, regs, n, &err), &err, BOXLITE_ORIGIN_RUNTIME,
			       errp);
}

BX_EXPORT const char *boxlite_runtime_recovery_report(const boxlite_runtime *rt)
{
	return rt->recovery_report ? rt->recovery_report : "";
}

BX_EXPORT const char *boxlite_runtime_home(const boxlite_runtime *rt)
{
	return rt->home;
}

BX_EXPORT int boxlite_runtime_info_get(boxlite_runtime *rt, boxlite_runtime_info *info, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	int rc;

	if (rt->remote) {
		/* The server's machine, not ours: only what is true here. */
		uint32_t size = info->struct_size;
		memset(info, 0, size && size < sizeof(*info) ? size : sizeof(*info));
		info->struct_size = size;
		info->version = boxlite_version();
		info->home = rt->home;
		info->accel = "remote";
		info->accel_reason = "boxes run on the server";
		info->kernel = info->initramfs = info->shim = info->qemu = "";
		if (size >= offsetof(boxlite_runtime_info, template_memory_shared) + sizeof(info->template_memory_shared))
			info->engine_version = "";
		return 0;
	}
	if ((rc = bx_accel_decide(rt, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	info->version = boxlite_version();
	info->home = rt->home;
	info->accel = bx_accel_name(rt->accel);
	info->accel_reason = rt->accel_reason;
	info->kernel = rt->kernel;
	info->initramfs = rt->initramfs;
	info->shim = rt->shim;
	info->qemu = rt->qemu;
	/* Fields added later: only when the caller's struct has them. */
	if (info->struct_size >= offsetof(boxlite_runtime_info, template_bytes) + sizeof(info->template_bytes)) {
		info->warm_start = bx_template_enabled();
		bx_template_usage(rt->home, &info->templates, &info->template_bytes);
	}
	if (info->struct_size >= offsetof(boxlite_runtime_info, template_memory_shared) +
					 sizeof(info->template_memory_shared)) {
		pthread_mutex_lock(&rt->lazy_mu);
		if (!rt->engine_probed) {
			bx_engine_qemu_probe(rt->qemu, &rt->engine_caps);
			rt->engine_probed = 1;
		}
		pthread_mutex_unlock(&rt->lazy_mu);
		info->engine_version = rt->engine_caps.version;
		info->template_memory_shared = rt->engine_caps.ram_file_cow;
	}
	return 0;
}
