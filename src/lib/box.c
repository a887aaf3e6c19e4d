/* Box lifecycle: create (image, disk, store record; nothing boots), start
 * (spawn the shim, wait for the agent), stop (graceful, then SIGTERM, then
 * SIGKILL), remove, and reattaching to a box from its record. The state in
 * the store is reconciled with the shim process (box_state.c). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "box_impl.h"
#include "remote.h"
#include "cleanup.h"
#include "conn.h"
#include "image_store.h"
#include "caps.h"
#include "checkpoint.h"
#include "images.h"
#include "rootfs_dir.h"
#include "gc_lock.h"
#include "clone.h"
#include "lock.h"
#include "qcow2.h"
#include "proc.h"
#include "shim_config.h"
#include "shim_spawn.h"
#include "strv.h"
#include "template.h"

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

boxlite_box *bx_box_alloc(boxlite_runtime *rt)
{
	boxlite_box *box = calloc(1, sizeof(*box));

	if (!box)
		return NULL;
	box->rt = rt;
	box->watchdog_fd = -1;
	box->dir_fd = -1;
	box->rec = calloc(1, sizeof(*box->rec));
	box->info_rec = calloc(1, sizeof(*box->info_rec));
	if (!box->rec || !box->info_rec) {
		free(box->rec);
		free(box->info_rec);
		free(box);
		return NULL;
	}
	return box;
}

void bx_box_destroy(boxlite_box *box)
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
	bx_netvol_free(&box->nv);
	free(box->name);
	free(box->image);
	bx_box_record_clear(box->rec);
	bx_box_record_clear(box->info_rec);
	free(box->rec);
	free(box->info_rec);
	free(box);
}

/* ---- the config document kept in the store */

static char **json_strv(json_t *a)
{
	size_t n = json_array_size(a), i;
	char **v = calloc(n + 1, sizeof(char *));
	json_t *item;

	if (!v)
		return NULL;
	json_array_foreach(a, i, item) {
		if (!(v[i] = strdup(json_is_string(item) ? json_string_value(item) : ""))) {
			bx_strv_free(v);
			return NULL;
		}
	}
	return v;
}

char *bx_box_config_json(const boxlite_box *box)
{
	json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:b, s:b, s:b, s:o, s:s, s:o, s:o*}", "image", box->image,
			      "cpus", (int)box->cpus, "memory_mib", (int)box->memory_mib, "disk_size_gb",
			      (int)box->disk_size_gb, "network", box->network, "detach", box->detach,
			      "auto_remove", box->auto_remove, "env", bx_strv_json((const char *const *)box->env), "workdir",
			      box->workdir, "command", bx_strv_json((const char *const *)box->main_argv), "user",
			      box->user ? json_string(box->user) : NULL);
	char *s;

	if (!o)
		return NULL;
	if ((box->tty && json_object_set_new(o, "tty", json_true()) < 0) ||
	    json_object_set_new(o, "job", json_boolean(box->job)) < 0 ||
	    (box->has_caps && json_object_set_new(o, "capabilities", bx_caps_to_json(box->caps)) < 0)) {
		json_decref(o);
		return NULL;
	}
	if (bx_netvol_to_json(&box->nv, o) < 0) {
		json_decref(o);
		return NULL;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static int config_parse(boxlite_box *box, const char *text, struct bx_error *err)
{
	json_t *o = json_loads(text, 0, NULL), *user;
	int cpus = 1, mem = 512, disk = 0, net = 1, det = 0, ar = 0, rc = 0;
	json_t *env = NULL, *cmd = NULL;
	const char *workdir = "/", *image = "";

	if (!o || json_unpack(o, "{s:s, s:i, s:i, s:i, s:b, s:b, s:b, s:o, s:s, s:o}", "image", &image,
			      "cpus", &cpus, "memory_mib", &mem, "disk_size_gb", &disk, "network", &net,
			      "detach", &det, "auto_remove", &ar, "env", &env, "workdir", &workdir, "command",
			      &cmd) < 0) {
		json_decref(o);
		return bx_err(err, -EIO, "store: box %s has an unreadable config", box->id);
	}
	box->cpus = (uint32_t)cpus;
	box->memory_mib = (uint32_t)mem;
	box->disk_size_gb = (uint32_t)disk;
	box->network = net;
	box->detach = det;
	box->auto_remove = ar;
	user = json_object_get(o, "user");
	box->tty = json_is_true(json_object_get(o, "tty"));
	/* Absent in boxes made before it was kept: never started implicitly. */
	box->job = !json_is_false(json_object_get(o, "job"));
	/* Absent in boxes made before capabilities were kept: all of them. */
	box->has_caps = json_object_get(o, "capabilities") != NULL;
	if (box->has_caps && bx_caps_from_json(json_object_get(o, "capabilities"), &box->caps) < 0)
		rc = bx_err(err, -EIO, "store: box %s has unreadable capabilities", box->id);
	box->image = strdup(image);
	box->workdir = strdup(workdir);
	box->user = json_is_string(user) ? strdup(json_string_value(user)) : NULL;
	box->env = json_strv(env);
	box->main_argv = json_strv(cmd);
	if (rc < 0)
		;
	else if (bx_netvol_from_json(&box->nv, o) < 0)
		rc = bx_err(err, -EIO, "store: box %s has unreadable ports or volumes", box->id);
	else if (!box->image || !box->workdir || !box->env || !box->main_argv || (json_is_string(user) && !box->user))
		rc = bx_err(err, -ENOMEM, "out of memory");
	json_decref(o);
	return rc;
}

char *bx_box_config_normalize(boxlite_runtime *rt, const char *text, int untrusted, struct bx_error *err)
{
	boxlite_box *box = bx_box_alloc(rt);
	struct bx_error e = { 0 };
	char *out = NULL;

	if (!box) {
		bx_err(err, -ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(box->id, sizeof(box->id), "(imported)");
	if (config_parse(box, text, &e) < 0)
		bx_err(err, e.code == -ENOMEM ? -ENOMEM : -EINVAL, "the archive's box options are unreadable");
	else if (box->cpus < 1 || box->cpus > 256 || box->memory_mib < 64 || box->memory_mib > (1u << 20))
		bx_err(err, -EINVAL, "the archive's box options ask for %u CPUs and %u MiB of memory", box->cpus,
		       box->memory_mib);
	else if (untrusted && box->nv.n_vols)
		bx_err(err, -ENOTSUP, "an archive from an untrusted source (a REST upload) cannot bring volumes: "
				      "they name host paths");
	else if (!(out = bx_box_config_json(box)))
		bx_err(err, -ENOMEM, "out of memory");
	bx_box_destroy(box);
	return out;
}

static int open_dir(boxlite_box *box, struct bx_error *err)
{
	box->dir_fd = open(box->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (box->dir_fd < 0)
		return bx_err_sys(err, -errno, "cannot open %s", box->dir);
	return 0;
}

int bx_box_load(boxlite_runtime *rt, const struct bx_box_record *rec, boxlite_box **out, struct bx_error *err)
{
	boxlite_box *box = bx_box_alloc(rt);
	int rc;

	if (!box)
		return bx_err(err, -ENOMEM, "out of memory");
	memcpy(box->id, rec->id, sizeof(box->id));
	snprintf(box->dir, sizeof(box->dir), "%s/boxes/%s", rt->home, box->id);
	if ((rc = bx_box_record_copy(box->rec, rec)) < 0 || (rec->name && !(box->name = strdup(rec->name)))) {
		bx_box_destroy(box);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	if ((rc = config_parse(box, rec->config, err)) < 0 || (rc = open_dir(box, err)) < 0) {
		bx_box_destroy(box);
		return rc;
	}
	box->shim_pid = rec->shim_pid;
	*out = box;
	return 0;
}

BX_EXPORT int boxlite_box_get(boxlite_runtime *rt, const char *key, boxlite_box **out, boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_get(rt, key, out, &e_));
	struct bx_error err = { 0 };
	struct bx_box_record rec;
	int rc;

	*out = NULL;
	rc = bx_store_find(rt->store, key, &rec, &err);
	if (rc == 0) {
		rc = bx_box_load(rt, &rec, out, &err);
		bx_box_record_clear(&rec);
	}
	/* Not this process's box: if it starts it, the box must not die with it. */
	if (rc == 0)
		(*out)->detach = 1;
	if (rc == 0 && (rc = bx_box_reconcile(*out, &err)) < 0) {
		bx_box_destroy(*out);
		*out = NULL;
	}
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

/* A new box with src's config (name: name, or none) whose disk is an
 * empty overlay of size bytes over base: a clone (clone.c). */
int bx_box_create_from(boxlite_runtime *rt, const struct bx_box_record *src, const char *name, const char *base,
		       uint64_t size, boxlite_box **out, struct bx_error *err)
{
	struct bx_box_record rec = *src;
	char dir[PATH_MAX + 32], sub[PATH_MAX + 48];
	int home_lock = -1, rc;

	*out = NULL;
	if (name && !bx_valid_box_name(name))
		return bx_err(err, -EINVAL, "bad box name \"%s\": 1..64 of [A-Za-z0-9_.-], starting alphanumeric", name);
	if ((rc = bx_lock_home(rt->home, 0, &home_lock, err)) < 0)
		return rc;
	new_box_id(rec.id);
	snprintf(dir, sizeof(dir), "%s/boxes/%s", rt->home, rec.id);
	snprintf(sub, sizeof(sub), "%s/tmp", dir);
	if (mkdir(dir, 0700) < 0 || mkdir(sub, 0700) < 0) {
		rc = bx_err_sys(err, -errno, "cannot create box directory %s", dir);
		goto fail;
	}
	snprintf(sub, sizeof(sub), "%s/disk.qcow2", dir);
	if ((rc = bx_qcow2_create_overlay(sub, base, "qcow2", size, err)) < 0)
		goto fail;
	rec.name = (char *)name;
	rec.state = BOXLITE_BOX_CONFIGURED;
	rec.reason = NULL;
	rec.exit_code = -1;
	rec.shim_pid = 0;
	rec.shim_starttime = 0;
	rec.created_at = bx_now_ns();
	rec.started_at = rec.finished_at = 0;
	if ((rc = bx_store_insert(rt->store, &rec, err)) < 0 || (rc = bx_box_load(rt, &rec, out, err)) < 0)
		goto fail;
	bx_unlock(&home_lock);
	return 0;
fail:
	if (*out == NULL)
		bx_store_delete(rt->store, rec.id, NULL);
	bx_rm_rf_at(AT_FDCWD, dir, NULL);
	bx_unlock(&home_lock);
	return rc;
}

/* ---- create */

static int box_create(boxlite_runtime *rt, const boxlite_box_options *o, boxlite_box **out,
		      struct bx_error *err)
{
	struct bx_image img = { 0 };
	char disk[PATH_MAX + 32], sub[PATH_MAX + 32];
	_cleanup_free_ char *config = NULL;
	boxlite_box *box;
	int home_lock = -1, gc_fd = -1, rc;

	if (!o || ((!o->image || !o->image[0]) && !o->rootfs))
		return bx_err(err, -EINVAL, "no image given");
	if (!o->network && o->nv.n_allow)
		return bx_err(err, -EINVAL,
			      "--allow-net needs the user-mode network: a box without a network (--network "
			      "none) reaches nothing anyway");
	box = bx_box_alloc(rt);
	if (!box)
		return bx_err(err, -ENOMEM, "out of memory");
	box->cpus = o->cpus;
	box->memory_mib = o->memory_mib;
	box->network = o->network;
	box->detach = o->detach;
	box->disk_size_gb = o->disk_size_gb;
	box->auto_remove = o->auto_remove;
	box->security = o->security;
	rc = bx_netvol_copy(&box->nv, &o->nv);
	if (rc == 0)
		rc = bx_netvol_prepare(&box->nv, rt->home, err);
	else
		rc = bx_err(err, rc, "out of memory");
	if (rc < 0)
		goto fail_nodir;
	box->tty = o->tty;
	box->tty_rows = o->tty_rows;
	box->tty_cols = o->tty_cols;
	box->job = o->command != NULL || o->entrypoint != NULL;
	box->has_caps = 1;
	if ((rc = bx_caps_compute(o->cap_add, o->cap_drop, &box->caps, err)) < 0)
		goto fail_nodir;

	/* until the disk exists, a prune must not delete the image's base */
	rc = gc_fd = bx_image_gc_lock(rt->home, 0, err);
	if (rc < 0)
		goto fail_nodir;
	if (o->rootfs)
		rc = bx_rootfs_dir_image(rt->home, o->rootfs, &img, err);
	else
		rc = bx_images_resolve_policy(rt, o->image,
					      o->pull_policy == BOXLITE_PULL_ALWAYS  ? BX_PULL_ALWAYS
					      : o->pull_policy == BOXLITE_PULL_NEVER ? BX_PULL_NEVER
										     : BX_PULL_MISSING,
					      &img, err);
	if (rc < 0)
		goto fail_nodir;

	if (o->rootfs) {
		if (asprintf(&box->image, "rootfs:%s", o->rootfs) < 0)
			box->image = NULL;
	} else {
		box->image = strdup(o->image);
	}
	box->name = o->name ? strdup(o->name) : NULL;
	box->env = bx_env_merge((const char *const *)img.env, (const char *const *)o->env);
	box->workdir = strdup(o->workdir ? o->workdir : img.workdir && img.workdir[0] ? img.workdir : "/");
	box->user = o->user ? strdup(o->user) : img.user && img.user[0] ? strdup(img.user) : NULL;
	/* docker: a new entrypoint drops the image's Cmd too. */
	box->main_argv = bx_strv_concat(
		(const char *const *)(o->entrypoint ? o->entrypoint : img.entrypoint),
		(const char *const *)(o->command ? o->command : o->entrypoint ? NULL : img.cmd));
	if (!box->image || (o->name && !box->name) || !box->env || !box->workdir || !box->main_argv ||
	    (o->user && !box->user)) {
		rc = bx_err(err, -ENOMEM, "out of memory");
		goto fail_nodir;
	}

	/* Shared home lock from mkdir to insert: recovery (exclusive) never
	 * sees our directory without its record. */
	if ((rc = bx_lock_home(rt->home, 0, &home_lock, err)) < 0)
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
	if ((rc = open_dir(box, err)) < 0)
		goto fail;
	snprintf(disk, sizeof(disk), "%s/disk.qcow2", box->dir);
	if ((rc = bx_disk_create_overlay(img.base_path, disk, (uint64_t)box->disk_size_gb << 30, err)) < 0) {
		if (box->disk_size_gb)
			bx_err_wrap(err, rc, "setting the disk size to %u GiB", box->disk_size_gb);
		goto fail;
	}

	config = bx_box_config_json(box);
	if (!config) {
		rc = bx_err(err, -ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(box->rec->id, box->id, sizeof(box->id));
	box->rec->name = box->name ? strdup(box->name) : NULL;
	box->rec->image = strdup(box->image);
	box->rec->config = TAKE_PTR(config);
	box->rec->state = BOXLITE_BOX_CONFIGURED;
	box->rec->exit_code = -1;
	box->rec->detached = box->detach;
	box->rec->created_at = bx_now_ns();
	if ((rc = bx_store_insert(rt->store, box->rec, err)) < 0)
		goto fail;
	bx_unlock(&home_lock);
	bx_unlock(&gc_fd);
	bx_image_free(&img);
	*out = box;
	return 0;
fail:
	bx_rm_rf_at(AT_FDCWD, box->dir, NULL);
fail_nodir:
	/* anonymous volumes this call made (their host path was empty) */
	for (size_t i = 0; i < box->nv.n_vols && i < o->nv.n_vols; i++)
		if (!o->nv.vols[i].host[0] && box->nv.vols[i].host[0])
			bx_rm_rf_at(AT_FDCWD, box->nv.vols[i].host, NULL);
	bx_unlock(&home_lock);
	bx_unlock(&gc_fd);
	bx_image_free(&img);
	bx_box_destroy(box);
	return rc;
}

BX_EXPORT int boxlite_box_create(boxlite_runtime *rt, const boxlite_box_options *opts,
				 boxlite_box **out, boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote && opts, bx_remote_create(rt, opts, out, &e_));
	struct bx_error err = { 0 };
	int rc = box_create(rt, opts, out, &err);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT const char *boxlite_box_id(const boxlite_box *box)
{
	if (box && box->remote)
		return bx_remote_box_id(box);
	return box->id;
}

/* ---- start */

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

/* A detached shim must not stay our child (it would be a zombie in a
 * long-lived creator): spawn it from a short-lived middle process, so it is
 * reparented to init (or the nearest subreaper). */
struct spawn_result {
	int rc;
	pid_t pid;
	struct bx_error err;
};

static int spawn_detached(boxlite_box *box, const char *json, struct bx_error *err)
{
	struct spawn_result r = { .rc = -EIO };
	int p[2], status;
	pid_t mid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return bx_err_sys(err, -errno, "pipe");
	mid = fork();
	if (mid < 0) {
		close(p[0]);
		close(p[1]);
		return bx_err_sys(err, -errno, "fork");
	}
	if (mid == 0) {
		int wfd;
		close(p[0]);
		r.rc = bx_shim_spawn(box->rt->shim, box->dir, box->id, json, 1, 1, &r.pid, &wfd, &r.err);
		n = write(p[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	do
		n = read(p[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r))
		return bx_err(err, -EIO, "spawning the shim: the helper process died");
	if (r.rc < 0)
		return bx_err(err, r.rc, "%s", r.err.msg);
	box->shim_pid = r.pid;
	return 0;
}

/* warm: may the box clone a template; *tpl_used gets the template given
 * to the shim (state "" when none). */
static int spawn_shim(boxlite_box *box, int hold, int warm, struct bx_template *tpl_used, struct bx_error *err)
{
	boxlite_runtime *rt = box->rt;
	struct bx_shim_config cfg = { 0 }; /* borrows every string */
	struct bx_error terr = { 0 };      /* why there is no template */
	_cleanup_free_ char *json = NULL;
	char resume[PATH_MAX + 32];
	int rc;

	tpl_used->state[0] = '\0';
	bx_checkpoint_path(box, resume, sizeof(resume));
	bx_checkpoint_sweep(box);
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
	cfg.ports = box->nv.ports;
	cfg.n_ports = box->network ? box->nv.n_ports : 0;
	cfg.volumes = box->nv.vols;
	cfg.n_volumes = box->nv.n_vols;
	cfg.allow_net = box->nv.allow;
	cfg.n_allow_net = box->network ? box->nv.n_allow : 0;
	if ((rc = bx_netvol_check(&box->nv, err)) < 0)
		return rc;
	/* Warm start (the default; BOXLITE_WARM_START=0 turns it off): clone
	 * a booted template instead of booting. The volume count is part of
	 * the shape (their 9p devices); an allow-list changes how QEMU runs:
	 * those boxes boot cold, and so does any box whose template cannot be
	 * made (the shim also boots cold when loading it fails). */
	if (warm && access(resume, R_OK) == 0) {
		/* The box's own checkpoint: it goes on where it was (checkpoint.c). */
		cfg.resume_state = resume;
	} else if (warm && bx_template_enabled() && cfg.n_volumes <= BX_TEMPLATE_VOLUMES_MAX &&
		   cfg.n_allow_net == 0) {
		if (bx_template_get(rt, box->cpus, box->memory_mib, box->network, (unsigned)cfg.n_volumes, tpl_used,
				    &terr) == 0) {
			cfg.template_state = tpl_used->state;
			cfg.template_ram = tpl_used->ram[0] ? tpl_used->ram : NULL;
		} else {
			cfg.template_error = terr.msg; /* logged by the shim */
		}
	}
	cfg.security = box->security == BOXLITE_SECURITY_DEVELOPMENT ? BX_SECURITY_DEVELOPMENT : BX_SECURITY_JAIL;
	/* Removed as soon as it stops, by this process: no graceful shutdown
	 * for a disk about to be deleted. */
	cfg.discard = box->auto_remove && !box->detach;
	cfg.hostname = box->id;
	cfg.has_caps = box->has_caps;
	cfg.caps = box->caps;
	cfg.env = box->env;
	cfg.n_env = bx_strv_len(box->env);
	cfg.ready_timeout_ms = (unsigned)env_int("BOXLITE_READY_TIMEOUT_MS", DEFAULT_READY_TIMEOUT_MS);
	if (box->main_argv && box->main_argv[0]) {
		cfg.main_argv = box->main_argv;
		cfg.main_cwd = box->workdir;
		cfg.main_user = box->user;
		cfg.main_hold = hold;
		cfg.main_close_stdin = hold; /* attach: docker run without -i (the
					      * shim keeps it open for an attach with stdin) */
		cfg.main_tty = box->tty;
		cfg.main_rows = box->tty_rows;
		cfg.main_cols = box->tty_cols;
	}
	if ((rc = bx_shim_config_to_json(&cfg, &json, err)) < 0)
		return rc;

	memset(&box->timings, 0, sizeof(box->timings));
	box->timings.spawn = bx_now_ns();
	if (box->watchdog_fd >= 0) {
		close(box->watchdog_fd);
		box->watchdog_fd = -1;
	}
	if (box->detach)
		rc = spawn_detached(box, json, err);
	else
		rc = bx_shim_spawn(rt->shim, box->dir, box->id, json, 0, 1, &box->shim_pid, &box->watchdog_fd, err);
	explicit_bzero(json, strlen(json)); /* it may hold secrets */
	return rc;
}

static int save(boxlite_box *box, struct bx_error *err)
{
	return bx_store_update_state(box->rt->store, box->rec, err);
}

static void kill_shim(boxlite_box *box)
{
	if (box->shim_pid > 0 && bx_box_shim_alive(box)) {
		kill(-box->shim_pid, SIGKILL);
		kill(box->shim_pid, SIGKILL);
		for (int i = 0; i < 500 && bx_box_shim_alive(box); i++)
			usleep(10000);
	}
	box->shim_pid = 0;
}

/* Did the shim say that cloning the template failed (shim.stderr)? */
static int warm_failed(boxlite_box *box)
{
	char path[PATH_MAX + 16], buf[16384];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/shim.stderr", box->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, BX_WARM_FAILED) != NULL;
}

static int spawn_and_wait(boxlite_box *box, int hold, int warm, struct bx_template *tpl, struct bx_conn **c,
			  struct bx_error *err)
{
	struct bx_box_record *r = box->rec;
	int rc = spawn_shim(box, hold, warm, tpl, err);

	if (rc == 0) {
		r->shim_pid = box->shim_pid;
		bx_proc_starttime(box->shim_pid, &r->shim_starttime);
		rc = save(box, err);
	}
	if (rc == 0)
		rc = bx_conn_open(box, env_int("BOXLITE_READY_TIMEOUT_MS", DEFAULT_READY_TIMEOUT_MS) + 5000, c, err);
	return rc;
}

int bx_box_start_locked(boxlite_box *box, int hold, struct bx_error *err)
{
	struct bx_box_record *r = box->rec;
	char exit_path[PATH_MAX + 8];
	struct bx_template tpl;
	struct bx_conn *c = NULL;
	int rc, resumed;

	if ((rc = bx_box_reconcile_locked(box, err)) < 0)
		return rc;
	if (bx_state_active(r->state))
		return bx_err(err, -EALREADY, "box %s is already %s", box->id, bx_state_name(r->state));
	if ((rc = bx_accel_decide(box->rt, err)) < 0)
		return rc;
	snprintf(exit_path, sizeof(exit_path), "%s/exit", box->dir);
	unlink(exit_path);
	r->state = BOXLITE_BOX_STARTING;
	r->exit_code = -1;
	free(r->reason);
	r->reason = NULL;
	r->shim_pid = 0;
	r->shim_starttime = 0;
	r->started_at = bx_now_ns();
	r->finished_at = 0;
	if ((rc = save(box, err)) < 0)
		return rc;

	resumed = bx_checkpoint_exists(box);
	rc = spawn_and_wait(box, hold, 1, &tpl, &c, err);
	if (rc < 0 && (tpl.state[0] || resumed) && warm_failed(box)) {
		/* A jailed shim cannot boot cold after a failed clone (its first
		 * QEMU was the init of its pid namespace): start it again cold,
		 * and drop the template so that the next start makes a new one
		 * (or the checkpoint that did not load). */
		kill_shim(box);
		if (tpl.state[0])
			bx_template_discard(tpl.state);
		if (resumed)
			bx_checkpoint_drop(box, err->msg);
		bx_err_clear(err);
		rc = spawn_and_wait(box, hold, 0, &tpl, &c, err);
	}
	/* Up from its checkpoint (or cold, should it not have loaded): the
	 * disk moves on, so the checkpoint is used up. */
	if (rc == 0 && resumed)
		bx_checkpoint_drop(box, NULL);
	if (rc < 0) {
		kill_shim(box);
		r->state = BOXLITE_BOX_FAILED;
		r->reason = strdup(err->msg);
		r->shim_pid = 0;
		r->shim_starttime = 0;
		r->finished_at = bx_now_ns();
		save(box, NULL);
		return rc;
	}
	bx_conn_close(c);
	r->state = BOXLITE_BOX_RUNNING;
	return save(box, err);
}

BX_EXPORT int boxlite_box_start(boxlite_box *box, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_start(box, &e_));
	struct bx_error err = { 0 };
	int lock = -1;
	int rc = bx_lock_box(box->rt->home, box->id, &lock, &err);

	if (rc == 0)
		rc = bx_box_start_locked(box, 0, &err);
	bx_unlock(&lock);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

/* exec and copy on a box that is not up. A box without a command of its
 * own runs the image's default as its main command, and waking it is the
 * point of create-then-exec (the reference's SDKs, the CLI's `create` +
 * `exec`): it is started here. A job (created with a command) is not:
 * starting it would run that command, once more if it already ran. */
int bx_box_wake(boxlite_box *box, const char *op, struct bx_error *err)
{
	enum boxlite_box_state st;
	int lock = -1, rc;

	if ((rc = bx_lock_box(box->rt->home, box->id, &lock, err)) < 0)
		return rc;
	if ((rc = bx_box_reconcile_locked(box, err)) < 0)
		goto out;
	st = box->rec->state;
	if (st != BOXLITE_BOX_CONFIGURED && st != BOXLITE_BOX_STOPPED && st != BOXLITE_BOX_FAILED)
		goto out; /* up (or on its way): nothing to wake */
	if (box->job) {
		rc = bx_err(err, -ENOTCONN,
			    "cannot %s box %s: it is %s, and %s; start it explicitly if that is what you want", op,
			    box->id, bx_state_name(st),
			    st == BOXLITE_BOX_CONFIGURED ? "starting it would run its main command"
							 : "its main command has run, and starting the box again would "
							   "run it a second time");
		goto out;
	}
	rc = bx_box_start_locked(box, 0, err);
out:
	bx_unlock(&lock);
	return rc;
}

/* ---- stop */

/* Alive and not a zombie (a zombie child of another process is gone for
 * us: it is that process's to reap). Reaps it when it is our child. */
static int shim_running(boxlite_box *box)
{
	uint64_t st;
	return bx_box_shim_alive(box) && bx_proc_starttime(box->shim_pid, &st) == 0;
}

/* Waits up to ms for the shim to exit. Returns 1 when it is gone. Wakes
 * up when it exits (pidfd), else polls every 10 ms. */
static int wait_shim_gone(boxlite_box *box, int ms)
{
	uint64_t deadline = bx_now_ns() + (uint64_t)ms * 1000000ull;
	int pfd = box->shim_pid > 0 ? (int)syscall(SYS_pidfd_open, box->shim_pid, 0) : -1, gone = 1;

	while (shim_running(box)) {
		uint64_t now = bx_now_ns();
		struct pollfd p = { .fd = pfd, .events = POLLIN };

		if (now >= deadline) {
			gone = 0;
			break;
		}
		if (pfd < 0) {
			usleep(10000);
		} else if (poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1) != 0) {
			/* It exited (or pidfd polling failed): the loop's check
			 * decides, polling from now on. */
			close(pfd);
			pfd = -1;
		}
	}
	if (pfd >= 0)
		close(pfd);
	return gone;
}

static void ask_graceful_shutdown(boxlite_box *box, int timeout_ms, int resume)
{
	struct bx_conn *c = NULL;
	struct bx_error ignored = { 0 };
	struct bxp_header h;
	const uint8_t *p;

	if (bx_conn_open(box, 2000, &c, &ignored) < 0)
		return;
	/* A paused guest cannot shut down: let it run first. */
	if (resume && bx_conn_send(c, 0, BXP_RESUME, 0, NULL, 0, &ignored) == 0)
		while (bx_conn_recv(c, 2000, &h, &p, &ignored) == 0 && !(h.chan == 0 && (h.type == BXP_RESUME || h.type == BXP_ERROR)))
			;
	if (bx_conn_send(c, 0, BXP_SHUTDOWN, 0, NULL, 0, &ignored) == 0) {
		/* The shim closes every connection when the VM is gone. */
		while (bx_conn_recv(c, timeout_ms, &h, &p, &ignored) == 0)
			;
	}
	bx_conn_close(c);
}

int bx_box_stop_locked(boxlite_box *box, uint32_t timeout_ms, struct bx_error *err)
{
	struct bx_box_record *r = box->rec;
	int rc, paused;
	pid_t pid;

	if (!timeout_ms)
		timeout_ms = DEFAULT_STOP_TIMEOUT_MS;
	if ((rc = bx_box_reconcile_locked(box, err)) < 0)
		return rc;
	if (!bx_state_active(r->state))
		goto out;
	paused = r->state == BOXLITE_BOX_PAUSED;
	r->state = BOXLITE_BOX_STOPPING;
	if ((rc = save(box, err)) < 0)
		return rc;
	pid = box->shim_pid;
	if (pid > 0 && bx_box_shim_alive(box)) {
		ask_graceful_shutdown(box, (int)timeout_ms, paused);
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
	if ((rc = bx_box_reconcile_locked(box, err)) < 0)
		return rc;
out:
	box->shim_pid = 0;
	if (box->watchdog_fd >= 0) {
		close(box->watchdog_fd);
		box->watchdog_fd = -1;
	}
	return 0;
}

BX_EXPORT int boxlite_box_stop(boxlite_box *box, uint32_t timeout_ms, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_stop(box, timeout_ms, &e_));
	struct bx_error err = { 0 };
	int lock = -1;
	int rc = bx_lock_box(box->rt->home, box->id, &lock, &err);

	if (rc == 0)
		rc = bx_box_stop_locked(box, timeout_ms, &err);
	bx_unlock(&lock);
	if (rc == -ENOENT)
		rc = 0; /* removed meanwhile: stopped for good */
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

/* ---- remove */

int bx_box_remove_locked(boxlite_box *box, struct bx_error *err)
{
	char lock_path[PATH_MAX + 32];
	int rc;
	int home_lock = -1;

	bx_box_stop_locked(box, 0, NULL);
	kill_shim(box);
	/* Shared home lock: recovery must not see (and delete) our directory
	 * between the record's deletion and ours. */
	if (!box->rt->recovering && (rc = bx_lock_home(box->rt->home, 0, &home_lock, err)) < 0)
		return rc;
	if ((rc = bx_store_delete(box->rt->store, box->id, err)) < 0) {
		bx_unlock(&home_lock);
		return rc;
	}
	box->removed = 1;
	bx_netvol_remove_anonymous(&box->nv, box->rt->home);
	rc = bx_rm_rf_at(AT_FDCWD, box->dir, err);
	bx_unlock(&home_lock);
	/* A waiter on the old lock file re-reads the store and finds no box. */
	snprintf(lock_path, sizeof(lock_path), "%s/locks/%s.lock", box->rt->home, box->id);
	unlink(lock_path);
	return rc;
}

BX_EXPORT int boxlite_box_remove(boxlite_box *box, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_remove(box, &e_));
	struct bx_error err = { 0 };
	boxlite_runtime *rt = box->rt;
	int lock = -1;
	int rc = bx_lock_box(box->rt->home, box->id, &lock, &err);

	if (rc == 0 && !box->removed)
		rc = bx_box_remove_locked(box, &err);
	bx_unlock(&lock);
	bx_box_destroy(box);
	if (rc == 0)
		bx_bases_gc(rt); /* a clone base this box was the last to use */
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT void boxlite_box_free(boxlite_box *box)
{
	if (box && box->remote) {
		bx_remote_box_free(box);
		return;
	}
	if (!box)
		return;
	/* Only the handle that started a non-detached box owns it. */
	if (box->watchdog_fd >= 0 && !box->removed)
		boxlite_box_stop(box, 0, NULL);
	bx_box_destroy(box);
}

BX_EXPORT void boxlite_box_timings(const boxlite_box *box, boxlite_timings *out)
{
	uint32_t size = out->struct_size ? out->struct_size : sizeof(*out);

	if (size > sizeof(*out))
		size = sizeof(*out);
	memcpy(out, &box->timings, size);
	out->struct_size = size;
}
