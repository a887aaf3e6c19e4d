/* Snapshots and clones of a running box (docs/protocol.md "Live disk
 * switch"). QEMU must keep finding every file it has open under the name it
 * opened it by, so nothing is renamed while the box runs: the current top
 * gets a second name (a hard link: snapshots/<id>/disk.qcow2 or
 * <home>/bases/<id>.qcow2), an empty overlay disk.<id>.qcow2 backed by that
 * name is made, and the shim makes it the live top (DISK_SNAPSHOT) and
 * records its path in disk.live. Once the box has stopped, bx_disk_settle
 * renames the top back to disk.qcow2, where the next start looks; the old
 * top keeps its other name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box_impl.h"
#include "conn.h"
#include "disk.h"
#include "qcow2.h"
#include "snapshot.h"

#define DISK_LIVE "disk.live"
#define SWITCH_TIMEOUT_MS 30000 /* the freeze waits for the guest's dirty data */

/* disk.live's path when it names an existing file in box_dir, else NULL. */
static int read_live(const char *box_dir, char *out, size_t n)
{
	char p[PATH_MAX];
	ssize_t len;
	int fd;

	snprintf(p, sizeof(p), "%s/" DISK_LIVE, box_dir);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	len = read(fd, out, n - 1);
	close(fd);
	if (len <= 0)
		return 0;
	out[len] = 0;
	return !strncmp(out, box_dir, strlen(box_dir)) && out[strlen(box_dir)] == '/' && access(out, F_OK) == 0;
}

void bx_disk_top(const char *box_dir, char *out, size_t n)
{
	if (!read_live(box_dir, out, n))
		snprintf(out, n, "%s/disk.qcow2", box_dir);
}

/* disk.<8 id chars>.qcow2: an overlay of a live switch. */
static int is_switch_overlay(const char *name)
{
	return strlen(name) == 5 + 8 + 6 && !strncmp(name, "disk.", 5) && !strcmp(name + 13, ".qcow2");
}

void bx_disk_settle(const char *box_dir)
{
	char live[PATH_MAX], disk[PATH_MAX], p[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(p, sizeof(p), "%s/" DISK_LIVE, box_dir);
	if (access(p, F_OK) < 0)
		return;
	snprintf(disk, sizeof(disk), "%s/disk.qcow2", box_dir);
	/* The top back where a start looks (a crash after this and before the
	 * unlink below finds disk.live naming a file that is gone). */
	if (read_live(box_dir, live, sizeof(live)) && rename(live, disk) < 0)
		return; /* tried again at the next settle */
	unlink(p);
	/* The tops it replaced keep their snapshot or base names; overlays of a
	 * switch that never happened go. */
	if ((d = opendir(box_dir))) {
		while ((de = readdir(d)))
			if (is_switch_overlay(de->d_name))
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
}

int bx_disk_switch_idle(boxlite_box *box, struct bx_error *err)
{
	struct bx_conn *c = NULL;
	int rc;

	if ((rc = bx_conn_open(box, 5000, &c, err)) < 0)
		return rc;
	/* DISK_SNAPSHOT without an overlay: answered at once, EBUSY while a
	 * switch is under way (at most the freeze wait and two QMP calls). */
	for (int i = 0; i < SWITCH_TIMEOUT_MS / 50; i++) {
		bx_err_clear(err);
		rc = bx_conn_request(c, BXP_DISK_SNAPSHOT, NULL, 0, SWITCH_TIMEOUT_MS, "asking the shim", err);
		if (rc != -EBUSY)
			break;
		nanosleep(&(struct timespec){ 0, 50 * 1000000 }, NULL);
	}
	bx_conn_close(c);
	return rc == -EBUSY ? bx_err(err, -ETIMEDOUT, "the box's shim is still switching its disk") : rc;
}

int bx_disk_switch_live(boxlite_box *box, const char *keep_as, const char *id, struct bx_error *err)
{
	char top[PATH_MAX], overlay[PATH_MAX], backing[PATH_MAX], live[PATH_MAX];
	uint8_t buf[PATH_MAX + 64];
	struct bxp_writer w;
	struct bx_conn *c = NULL;
	struct stat st;
	uint64_t size;
	int rc;

	bx_disk_top(box->dir, top, sizeof(top));
	snprintf(overlay, sizeof(overlay), "%s/disk.%s.qcow2", box->dir, id);
	if ((rc = bx_qcow2_read_header(top, &size, backing, sizeof(backing), err)) < 0 ||
	    (rc = bx_qcow2_create_overlay(overlay, keep_as, "qcow2", size, err)) < 0)
		return rc;
	/* QEMU runs as the owner of the box directory (docs/security.md). */
	if (stat(box->dir, &st) == 0 && chown(overlay, st.st_uid, st.st_gid) < 0 && errno != EPERM) {
		rc = bx_err_sys(err, -errno, "chown %s", overlay);
		unlink(overlay);
		return rc;
	}
	if (link(top, keep_as) < 0) {
		rc = bx_err_sys(err, -errno, "linking %s to %s", top, keep_as);
		unlink(overlay);
		return rc;
	}
	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_str(&w, BXT_DISK_OVERLAY, overlay);
	if ((rc = bx_conn_open(box, 5000, &c, err)) == 0)
		rc = bx_conn_request(c, BXP_DISK_SNAPSHOT, buf, w.len, SWITCH_TIMEOUT_MS, "switching the live disk", err);
	bx_conn_close(c);
	/* disk.live is the shim's word on whether QEMU writes to the overlay. */
	if (read_live(box->dir, live, sizeof(live)) && !strcmp(live, overlay)) {
		bx_err_clear(err);
		chmod(keep_as, 0444);
		return 0;
	}
	if (rc == 0)
		rc = bx_err(err, -EIO, "the box's shim did not record the switched disk");
	unlink(keep_as);
	unlink(overlay);
	return rc;
}
