/* Talking to a running box's shim about the box itself: attaching to the
 * main command's output (ATTACH), pause and unpause (QMP stop/cont through
 * the shim). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "box_impl.h"
#include "remote.h"
#include "conn.h"
#include "exec_internal.h"
#include "lock.h"

#define ATTACH_CHAN 1

/* Starts the box (holding the main command for us) unless it runs. */
static int ensure_running(boxlite_box *box, struct bx_error *err)
{
	int lock = -1, rc = bx_lock_box(box->rt->home, box->id, &lock, err);

	if (rc == 0)
		rc = bx_box_reconcile_locked(box, err);
	if (rc == 0 && !bx_state_active(box->rec->state))
		rc = bx_box_start_locked(box, 1, err);
	bx_unlock(&lock);
	return rc;
}

static int attach_run(boxlite_box *box, boxlite_output_fn output, void *ud, boxlite_exit_status *st,
		      enum boxlite_error_origin *origin, struct bx_error *err)
{
	struct bx_conn *c = NULL;
	int rc;

	if (!box->main_argv || !box->main_argv[0])
		return bx_err(err, -ENOENT, "box %s has no main command (the image defines none)", box->id);
	if ((rc = ensure_running(box, err)) < 0)
		return rc;
	if ((rc = bx_conn_open(box, 5000, &c, err)) < 0)
		goto settled;
	box->timings.exec_start = bx_now_ns();
	box->timings.exec_started = box->timings.exec_exit = 0;
	if ((rc = bx_conn_send(c, ATTACH_CHAN, BXP_ATTACH, 0, NULL, 0, err)) < 0)
		goto out;
	for (;;) {
		struct bxp_header h;
		const uint8_t *p;

		rc = bx_conn_recv(c, -1, &h, &p, err);
		if (rc == -ECONNRESET)
			goto settled;
		if (rc < 0)
			goto out;
		if (h.chan != ATTACH_CHAN)
			continue;
		if (h.type == BXP_DATA && (h.stream == BXP_STDOUT || h.stream == BXP_STDERR) && output && h.len)
			output(ud, (enum boxlite_stream)h.stream, p, h.len);
		else if (h.type == BXP_EXEC_STARTED)
			box->timings.exec_started = bx_now_ns();
		else if (h.type == BXP_EXIT) {
			box->timings.exec_exit = bx_now_ns();
			bx_exec_parse_exit(p, h.len, st);
			rc = 0;
			goto out;
		} else if (h.type == BXP_ERROR) {
			char msg[512];
			int e;
			bx_conn_parse_error(p, h.len, &e, msg, sizeof(msg));
			if (e != EIO)
				*origin = BOXLITE_ORIGIN_EXEC; /* the main command could not start */
			rc = bx_err(err, -e, "%s", msg);
			goto out;
		}
	}
settled:
	/* The box ended before (or while) we listened: its record says how. */
	bx_conn_close(c);
	c = NULL;
	bx_err_clear(err);
	if ((rc = bx_box_reconcile(box, err)) < 0)
		return rc;
	if (!bx_state_active(box->rec->state) && box->rec->exit_code >= 0) {
		st->exit_code = box->rec->exit_code;
		st->signal = 0;
		return 0;
	}
	rc = bx_err(err, -EIO, "box %s stopped before its main command ended%s%s", box->id,
		    box->rec->reason ? ": " : "", box->rec->reason ? box->rec->reason : "");
out:
	bx_conn_close(c);
	return rc;
}

BX_EXPORT int boxlite_box_attach(boxlite_box *box, boxlite_output_fn output, void *user_data,
				 boxlite_exit_status *status, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	enum boxlite_error_origin origin = BOXLITE_ORIGIN_RUNTIME;
	boxlite_exit_status st = { -1, 0 };
	int rc;

	if (box && box->remote) {
		/* Through an attach handle: the server has no other way. */
		boxlite_exec *x;
		if ((rc = boxlite_box_attach_start(box, 0, &x, errp)) < 0)
			return rc;
		bx_exec_drain(x, output, user_data);
		rc = boxlite_exec_wait(x, -1, status, errp);
		boxlite_exec_free(x);
		return rc;
	}
	rc = attach_run(box, output, user_data, &st, &origin, &err);

	if (rc < 0)
		return bx_error_export(rc, &err, origin, errp);
	if (status)
		*status = st;
	return 0;
}

BX_EXPORT int boxlite_box_attach_start(boxlite_box *box, uint32_t flags, boxlite_exec **out,
				       boxlite_error **errp)
{
	struct bx_error err = { 0 };
	enum boxlite_error_origin origin = BOXLITE_ORIGIN_RUNTIME;
	struct bx_exec_extra extra = { .attach = 1, .attach_stdin = !!(flags & BOXLITE_ATTACH_STDIN) };
	int rc;

	if (!box || !out || (flags & ~BOXLITE_ATTACH_STDIN))
		rc = bx_err(&err, -EINVAL, "bad arguments to boxlite_box_attach_start");
	else if (box->remote) /* the server boots it and answers 404 without a main command */
		rc = bx_remote_exec_start(box, NULL, 1 | (extra.attach_stdin ? 2 : 0), out, &origin, &err);
	else if (!box->main_argv || !box->main_argv[0])
		rc = bx_err(&err, -ENOENT, "box %s has no main command (the image defines none)", box->id);
	else if ((rc = ensure_running(box, &err)) == 0)
		rc = bx_exec_start(box, NULL, &extra, out, &origin, &err);
	return rc < 0 ? bx_error_export(rc, &err, origin, errp) : 0;
}

static int set_paused(boxlite_box *box, int pause, struct bx_error *err)
{
	enum boxlite_box_state from = pause ? BOXLITE_BOX_RUNNING : BOXLITE_BOX_PAUSED;
	uint16_t type = pause ? BXP_PAUSE : BXP_RESUME;
	struct bx_conn *c = NULL;
	int lock = -1, rc;

	if ((rc = bx_lock_box(box->rt->home, box->id, &lock, err)) < 0)
		return rc;
	if ((rc = bx_box_reconcile_locked(box, err)) < 0)
		goto out;
	if (box->rec->state != from) {
		rc = bx_err(err, -ENOTCONN, "box %s is %s, not %s", box->id, bx_state_name(box->rec->state),
			    bx_state_name(from));
		goto out;
	}
	if ((rc = bx_conn_open(box, 5000, &c, err)) < 0 ||
	    (rc = bx_conn_request(c, type, NULL, 0, 10000, pause ? "pausing box" : "resuming box", err)) < 0)
		goto out;
	box->rec->state = pause ? BOXLITE_BOX_PAUSED : BOXLITE_BOX_RUNNING;
	rc = bx_store_update_state(box->rt->store, box->rec, err);
out:
	bx_conn_close(c);
	bx_unlock(&lock);
	return rc;
}

BX_EXPORT int boxlite_box_pause(boxlite_box *box, boxlite_error **errp)
{
	BX_REMOTE(box->rt && box->rt->remote, bx_remote_unsupported(&e_, "pausing a box"));
	struct bx_error err = { 0 };
	int rc = set_paused(box, 1, &err);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_box_unpause(boxlite_box *box, boxlite_error **errp)
{
	BX_REMOTE(box->rt && box->rt->remote, bx_remote_unsupported(&e_, "unpausing a box"));
	struct bx_error err = { 0 };
	int rc = set_paused(box, 0, &err);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}
