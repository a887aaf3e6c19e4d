/* Checkpoints of a running box (docs/checkpoints.md): boxlite_box_checkpoint
 * asks the box's shim to save the VM's whole state (RAM, devices) into
 * <box>/checkpoint.state and stop (src/shim/checkpoint.c); the next start
 * hands that file to the shim (resume_state) instead of a template, and the
 * box goes on where it was: its processes, their open files, tmpfs, the
 * main command. The disk stays as the VM left it, so anything that changes
 * the disk of a stopped box (a snapshot restore) drops the checkpoint; a
 * start uses it up. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "box_impl.h"
#include "checkpoint.h"
#include "conn.h"
#include "lock.h"
#include "log.h"
#include "remote.h"

#define CHECKPOINT_TIMEOUT_MS 300000 /* the save writes all of the box's RAM */

void bx_checkpoint_path(const boxlite_box *box, char *out, size_t n)
{
	snprintf(out, n, "%s/checkpoint.state", box->dir);
}

int bx_checkpoint_exists(const boxlite_box *box)
{
	char p[PATH_MAX + 32];
	bx_checkpoint_path(box, p, sizeof(p));
	return access(p, F_OK) == 0;
}

void bx_checkpoint_sweep(const boxlite_box *box)
{
	char p[PATH_MAX + 32];
	snprintf(p, sizeof(p), "%s/checkpoint.state.tmp", box->dir);
	unlink(p);
}

void bx_checkpoint_drop(const boxlite_box *box, const char *why)
{
	char p[PATH_MAX + 32];

	bx_checkpoint_path(box, p, sizeof(p));
	if (unlink(p) == 0 && why)
		bx_warn("box %s: its checkpoint could not be resumed (%s): it booted from its disk", box->id, why);
}

BX_EXPORT int boxlite_box_checkpoint(boxlite_box *box, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_checkpoint(box, &e_));
	struct bx_error err = { 0 };
	struct bx_conn *c = NULL;
	int lock = -1, rc;

	if (!box)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = bx_lock_box(box->rt->home, box->id, &lock, &err)) < 0 ||
	    (rc = bx_box_reconcile_locked(box, &err)) < 0)
		goto out;
	if (box->rec->state != BOXLITE_BOX_RUNNING && box->rec->state != BOXLITE_BOX_PAUSED) {
		rc = bx_err(&err, -ENOTCONN, "box %s is %s: only a running box can be checkpointed", box->id,
			    bx_state_name(box->rec->state));
		goto out;
	}
	if ((rc = bx_conn_open(box, 5000, &c, &err)) < 0 ||
	    (rc = bx_conn_request(c, BXP_CHECKPOINT, NULL, 0, CHECKPOINT_TIMEOUT_MS, "checkpointing the box", &err)) < 0)
		goto out;
	bx_conn_close(c);
	c = NULL;
	/* Saved: the shim kills QEMU and goes; the box settles as stopped. */
	rc = bx_box_stop_locked(box, 10000, &err);
out:
	bx_conn_close(c);
	bx_unlock(&lock);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}
