/* Checkpoints (docs/checkpoints.md): a client's CHECKPOINT saves the
 * running VM's whole state (RAM, devices) into checkpoint.state in the box
 * directory and stops the box; the next start loads it (cfg.resume_state)
 * instead of booting, and the guest's processes go on where they were.
 *
 * The state is written to checkpoint.state.tmp through an fd QEMU gets with
 * getfd (its sandbox forbids exec: URIs), synced, and renamed: a kill -9
 * midway leaves the temporary only, never a checkpoint that is half there.
 * The migration stops the vCPUs and flushes and lets go of the disk, so
 * QEMU is then killed at once. x-ignore-shared is turned off: the stream
 * carries all of the RAM, also a warm-started box's (whose RAM began as a
 * template's file). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qmp.h"
#include "shim.h"

#define CHECKPOINT_FILE "checkpoint.state"
#define SAVE_TIMEOUT_MS 300000u /* a large box under TCG writes GiBs */

static int save(struct bx_error *err)
{
	int fd = open(CHECKPOINT_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;
	struct bx_qmp q;

	if (fd < 0)
		return bx_err_sys(err, -errno, CHECKPOINT_FILE ".tmp");
	if ((rc = bx_qmp_open(&q, QMP_SOCK, SAVE_TIMEOUT_MS, NULL, NULL, err)) == 0) {
		rc = bx_qmp_save_state(&q, fd, 0, err);
		bx_qmp_close(&q);
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = bx_err_sys(err, -errno, "writing " CHECKPOINT_FILE);
	close(fd);
	if (rc == 0 && rename(CHECKPOINT_FILE ".tmp", CHECKPOINT_FILE) < 0)
		rc = bx_err_sys(err, -errno, "naming " CHECKPOINT_FILE);
	if (rc < 0)
		unlink(CHECKPOINT_FILE ".tmp");
	return rc;
}

void checkpoint_request(struct shim *s, unsigned client)
{
	struct bx_error err = { 0 };
	uint64_t t0 = mono_ns();
	int rc;

	if (s->boot != BOOT_READY || s->stop != STOP_NONE || s->done) {
		mux_reply_error(s, client, ESHUTDOWN, "the box is not running");
		return;
	}
	if (s->disk.busy) {
		mux_reply_error(s, client, EBUSY, "a snapshot of this box is being taken");
		return;
	}
	if ((rc = save(&err)) < 0) {
		struct bx_error e2 = { 0 };
		/* The VM may have been stopped for the save: let it run again. */
		if (!s->paused)
			bx_qmp_call(QMP_SOCK, json_pack("{s:s}", "execute", "cont"), NULL, 5000, &e2);
		bx_warn("checkpoint failed: %s", err.msg);
		mux_reply_error(s, client, -rc, err.msg);
		return;
	}
	bx_info("checkpoint saved (%.1f ms)", (mono_ns() - t0) / 1e6);
	mux_reply(s, client, BXP_CHECKPOINT, NULL, 0);
	mux_flush(s);
	main_cmd_checkpointed(s);
	shim_stop(s, &stop_discard, "checkpointed");
}
