/* boxlite_box_stats_get: a running box's resource use. Host side from /proc
 * of its shim and the shim's children (QEMU, helpers); guest side from the
 * agent's PONG (guest memory and uptime, docs/protocol.md), which the shim
 * forwards to us. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box_impl.h"
#include "remote.h"
#include "cleanup.h"
#include "conn.h"
#include "proc.h"

#define PONG_TIMEOUT_MS 2000
#define MAX_CHILDREN 64

/* Fields 4 (ppid), 14 (utime) and 15 (stime) of /proc/PID/stat. */
static int read_stat(pid_t pid, pid_t *ppid, uint64_t *ticks)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	int pp = 0;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (bx_proc_read_text(path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	/* comm (field 2) may hold spaces and parentheses: count from the last ')'. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &pp, &ut, &st) != 3)
		return -EINVAL;
	if (ppid)
		*ppid = pp;
	if (ticks)
		*ticks = ut + st;
	return 0;
}

/* Adds pid's CPU time and resident memory to *out. */
static void add_process(pid_t pid, boxlite_box_stats *out)
{
	char path[64], buf[256];
	unsigned long long pages;
	uint64_t ticks;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);

	if (read_stat(pid, NULL, &ticks) == 0 && hz > 0)
		out->host_cpu_ns += ticks * (1000000000ull / (uint64_t)hz);
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if (bx_proc_read_text(path, buf, sizeof(buf)) > 0 && sscanf(buf, "%*u %llu", &pages) == 1 && page > 0)
		out->host_rss_bytes += pages * (uint64_t)page;
}

/* The shim's children from /proc/PID/task/PID/children (the shim is single
 * threaded), else by scanning /proc for processes whose parent it is. */
static size_t shim_children(pid_t shim, pid_t *out, size_t cap)
{
	char path[96], buf[1024];
	const char *p = buf;
	size_t n = 0;
	int child, used;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)shim, (int)shim);
	if (bx_proc_read_text(path, buf, sizeof(buf)) >= 0) {
		while (n < cap && sscanf(p, "%d%n", &child, &used) == 1) {
			p += used;
			out[n++] = child;
		}
		return n;
	}
	if (!(d = opendir("/proc")))
		return 0;
	while (n < cap && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		pid_t ppid;

		if (*end || pid <= 0 || pid == shim)
			continue;
		if (read_stat((pid_t)pid, &ppid, NULL) == 0 && ppid == shim)
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

static void read_pong(const uint8_t *p, size_t len, boxlite_box_stats *out)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint64_t v;

	bxp_reader_init(&r, p, len);
	while (bxp_next(&r, &f) == 1) {
		if (bxp_field_u64(&f, &v) < 0)
			continue;
		switch (f.tag) {
		case BXT_T_EVENT: out->guest_uptime_ns = v; break;
		case BXT_GUEST_MEM_TOTAL: out->guest_mem_total_bytes = v; break;
		case BXT_GUEST_MEM_AVAILABLE: out->guest_mem_available_bytes = v; break;
		}
	}
}

/* Connects (the shim's HELLO refreshes box->timings) and, unless the guest
 * is paused, asks the agent for a PONG. No answer in time leaves the guest
 * fields 0: the host side is still worth reporting. */
static int guest_side(boxlite_box *box, int ping, boxlite_box_stats *out, struct bx_error *err)
{
	struct bx_conn *c = NULL;
	uint64_t deadline;
	int rc;

	if ((rc = bx_conn_open(box, PONG_TIMEOUT_MS, &c, err)) < 0)
		return rc;
	if (!ping || bx_conn_send(c, 0, BXP_PING, 0, NULL, 0, err) < 0) {
		bx_err_clear(err);
		goto out;
	}
	deadline = bx_now_ns() + PONG_TIMEOUT_MS * 1000000ull;
	for (;;) {
		struct bxp_header h;
		const uint8_t *p;
		int64_t left = (int64_t)(deadline - bx_now_ns()) / 1000000;

		if (left < 0 || bx_conn_recv(c, (int)left, &h, &p, err) < 0) {
			bx_err_clear(err);
			break;
		}
		if (h.chan != 0)
			continue;
		if (h.type == BXP_PONG) {
			read_pong(p, h.len, out);
			break;
		}
		if (h.type == BXP_ERROR)
			break; /* the box is stopping */
	}
out:
	bx_conn_close(c);
	return 0;
}

static int stats_get(boxlite_box *box, boxlite_box_stats *out, struct bx_error *err)
{
	pid_t children[MAX_CHILDREN], shim;
	enum boxlite_box_state state;
	size_t n;
	int rc;

	if ((rc = bx_box_reconcile(box, err)) < 0)
		return rc;
	state = box->rec->state;
	shim = box->rec->shim_pid;
	if ((state != BOXLITE_BOX_RUNNING && state != BOXLITE_BOX_PAUSED) || shim <= 0)
		return bx_err(err, -ENOTCONN, "box %s is %s, not running", box->id, bx_state_name(state));
	if (box->shim_pid <= 0)
		box->shim_pid = shim;
	add_process(shim, out);
	n = shim_children(shim, children, MAX_CHILDREN);
	for (size_t i = 0; i < n; i++)
		add_process(children[i], out);
	return guest_side(box, state == BOXLITE_BOX_RUNNING, out, err);
}

BX_EXPORT int boxlite_box_stats_get(boxlite_box *box, boxlite_box_stats *out, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote && out, bx_remote_stats(box, out, &e_));
	struct bx_error err = { 0 };
	boxlite_box_stats st = { .struct_size = sizeof(st) };
	uint32_t size;
	int rc;

	if (!box || !out)
		return bx_error_export(bx_err(&err, -EINVAL, "bad arguments to boxlite_box_stats_get"), &err,
				       BOXLITE_ORIGIN_RUNTIME, errp);
	size = out->struct_size && out->struct_size < sizeof(st) ? out->struct_size : (uint32_t)sizeof(st);
	if ((rc = stats_get(box, &st, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	st.timings = box->timings;
	st.timings.struct_size = sizeof(st.timings);
	st.struct_size = size;
	memcpy(out, &st, size);
	return 0;
}
