/* A box's state: the store's record, reconciled with the processes that
 * really run (a shim that died leaves the box stopped or failed, from the
 * exit file it wrote), and what the API reports of it: info, list, inspect,
 * wait. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "box_impl.h"
#include "remote.h"
#include "caps.h"
#include "clone.h"
#include "disk.h"
#include "snapshot.h"
#include "cleanup.h"
#include "conn.h"
#include "lock.h"
#include "proc.h"
#include "strv.h"

BX_EXPORT const char *boxlite_box_state_name(enum boxlite_box_state state)
{
	return bx_state_name(state);
}

static int refresh(boxlite_box *box, struct bx_error *err)
{
	struct bx_box_record fresh;
	int rc = bx_store_get(box->rt->store, box->id, &fresh, err);

	if (rc == -ENOENT)
		box->removed = 1;
	if (rc < 0)
		return rc;
	bx_box_record_clear(box->rec);
	*box->rec = fresh;
	return 0;
}

/* "<stopped|failed> <code> <reason>" (shim/main_cmd.c). 0 when read. */
static int read_exit_file(const boxlite_box *box, enum boxlite_box_state *state, int *code, char *reason,
			  size_t cap)
{
	char path[PATH_MAX + 8], line[600], st[16];
	_cleanup_fclose_ FILE *f = NULL;
	int n = 0;

	snprintf(path, sizeof(path), "%s/exit", box->dir);
	if (!(f = fopen(path, "re")) || !fgets(line, sizeof(line), f))
		return -ENOENT;
	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%15s %d %n", st, code, &n) < 2)
		return -EINVAL;
	*state = !strcmp(st, "failed") ? BOXLITE_BOX_FAILED : BOXLITE_BOX_STOPPED;
	snprintf(reason, cap, "%s", n > 0 ? line + n : "");
	return 0;
}

/* A box that does not run: its disk back in its resting layout, and what a
 * snapshot or clone cut short left, settled (disk_live.c, snapshot.c). */
static void settle_disk(boxlite_box *box)
{
	bx_disk_settle(box->dir);
	bx_snapshot_recover(box->rt, box->dir, box->id, 0, NULL);
	bx_clone_recover(box->rt, box->dir, 0);
}

int bx_box_reconcile_locked(boxlite_box *box, struct bx_error *err)
{
	struct bx_box_record *r = box->rec;
	enum boxlite_box_state end;
	char reason[700], tail[512];
	uint64_t starttime;
	pid_t pid;
	int rc, code;

	if (box->removed)
		return bx_err(err, -ENOENT, "box %s was removed", box->id);
	if ((rc = refresh(box, err)) < 0)
		return rc;
	r = box->rec;
	if (!bx_state_active(r->state)) {
		settle_disk(box);
		return 0;
	}
	pid = r->shim_pid;
	starttime = r->shim_starttime;
	if (pid <= 0 && bx_proc_read_pidfile(box->dir, &pid, &starttime) < 0)
		pid = 0;
	if (pid > 0) {
		box->shim_pid = pid;
		if (bx_box_shim_alive(box) && bx_proc_is_shim(pid, starttime, box->id)) {
			/* We hold the lock, so whoever was starting or stopping it
			 * died midway: the shim runs, so the box does (should it
			 * fail or stop, its exit file will tell). */
			if (r->shim_pid == pid && (r->state == BOXLITE_BOX_RUNNING || r->state == BOXLITE_BOX_PAUSED))
				return 0;
			if (r->state == BOXLITE_BOX_STARTING || r->state == BOXLITE_BOX_STOPPING)
				r->state = BOXLITE_BOX_RUNNING;
			r->shim_pid = pid;
			r->shim_starttime = starttime;
			return bx_store_update_state(box->rt->store, r, err);
		}
	}
	/* The shim is gone: settle the box. */
	box->shim_pid = 0;
	if (read_exit_file(box, &end, &code, reason, sizeof(reason)) == 0) {
		if (r->state == BOXLITE_BOX_STOPPING && end == BOXLITE_BOX_FAILED)
			end = BOXLITE_BOX_STOPPED; /* it was asked to stop */
	} else if (r->state == BOXLITE_BOX_STOPPING) {
		end = BOXLITE_BOX_STOPPED;
		code = -1;
		snprintf(reason, sizeof(reason), "stopped");
	} else {
		end = BOXLITE_BOX_FAILED;
		code = -1;
		bx_box_log_tail(box, tail, sizeof(tail));
		if (!strstr(tail, "error"))
			tail[0] = '\0'; /* the last line says nothing about the end */
		snprintf(reason, sizeof(reason), "its shim exited unexpectedly (killed?)%s%s", tail[0] ? ": " : "",
			 tail);
	}
	r->state = end;
	r->exit_code = code;
	free(r->reason);
	r->reason = strdup(reason);
	r->shim_pid = 0;
	r->shim_starttime = 0;
	r->finished_at = bx_now_ns();
	if (box->watchdog_fd >= 0) {
		close(box->watchdog_fd);
		box->watchdog_fd = -1;
	}
	if ((rc = bx_store_update_state(box->rt->store, r, err)) < 0)
		return rc;
	if (box->auto_remove)
		bx_box_remove_locked(box, NULL); /* keeps box->rec: the final state */
	else
		settle_disk(box);
	return 0;
}

int bx_box_reconcile(boxlite_box *box, struct bx_error *err)
{
	int lock = -1, rc;

	if (box->removed)
		return 0;
	rc = bx_trylock_box(box->rt->home, box->id, &lock, err);
	if (rc < 0)
		return rc;
	/* Someone is changing the box right now: report what the store says. */
	rc = rc == 1 ? bx_box_reconcile_locked(box, err) : refresh(box, err);
	bx_unlock(&lock);
	return rc;
}

/* box: the loaded box for its config (cpus, memory), or NULL. */
static void fill_info(boxlite_box_info *info, const struct bx_box_record *r, const boxlite_box *box)
{
	uint32_t size = info->struct_size ? info->struct_size : sizeof(*info);
	boxlite_box_info full = {
		.struct_size = size > sizeof(full) ? (uint32_t)sizeof(full) : size,
		.id = r->id,
		.name = r->name ? r->name : "",
		.image = r->image ? r->image : "",
		.reason = r->reason ? r->reason : "",
		.state = r->state,
		.exit_code = r->exit_code,
		.shim_pid = r->shim_pid,
		.qemu_pid = r->shim_pid > 0 ? bx_proc_qemu_child(r->shim_pid) : 0,
		.detached = r->detached,
		.created_at = r->created_at,
		.started_at = r->started_at,
		.finished_at = r->finished_at,
		.cpus = box ? box->cpus : 0,
		.memory_mib = box ? box->memory_mib : 0,
		.auto_remove = box ? box->auto_remove : 0,
	};
	memcpy(info, &full, full.struct_size);
}

BX_EXPORT int boxlite_box_info_get(boxlite_box *box, boxlite_box_info *info, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_info(box, info, &e_));
	struct bx_error err = { 0 };
	int rc = bx_box_reconcile(box, &err);

	if (rc < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	bx_box_record_clear(box->info_rec);
	if (bx_box_record_copy(box->info_rec, box->rec) < 0)
		return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	fill_info(info, box->info_rec, box);
	return 0;
}

BX_EXPORT void boxlite_box_info_list_free(boxlite_box_info *infos, size_t count)
{
	for (size_t i = 0; infos && i < count; i++) {
		free((char *)infos[i].id);
		free((char *)infos[i].name);
		free((char *)infos[i].image);
		free((char *)infos[i].reason);
	}
	free(infos);
}

BX_EXPORT int boxlite_runtime_list_boxes(boxlite_runtime *rt, boxlite_box_info **out, size_t *count,
					 boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_list(rt, out, count, &e_));
	struct bx_error err = { 0 };
	struct bx_box_record *recs = NULL;
	boxlite_box_info *v;
	size_t n = 0, len = 0;
	int rc;

	*out = NULL;
	*count = 0;
	if ((rc = bx_store_list(rt->store, &recs, &n, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		bx_box_records_free(recs, n);
		return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	}
	for (size_t i = 0; i < n; i++) {
		boxlite_box *box = NULL;
		boxlite_box_info *info = &v[len];

		if (bx_box_load(rt, &recs[i], &box, NULL) == 0 && bx_box_reconcile(box, NULL) == 0 && !box->removed)
			fill_info(info, box->rec, box);
		else if (!box)
			fill_info(info, &recs[i], NULL); /* unreadable config: show the record */
		else {
			bx_box_destroy(box);
			continue;
		}
		info->struct_size = sizeof(*info);
		info->id = strdup(info->id);
		info->name = strdup(info->name);
		info->image = strdup(info->image);
		info->reason = strdup(info->reason);
		len++;
		bx_box_destroy(box);
		if (!info->id || !info->name || !info->image || !info->reason) {
			bx_box_records_free(recs, n);
			boxlite_box_info_list_free(v, len);
			return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
		}
	}
	bx_box_records_free(recs, n);
	*out = v;
	*count = len;
	return 0;
}

/* ---- wait */

static void wait_for_pid(pid_t pid, int ms)
{
	int fd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;

	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, ms);
		close(fd);
	} else {
		usleep((useconds_t)(ms > 100 ? 100 : ms) * 1000);
	}
}

BX_EXPORT int boxlite_box_wait(boxlite_box *box, uint32_t timeout_ms, int32_t *exit_code, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_wait(box, timeout_ms, exit_code, &e_));
	struct bx_error err = { 0 };
	uint64_t deadline = bx_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		int rc = box->removed ? 0 : bx_box_reconcile(box, &err);
		enum boxlite_box_state s = box->rec->state;
		int ms = 1000;

		if (rc < 0)
			return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
		if (s == BOXLITE_BOX_STOPPED || s == BOXLITE_BOX_FAILED) {
			if (exit_code)
				*exit_code = box->rec->exit_code;
			return 0;
		}
		if (box->removed)
			return bx_error_export(bx_err(&err, -ENOENT, "box %s was removed", box->id), &err,
					       BOXLITE_ORIGIN_RUNTIME, errp);
		if (timeout_ms) {
			int64_t left = (int64_t)(deadline - bx_now_ns()) / 1000000;
			if (left <= 0)
				return bx_error_export(bx_err(&err, -ETIMEDOUT, "box %s still %s after %u ms", box->id,
							      bx_state_name(s), timeout_ms),
						       &err, BOXLITE_ORIGIN_RUNTIME, errp);
			if (left < ms)
				ms = (int)left;
		}
		/* A settled shim is gone; a starting box may not have one yet. */
		wait_for_pid(bx_state_active(s) && s != BOXLITE_BOX_STARTING ? box->rec->shim_pid : 0, ms);
	}
}

/* ---- inspect */

static json_t *time_json(uint64_t ns)
{
	char buf[64];
	struct tm tm;
	time_t t = (time_t)(ns / 1000000000ull);

	if (!ns)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03uZ", (unsigned)(ns / 1000000 % 1000));
	return json_string(buf);
}

static json_t *path_json(const boxlite_box *box, const char *name)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", box->dir, name);
	return json_string(p);
}

BX_EXPORT int boxlite_box_ports(boxlite_box *box, char **out, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, (*out = strdup("")) ? 0 : -ENOMEM);
	if (!box || !out)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	*out = bx_netvol_ports_text(&box->nv);
	if (!*out)
		return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	return 0;
}

BX_EXPORT int boxlite_box_inspect(boxlite_box *box, char **out, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_inspect(box, out, &e_));
	boxlite_box_info info = { .struct_size = sizeof(info) };
	json_t *env, *cmd, *o;
	int rc = boxlite_box_info_get(box, &info, errp);

	*out = NULL;
	if (rc < 0)
		return rc;
	env = json_array();
	/* Values may be secrets: keys only. */
	for (size_t i = 0; env && box->env && box->env[i]; i++) {
		char *kv = box->env[i], *eq = strchr(kv, '=');
		char *masked = NULL;
		if (asprintf(&masked, "%.*s=***", eq ? (int)(eq - kv) : (int)strlen(kv), kv) < 0)
			break;
		json_array_append_new(env, json_string(masked));
		free(masked);
	}
	cmd = json_array();
	for (size_t i = 0; cmd && box->main_argv && box->main_argv[i]; i++)
		json_array_append_new(cmd, json_string(box->main_argv[i]));
	o = json_pack("{s:s, s:s?, s:s, s:s, s:i, s:s, "
		      "s:{s:i, s:i, s:i, s:s, s:b, s:b, s:o, s:o, s:s, s:s?}, "
		      "s:{s:i, s:i}, "
		      "s:{s:s, s:o, s:o, s:o, s:o, s:o}, "
		      "s:{s:o, s:o, s:o}}",
		      "id", info.id, "name", info.name[0] ? info.name : NULL, "image", info.image,
		      "state", bx_state_name(info.state), "exit_code", (int)info.exit_code, "reason", info.reason,
		      "config", "cpus", (int)box->cpus, "memory_mib", (int)box->memory_mib, "disk_size_gb",
		      (int)box->disk_size_gb, "network", box->network ? "user" : "none", "detach", box->detach,
		      "auto_remove", box->auto_remove, "env", env, "command", cmd, "workdir", box->workdir,
		      "user", box->user,
		      "pids", "shim", (int)info.shim_pid, "qemu", (int)info.qemu_pid,
		      "paths", "dir", box->dir, "console_log", path_json(box, "console.log"), "main_log",
		      path_json(box, "main.log"), "shim_log", path_json(box, "shim.stderr"), "exit_file",
		      path_json(box, "exit"), "socket", path_json(box, "box.sock"),
		      "timings", "created", time_json(info.created_at), "started", time_json(info.started_at),
		      "finished", time_json(info.finished_at));
	if (o && (bx_netvol_to_json(&box->nv, json_object_get(o, "config")) < 0 ||
		  json_object_set_new(json_object_get(o, "config"), "capabilities",
				      bx_caps_to_json(box->has_caps ? box->caps : BX_CAPS_ALL)) < 0)) {
		json_decref(o);
		o = NULL;
	}
	/* The reference CLI's fields first (scripts read {{.State.Status}},
	 * {{.State.ExitCode}}, {{.Id}}, {{.Name}}): Pid is the shim's, the
	 * process whose life is the box's; ExitCode 0 until there is one. */
	if (o) {
		json_t *ref = json_pack("{s:s, s:s, s:s, s:o, s:s, s:{s:s, s:b, s:i, s:i}, s:i, s:I}", "Id", info.id,
					"Name", info.name, "Image", info.image, "Created", time_json(info.created_at),
					"Status", bx_state_name(info.state), "State", "Status",
					bx_state_name(info.state), "Running", info.state == BOXLITE_BOX_RUNNING, "Pid",
					(int)info.shim_pid, "ExitCode", info.exit_code > 0 ? (int)info.exit_code : 0,
					"Cpus", (int)box->cpus, "Memory", (json_int_t)box->memory_mib << 20);

		if (!ref || json_object_update(ref, o) < 0) {
			json_decref(ref);
			ref = NULL;
		}
		json_decref(o);
		o = ref;
	}
	if (o)
		*out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!*out)
		return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	return 0;
}
