/* The live disk switch (docs/protocol.md "Live disk switch"): a client's
 * DISK_SNAPSHOT makes a prepared empty overlay the top of the running
 * box's disk, so what the disk held until now stays as it is (a snapshot
 * or a clone base) and what the guest writes from now on lands in the
 * overlay. The guest's root is frozen around the switch (FSFREEZE/FSTHAW
 * to the agent) so what stays behind is a clean filesystem; a paused box,
 * or an agent that does not answer in FREEZE_WAIT_MS, gets the switch
 * without the freeze (crash-consistent, as the reference's best effort).
 *
 * One switch at a time; the client's request waits in s->disk while the
 * agent freezes. The files are the library's: it made the overlay, whose
 * backing file name already names the current top's new (hard-linked) name,
 * so nothing QEMU has open is renamed. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qmp.h"
#include "shim.h"

#define FREEZE_WAIT_MS 5000
#define QMP_MS 10000
#define DISK_LIVE "disk.live"

/* The overlay must be a plain file name in the box directory (the shim's
 * cwd and the same path inside the jail). */
static int valid_overlay(const struct shim *s, const char *path)
{
	size_t n = strlen(s->cfg.box_dir);
	const char *name = path + n + 1;

	return !strncmp(path, s->cfg.box_dir, n) && path[n] == '/' && name[0] && name[0] != '.' &&
	       !strchr(name, '/') && strlen(name) < 200;
}

/* The new top's record, written whole before the switch (so a full disk
 * fails the request, not the record of a switch made) and put in place by
 * one rename after it: where the library and the next start look. */
static int record_prepare(const char *overlay, struct bx_error *err)
{
	int fd = open(DISK_LIVE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(overlay);

	if (fd < 0)
		return bx_err_sys(err, -errno, DISK_LIVE ".tmp");
	if (write(fd, overlay, n) != (ssize_t)n || fsync(fd) < 0) {
		int e = errno ? errno : EIO;
		close(fd);
		unlink(DISK_LIVE ".tmp");
		return bx_err(err, -e, "writing " DISK_LIVE ": %s", strerror(e));
	}
	close(fd);
	return 0;
}

static int switch_disk(struct shim *s, struct bx_error *err)
{
	struct bx_error ignored = { 0 };
	char node[32];
	int rc;

	if ((rc = record_prepare(s->disk.overlay, err)) < 0)
		return rc;
	snprintf(node, sizeof(node), "top-%u", ++s->disk.seq);
	/* backing: null: the overlay's backing is the node below, attached by
	 * blockdev-snapshot; QEMU must not open that file a second time. */
	rc = bx_qmp_call(QMP_SOCK,
		      json_pack("{s:s, s:{s:s, s:s, s:{s:s, s:s}, s:n}}", "execute", "blockdev-add", "arguments",
				"driver", "qcow2", "node-name", node, "file", "driver", "file", "filename",
				s->disk.overlay, "backing"),
		      NULL, QMP_MS, err);
	if (rc == 0) {
		rc = bx_qmp_call(QMP_SOCK,
			      json_pack("{s:s, s:{s:s, s:s}}", "execute", "blockdev-snapshot", "arguments", "node",
					"root", "overlay", node),
			      NULL, QMP_MS, err);
		if (rc < 0)
			bx_qmp_call(QMP_SOCK,
				 json_pack("{s:s, s:{s:s}}", "execute", "blockdev-del", "arguments", "node-name", node),
				 NULL, QMP_MS, &ignored);
	}
	if (rc < 0) {
		unlink(DISK_LIVE ".tmp");
		return rc;
	}
	if (rename(DISK_LIVE ".tmp", DISK_LIVE) < 0)
		return bx_err_sys(err, -errno, "the disk was switched, but renaming " DISK_LIVE);
	return 0;
}

static void finish(struct shim *s)
{
	struct bx_error err = { 0 };
	uint8_t buf[32];
	struct bxp_writer w;
	int rc = switch_disk(s, &err);

	if (s->disk.frozen)
		agent_send(s, 0, BXP_FSTHAW, 0, NULL, 0);
	bx_info("client %u: disk switched to %s%s%s%s", s->disk.client, s->disk.overlay,
		s->disk.frozen ? " (guest frozen)" : " (guest not frozen)", rc < 0 ? ": " : "", err.msg);
	if (rc < 0) {
		mux_reply_error(s, s->disk.client, -rc, err.msg);
	} else {
		bxp_writer_init(&w, buf, sizeof(buf));
		bxp_put_u32(&w, BXT_FROZEN, (uint32_t)s->disk.frozen);
		mux_reply(s, s->disk.client, BXP_DISK_SNAPSHOT, buf, w.len);
	}
	s->disk.busy = 0;
	s->disk.frozen = 0;
}

void disk_snapshot_request(struct shim *s, unsigned client, const uint8_t *p, size_t len)
{
	struct bxp_reader r;
	struct bxp_field f;
	char overlay[PATH_MAX] = "";

	bxp_reader_init(&r, p, len);
	while (bxp_next(&r, &f) == 1)
		if (f.tag == BXT_DISK_OVERLAY)
			bxp_field_str(&f, overlay, sizeof(overlay));
	if (!overlay[0]) { /* a probe: is a switch under way? */
		if (s->disk.busy)
			mux_reply_error(s, client, EBUSY, "a switch of the disk is under way");
		else
			mux_reply(s, client, BXP_DISK_SNAPSHOT, NULL, 0);
		return;
	}
	if (!valid_overlay(s, overlay)) {
		mux_reply_error(s, client, EINVAL, "DISK_SNAPSHOT: the overlay must be a file in the box directory");
		return;
	}
	if (s->disk.busy) {
		mux_reply_error(s, client, EBUSY, "another snapshot of this box is being taken");
		return;
	}
	if (s->boot != BOOT_READY || s->stop != STOP_NONE || s->done) {
		mux_reply_error(s, client, ESHUTDOWN, "the box is not running");
		return;
	}
	s->disk.busy = 1;
	s->disk.frozen = 0;
	s->disk.client = client;
	snprintf(s->disk.overlay, sizeof(s->disk.overlay), "%s", overlay);
	/* A paused guest cannot freeze: its vCPUs do not run. */
	if (s->paused || agent_send(s, 0, BXP_FSFREEZE, 0, NULL, 0) < 0) {
		finish(s);
		return;
	}
	s->disk.deadline = mono_ns() + FREEZE_WAIT_MS * 1000000ull;
}

int disk_from_agent(struct shim *s, const struct bxp_header *h, const uint8_t *p)
{
	struct bxp_reader r;
	struct bxp_field f;
	uint32_t e = EIO;
	char msg[256] = "";

	bxp_reader_init(&r, p, h->len);
	while (bxp_next(&r, &f) == 1) {
		if (f.tag == BXT_ERRNO)
			bxp_field_u32(&f, &e);
		else if (f.tag == BXT_MESSAGE)
			bxp_field_str(&f, msg, sizeof(msg));
	}
	if (h->type == BXP_FSTHAW) {
		if (e)
			bx_warn("guest: thawing the root filesystem: %s", msg);
		return 0;
	}
	if (!s->disk.busy || !s->disk.deadline) {
		/* Late: the switch went ahead without it. */
		if (e == 0)
			agent_send(s, 0, BXP_FSTHAW, 0, NULL, 0);
		return 0;
	}
	s->disk.deadline = 0;
	s->disk.frozen = e == 0;
	if (e)
		bx_warn("guest: freezing the root filesystem: %s (the snapshot is crash-consistent only)", msg);
	finish(s);
	return 0;
}

uint64_t disk_deadline(const struct shim *s)
{
	return s->disk.busy && s->disk.deadline ? s->disk.deadline : UINT64_MAX;
}

void disk_tick(struct shim *s)
{
	if (s->disk.busy && s->disk.deadline && mono_ns() >= s->disk.deadline) {
		bx_warn("guest: no answer to FSFREEZE in %u ms: switching the disk without it", FREEZE_WAIT_MS);
		s->disk.deadline = 0;
		finish(s);
	}
}
