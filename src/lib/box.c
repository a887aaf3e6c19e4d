/* Box lifecycle: create (image + disk), start (spawn the shim, wait for the
 * agent), stop (graceful, then SIGTERM, then SIGKILL), remove. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "conn.h"
#include "image_store.h"
#include "shim_config.h"
#include "shim_spawn.h"
#include "strv.h"

#define STOP_GRACE_MS 2000
#define DEFAULT_STOP_TIMEOUT_MS 10000
#define DEFAULT_READY_TIMEOUT_MS 30000

static void new_box_id(char out[13])
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	uint8_t rnd[12];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		uint64_t t = bx_now_ns() ^ ((uint64_t)getpid() << 32);
		for (int i = 0; i < 12; i++, t = t * 6364136223846793005ull + 1442695040888963407ull)
			rnd[i] = (uint8_t)(t >> 56);
	}
	for (int i = 0; i < 12; i++)
		out[i] = alphabet[rnd[i] % 36];
	out[12] = '\0';
}

static void box_destroy(boxlite_box *box)
{
	if (!box)
		return;
	if (box->watchdog_fd >= 0)
		close(box->watchdog_fd);
	if (box->dir_fd >= 0)
		close(box->dir_fd);
	bx_strv_free(box->env);
	bx_strv_free(box->main_argv);
	free(box->workdir);
	free(box->user);
	free(box);
}

static int box_create(boxlite_runtime *rt, const boxlite_box_options *o, boxlite_box **out,
		      struct bx_error *err)
{
	struct bx_image img = { 0 };
	char disk[PATH_MAX + 32], sub[PATH_MAX + 32];
	boxlite_box *box;
	int rc;

	if (!o || !o->image || !o->image[0])
		return bx_err(err, -EINVAL, "no image given");
	box = calloc(1, sizeof(*box));
	if (!box)
		return bx_err(err, -ENOMEM, "out of memory");
	box->rt = rt;
	box->watchdog_fd = -1;
	box->dir_fd = -1;
	box->cpus = o->cpus;
	box->memory_mib = o->memory_mib;
	box->network = o->network;
	box->detach = o->detach;

	rc = bx_images_resolve(rt, o->image, &img, err);
	if (rc < 0)
		goto fail_nodir;

	new_box_id(box->id);
	snprintf(box->dir, sizeof(box->dir), "%s/boxes/%s", rt->home, box->id);
	if (mkdir(box->dir, 0700) < 0) {
		rc = bx_err_sys(err, -errno, "cannot create box directory %s", box->dir);
		goto fail_nodir;
	}
	snprintf(sub, sizeof(sub), "%s/tmp", box->dir);
	if (mkdir(sub, 0700) < 0) {
		rc = bx_err_sys(err, -errno, "cannot create %s", sub);
		goto fail;
	}
	box->dir_fd = open(box->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (box->dir_fd < 0) {
		rc = bx_err_sys(err, -errno, "cannot open %s", box->dir);
		goto fail;
	}
	snprintf(disk, sizeof(disk), "%s/disk.qcow2", box->dir);
	rc = bx_disk_create_overlay(img.base_path, disk, err);
	if (rc < 0)
		goto fail;

	box->env = bx_env_merge((const char *const *)img.env, (const char *const *)o->env);
	box->workdir = strdup(o->workdir ? o->workdir : img.workdir && img.workdir[0] ? img.workdir : "/");
	box->user = img.user && img.user[0] ? strdup(img.user) : NULL;
	box->main_argv = bx_strv_concat((const char *const *)img.entrypoint,
					(const char *const *)(o->command ? o->command : img.cmd));
	if (!box->env || !box->workdir || !box->main_argv) {
		rc = bx_err(err, -ENOMEM, "out of memory");
		goto fail;
	}
	bx_image_free(&img);
	*out = box;
	return 0;
fail:
	bx_rm_rf_at(AT_FDCWD, box->dir, NULL);
fail_nodir:
	bx_image_free(&img);
	box_destroy(box);
	return rc;
}

BX_EXPORT int boxlite_box_create(boxlite_runtime *rt, const boxlite_box_options *opts,
				 boxlite_box **out, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	int rc = box_create(rt, opts, out, &err);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT const char *boxlite_box_id(const boxlite_box *box)
{
	return box->id;
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	return (*end || n <= 0 || n > 24 * 3600 * 1000) ? def : (int)n;
}

static int box_start(boxlite_box *box, struct bx_error *err)
{
	boxlite_runtime *rt = box->rt;
	struct bx_shim_config cfg = { 0 };
	_cleanup_free_ char *json = NULL;
	struct bx_conn *c = NULL;
	int rc;

	if (box->shim_pid > 0 && bx_box_shim_alive(box))
		return bx_err(err, -EALREADY, "box %s is already running", box->id);
	if ((rc = bx_accel_decide(rt, err)) < 0)
		return rc;

	cfg.version = BX_SHIM_CONFIG_VERSION;
	cfg.box_id = box->id;
	cfg.box_dir = box->dir;
	cfg.detach = box->detach;
	cfg.qemu = rt->qemu;
	cfg.accel = rt->accel;
	cfg.kernel = rt->kernel;
	cfg.initramfs = rt->initramfs;
	cfg.cpus = box->cpus;
	cfg.memory_mib = box->memory_mib;
	cfg.root_disk = (char *)"disk.qcow2";
	cfg.network = box->network;
	cfg.hostname = box->id;
	cfg.env = box->env;
	cfg.n_env = bx_strv_len(box->env);
	cfg.ready_timeout_ms = (unsigned)env_int("BOXLITE_READY_TIMEOUT_MS", DEFAULT_READY_TIMEOUT_MS);
	if ((rc = bx_shim_config_to_json(&cfg, &json, err)) < 0)
		return rc;

	memset(&box->timings, 0, sizeof(box->timings));
	box->timings.spawn = bx_now_ns();
	if (box->watchdog_fd >= 0) {
		close(box->watchdog_fd);
		box->watchdog_fd = -1;
	}
	rc = bx_shim_spawn(rt->shim, box->dir, box->id, json, box->detach, 1, &box->shim_pid,
			   &box->watchdog_fd, err);
	explicit_bzero(json, strlen(json)); /* it may hold secrets */
	if (rc < 0)
		return rc;
	rc = bx_conn_open(box, (int)cfg.ready_timeout_ms + 5000, &c, err);
	if (rc < 0) {
		boxlite_box_stop(box, 1000, NULL);
		return rc;
	}
	bx_conn_close(c);
	return 0;
}

BX_EXPORT int boxlite_box_start(boxlite_box *box, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	int rc = box_start(box, &err);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

/* Waits up to ms for the shim to exit. Returns 1 when it is gone. */
static int wait_shim_gone(boxlite_box *box, int ms)
{
	uint64_t deadline = bx_now_ns() + (uint64_t)ms * 1000000ull;

	while (bx_box_shim_alive(box)) {
		if (bx_now_ns() >= deadline)
			return 0;
		usleep(10000);
	}
	return 1;
}

static void ask_graceful_shutdown(boxlite_box *box, int timeout_ms)
{
	struct bx_conn *c = NULL;
	struct bx_error ignored = { 0 };
	struct bxp_header h;
	const uint8_t *p;

	if (bx_conn_open(box, 2000, &c, &ignored) < 0)
		return;
	if (bx_conn_send(c, 0, BXP_SHUTDOWN, 0, NULL, 0, &ignored) == 0) {
		/* The shim closes every connection when the VM is gone. */
		while (bx_conn_recv(c, timeout_ms, &h, &p, &ignored) == 0)
			;
	}
	bx_conn_close(c);
}

BX_EXPORT int boxlite_box_stop(boxlite_box *box, uint32_t timeout_ms, boxlite_error **errp)
{
	pid_t pid = box->shim_pid;

	(void)errp;
	if (!timeout_ms)
		timeout_ms = DEFAULT_STOP_TIMEOUT_MS;
	if (pid > 0 && bx_box_shim_alive(box)) {
		ask_graceful_shutdown(box, (int)timeout_ms);
		if (!wait_shim_gone(box, (int)timeout_ms)) {
			kill(pid, SIGTERM);
			if (!wait_shim_gone(box, STOP_GRACE_MS)) {
				/* The shim leads its process group (or session): this
				 * reaches QEMU too. */
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				wait_shim_gone(box, 5000);
			}
		}
	}
	box->shim_pid = 0;
	if (box->watchdog_fd >= 0) {
		close(box->watchdog_fd);
		box->watchdog_fd = -1;
	}
	return 0;
}

BX_EXPORT int boxlite_box_remove(boxlite_box *box, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	int rc;

	boxlite_box_stop(box, 0, NULL);
	rc = bx_rm_rf_at(AT_FDCWD, box->dir, &err);
	box_destroy(box);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT void boxlite_box_free(boxlite_box *box)
{
	if (!box)
		return;
	if (!box->detach)
		boxlite_box_stop(box, 0, NULL);
	box_destroy(box);
}

BX_EXPORT void boxlite_box_timings(const boxlite_box *box, boxlite_timings *out)
{
	uint32_t size = out->struct_size ? out->struct_size : sizeof(*out);

	if (size > sizeof(*out))
		size = sizeof(*out);
	memcpy(out, &box->timings, size);
	out->struct_size = size;
}
