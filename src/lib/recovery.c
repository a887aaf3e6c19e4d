/* Recovery at runtime open, under the exclusive home lock (so no box is
 * half-created meanwhile): boxes whose shim died are settled (stopped with
 * the exit file's code, or failed), records whose directory is gone are
 * dropped, directories with no record are deleted (their shim killed if it
 * still runs). The report says what was done. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box_impl.h"
#include "lock.h"
#include "proc.h"
#include "clone.h"
#include "export.h"
#include "snapshot.h"

struct report {
	char *text;
	size_t len;
};

static void __attribute__((format(printf, 2, 3))) note(struct report *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	char *n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len >= (int)sizeof(line))
		len = sizeof(line) - 1;
	n = realloc(r->text, r->len + (size_t)len + 2);
	if (!n)
		return;
	r->text = n;
	memcpy(r->text + r->len, line, (size_t)len);
	r->len += (size_t)len;
	r->text[r->len++] = '\n';
	r->text[r->len] = '\0';
}

static int is_box_id(const char *s)
{
	if (strlen(s) != 12)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z')))
			return 0;
	return 1;
}

static void settle_records(boxlite_runtime *rt, struct bx_box_record *recs, size_t n, struct report *rep)
{
	for (size_t i = 0; i < n; i++) {
		struct bx_box_record *r = &recs[i];
		char dir[PATH_MAX + 32];
		boxlite_box *box = NULL;
		struct stat sb;

		snprintf(dir, sizeof(dir), "%s/boxes/%s", rt->home, r->id);
		if (stat(dir, &sb) < 0 && errno == ENOENT) {
			if (bx_store_delete(rt->store, r->id, NULL) == 0)
				note(rep, "dropped the record of box %s: its directory was gone", r->id);
			continue;
		}
		if (bx_snapshot_recover(rt, dir, r->id, 0, NULL) > 0)
			note(rep, "box %s: undid a snapshot cut short", r->id);
		if (bx_clone_recover(rt, dir, 0) > 0)
			note(rep, "box %s: undid a clone cut short", r->id);
		if (!bx_state_active(r->state) || bx_box_load(rt, r, &box, NULL) < 0)
			continue;
		if (bx_box_reconcile(box, NULL) == 0 && box->rec->state != r->state)
			note(rep, "box %s: its shim was gone: %s -> %s (%s)%s", r->id, bx_state_name(r->state),
			     bx_state_name(box->rec->state), box->rec->reason ? box->rec->reason : "",
			     box->removed ? ", removed (auto-remove)" : "");
		bx_box_destroy(box);
	}
}

static int has_record(const struct bx_box_record *recs, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(recs[i].id, id))
			return 1;
	return 0;
}

static void clean_dirs(boxlite_runtime *rt, const struct bx_box_record *recs, size_t n, struct report *rep)
{
	char boxes[PATH_MAX + 16];
	struct dirent *de;
	DIR *d;

	snprintf(boxes, sizeof(boxes), "%s/boxes", rt->home);
	if (!(d = opendir(boxes)))
		return;
	while ((de = readdir(d))) {
		char dir[PATH_MAX + 32];
		uint64_t starttime;
		pid_t pid;

		if (de->d_name[0] == '.' || has_record(recs, n, de->d_name))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", boxes, de->d_name);
		if (is_box_id(de->d_name) && bx_proc_read_pidfile(dir, &pid, &starttime) == 0 &&
		    bx_proc_is_shim(pid, starttime, de->d_name)) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			note(rep, "killed the shim (pid %d) of unrecorded box %s", (int)pid, de->d_name);
		}
		if (bx_rm_rf_at(dirfd(d), de->d_name, NULL) == 0)
			note(rep, "deleted the directory of unrecorded box %s", de->d_name);
	}
	closedir(d);
}

int bx_recover(boxlite_runtime *rt, char **report, struct bx_error *err)
{
	struct report rep = { 0 };
	struct bx_box_record *recs = NULL;
	size_t n = 0;
	int lock = -1, rc;

	*report = NULL;
	if ((rc = bx_lock_home(rt->home, 1, &lock, err)) < 0)
		return rc;
	rt->recovering = 1;
	if ((rc = bx_store_list(rt->store, &recs, &n, err)) == 0) {
		settle_records(rt, recs, n, &rep);
		clean_dirs(rt, recs, n, &rep);
		bx_tmp_sweep(rt);
	}
	rt->recovering = 0;
	bx_unlock(&lock);
	bx_box_records_free(recs, n);
	if (rc < 0) {
		free(rep.text);
		return rc;
	}
	*report = rep.text ? rep.text : strdup("");
	return *report ? 0 : bx_err(err, -ENOMEM, "out of memory");
}
