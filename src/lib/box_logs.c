/* boxlite_box_logs: the main command's output (main.log, after its rotated
 * part main.log.1) or the guest console, as the box's shim keeps them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "remote.h"

/* Any fd: a file, a pipe, a socket (write(2), not send(2)). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copies file path to fd; 1 when it existed, 0 when not, -errno. */
static int copy_file(const char *path, int fd, struct bx_error *err)
{
	char buf[65536];
	int in = open(path, O_RDONLY | O_CLOEXEC), rc = 1;
	ssize_t n;

	if (in < 0)
		return errno == ENOENT ? 0 : bx_err_sys(err, -errno, "%s", path);
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (rc = write_all(fd, buf, (size_t)n)) < 0) {
			rc = n < 0 ? bx_err_sys(err, -errno, "reading %s", path) : bx_err(err, rc, "writing the log: %s", strerror(-rc));
			break;
		}
		rc = 1;
	}
	close(in);
	return rc;
}

BX_EXPORT int boxlite_box_logs(boxlite_box *box, int console, int fd, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_logs(box, console, fd, &e_));
	struct bx_error err = { 0 };
	char path[PATH_MAX + 32];
	int rc = 0, any = 0;

	if (!box || fd < 0)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	if (!console) {
		snprintf(path, sizeof(path), "%s/main.log.1", box->dir);
		if ((rc = copy_file(path, fd, &err)) > 0)
			any = 1;
	}
	if (rc >= 0) {
		snprintf(path, sizeof(path), "%s/%s", box->dir, console ? "console.log" : "main.log");
		if ((rc = copy_file(path, fd, &err)) > 0)
			any = 1;
	}
	if (rc >= 0 && !any)
		rc = bx_err(&err, -ENODATA, "box %s has no %s yet (it has not run)", box->id,
			    console ? "console log" : "output");
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}
