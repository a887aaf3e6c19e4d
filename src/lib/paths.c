/* Where the runtime's own files are, and small filesystem helpers. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

uint64_t bx_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The directory holding libboxlite.so (or the executable it is linked into). */
static int self_dir(char *out, size_t cap)
{
	Dl_info info;
	char real[PATH_MAX];

	if (!dladdr((void *)bx_paths_resolve, &info) || !info.dli_fname)
		return -ENOENT;
	if (!realpath(info.dli_fname, real))
		return -errno;
	snprintf(out, cap, "%s", dirname(real));
	return 0;
}

static int find_in_path(const char *prog, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, prog);
		if (access(buf, X_OK) == 0) {
			snprintf(out, cap, "%s", buf);
			return 0;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return -ENOENT;
}

static int need_file(const char *path, const char *what, struct bx_error *err)
{
	if (access(path, R_OK) < 0)
		return bx_err_sys(err, -errno, "%s not found at %s (run `make build`, or set BOXLITE_SHARE_DIR)",
				  what, path);
	return 0;
}

int bx_paths_resolve(boxlite_runtime *rt, struct bx_error *err)
{
	char dir[PATH_MAX];
	const char *env;
	int rc;

	rc = self_dir(dir, sizeof(dir));
	if (rc < 0)
		return bx_err_sys(err, rc, "cannot locate libboxlite");

	env = getenv("BOXLITE_SHARE_DIR");
	if (env && *env)
		snprintf(rt->share_dir, sizeof(rt->share_dir), "%s", env);
	else
		snprintf(rt->share_dir, sizeof(rt->share_dir), "%s/../share/boxlite", dir);
	env = getenv("BOXLITE_SHIM");
	if (env && *env)
		snprintf(rt->shim, sizeof(rt->shim), "%s", env);
	else
		snprintf(rt->shim, sizeof(rt->shim), "%s/../bin/boxlite-shim", dir);
	/* Canonical paths: they show in `boxlite info` and in process listings. */
	if (realpath(rt->share_dir, dir))
		snprintf(rt->share_dir, sizeof(rt->share_dir), "%s", dir);
	if (realpath(rt->shim, dir))
		snprintf(rt->shim, sizeof(rt->shim), "%s", dir);
	snprintf(rt->kernel, sizeof(rt->kernel), "%s/vmlinux", rt->share_dir);
	snprintf(rt->initramfs, sizeof(rt->initramfs), "%s/initramfs.cpio.gz", rt->share_dir);

	env = getenv("BOXLITE_QEMU");
	if (env && *env)
		snprintf(rt->qemu, sizeof(rt->qemu), "%s", env);
	else if (find_in_path("qemu-system-x86_64", rt->qemu, sizeof(rt->qemu)) < 0)
		return bx_err(err, -ENOENT,
			      "qemu-system-x86_64 not found in PATH (install the qemu-system-x86 package, or set BOXLITE_QEMU)");

	if ((rc = need_file(rt->kernel, "guest kernel", err)) < 0 ||
	    (rc = need_file(rt->initramfs, "guest initramfs", err)) < 0)
		return rc;
	if (access(rt->shim, X_OK) < 0)
		return bx_err_sys(err, -errno, "boxlite-shim not found at %s (run `make build`, or set BOXLITE_SHIM)",
				  rt->shim);
	return 0;
}
