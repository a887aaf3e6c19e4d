/* Copying files in and out of a box: a tar stream over an exec-like session
 * (EXEC with COPY_IN / COPY_OUT, run by the agent's own tar streamer), with
 * the same flow control as any command's stdin/stdout. The host side writes
 * and reads the tar with src/tar; extraction on the host stays beneath the
 * destination (a hostile guest cannot make it write elsewhere). */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bxtar.h"
#include "exec_internal.h"
#include "remote.h"
#include "protocol.h"

static int sock_write(void *ctx, const void *buf, size_t n)
{
	return bx_exec_write_all(*(int *)ctx, buf, n);
}

/* Reads the session's stderr (the guest's error message) and its status. */
static int finish(boxlite_exec *x, const char *what, const char *path, int local_rc,
		  const struct bxtar_err *le, struct bx_error *err)
{
	char msg[1024];
	size_t ml = 0;
	int fd = boxlite_exec_stderr_fd(x);
	boxlite_exit_status st = { -1, 0 };
	boxlite_error *we = NULL;
	int rc;

	boxlite_exec_close_stdin(x);
	for (;;) {
		ssize_t n = read(fd, msg + ml, sizeof(msg) - 1 - ml);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ml += (size_t)n;
		if (ml == sizeof(msg) - 1) {
			char sink[4096];
			while (read(fd, sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	msg[ml] = '\0';
	while (ml && msg[ml - 1] == '\n')
		msg[--ml] = '\0';
	rc = boxlite_exec_wait(x, -1, &st, &we);
	if (rc < 0) {
		rc = bx_err(err, rc, "%s %s: %s", what, path, boxlite_error_message(we));
		boxlite_error_free(we);
		return rc;
	}
	if (st.exit_code > 0)
		return bx_err(err, st.exit_code < 126 ? -st.exit_code : -EIO, "%s: %s", what,
			      ml ? msg : "the box's copy helper failed");
	if (local_rc < 0)
		return bx_err(err, local_rc, "%s: %s", what, le->msg[0] ? le->msg : strerror(-local_rc));
	if (st.exit_code != 0)
		return bx_err(err, -EIO, "%s %s: the box's copy helper was killed by signal %d", what, path,
			      st.signal);
	return 0;
}

/* BXP_COPY_* flags, plus COPY_SINGLE; fields the caller's struct_size does
 * not cover are off. */
#define COPY_SINGLE 0x100u
static unsigned copy_flags(const boxlite_copy_options *o)
{
	unsigned f = 0;
	if (!o)
		return 0;
	if (o->struct_size >= offsetof(boxlite_copy_options, no_overwrite) + sizeof(o->no_overwrite))
		f |= (o->follow_symlinks ? BXP_COPY_FOLLOW : 0) | (o->no_overwrite ? BXP_COPY_NO_OVERWRITE : 0);
	if (o->struct_size >= offsetof(boxlite_copy_options, single_entry) + sizeof(o->single_entry))
		f |= o->single_entry ? COPY_SINGLE : 0;
	return f;
}

static int start_copy(boxlite_box *box, uint16_t tag, const char *guest_path, int single, unsigned flags,
		      boxlite_exec **x, struct bx_error *err)
{
	struct bx_exec_extra ex = { .copy_tag = tag, .copy_path = guest_path, .copy_single = single,
				    .copy_flags = flags };
	enum boxlite_error_origin origin;

	if (!guest_path || !guest_path[0])
		return bx_err(err, -EINVAL, "no path in the box given");
	return bx_exec_start(box, NULL, &ex, x, &origin, err);
}

static int copy_in(boxlite_box *box, const char *host_path, int tar_fd, const char *guest_path, unsigned flags,
		   struct bx_error *err)
{
	struct bxtar_err le = { 0 };
	boxlite_exec *x;
	int io_fd;
	char what[64];
	int rc, lrc = 0;

	if (host_path && access(host_path, F_OK) < 0 && errno != EACCES)
		return bx_err_sys(err, -errno, "%s", host_path);
	/* Following is done here, on the host; keeping existing files there. */
	rc = start_copy(box, BXT_COPY_IN, guest_path, host_path != NULL || (flags & COPY_SINGLE),
			flags & BXP_COPY_NO_OVERWRITE, &x, err);
	if (rc < 0)
		return rc;
	io_fd = boxlite_exec_stdin_fd(x);
	if (host_path) {
		lrc = bxtar_create_ex(AT_FDCWD, 0, host_path, flags & BXP_COPY_FOLLOW ? BXTAR_FOLLOW : 0, sock_write,
				      &io_fd, &le);
	} else {
		static __thread char buf[65536];
		for (;;) {
			ssize_t n = read(tar_fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				lrc = -errno;
				snprintf(le.msg, sizeof(le.msg), "reading the tar stream: %s", strerror(errno));
				break;
			}
			if (n == 0 || (lrc = bx_exec_write_all(io_fd, buf, (size_t)n)) < 0)
				break;
		}
	}
	if (lrc < 0 && lrc != -EPIPE) {
		/* Our side failed: stop the guest before it sees a clean end. */
		boxlite_exec_signal(x, 9);
	}
	snprintf(what, sizeof(what), "copying into box %s", box->id);
	rc = finish(x, what, guest_path, lrc, &le, err);
	boxlite_exec_free(x);
	return rc;
}

static int copy_out(boxlite_box *box, const char *guest_path, const char *host_path, int tar_fd, unsigned flags,
		    struct bx_error *err)
{
	struct bxtar_err le = { 0 };
	boxlite_exec *x;
	int io_fd;
	char rename[256], what[64];
	int rc, lrc, dirfd = -1;

	if (host_path && bxtar_target(AT_FDCWD, 0, host_path, 1, &dirfd, rename, &le) < 0)
		return bx_err(err, le.code, "copying from box %s: %s", box ? box->id : "?", le.msg);
	rc = start_copy(box, BXT_COPY_OUT, guest_path, 0, flags & BXP_COPY_FOLLOW, &x, err);
	if (rc < 0) {
		if (dirfd >= 0)
			close(dirfd);
		return rc;
	}
	boxlite_exec_close_stdin(x);
	io_fd = boxlite_exec_stdout_fd(x);
	if (host_path) {
		lrc = bxtar_extract(dirfd, rename, bxtar_fd_read, &io_fd,
				    (geteuid() == 0 ? BXTAR_CHOWN : 0) | (flags & BXP_COPY_NO_OVERWRITE ? BXTAR_NO_OVERWRITE : 0),
				    &le);
		close(dirfd);
	} else {
		static __thread char buf[65536];
		for (lrc = 0;;) {
			ssize_t n = bxtar_fd_read(&io_fd, buf, sizeof(buf));
			if (n <= 0) {
				lrc = (int)n;
				break;
			}
			if ((lrc = bxtar_fd_write(&tar_fd, buf, (size_t)n)) < 0) {
				snprintf(le.msg, sizeof(le.msg), "writing the tar stream: %s", strerror(-lrc));
				break;
			}
		}
	}
	if (lrc < 0) {
		/* Drain nothing more: end the guest side. */
		boxlite_exec_signal(x, 9);
		shutdown(io_fd, SHUT_RD);
	} else {
		char sink[4096];
		while (bxtar_fd_read(&io_fd, sink, sizeof(sink)) > 0)
			;
	}
	snprintf(what, sizeof(what), "copying out of box %s", box->id);
	rc = finish(x, what, guest_path, lrc, &le, err);
	boxlite_exec_free(x);
	return rc;
}

BX_EXPORT int boxlite_box_copy_in_ex(boxlite_box *box, const char *host_path, const char *guest_path,
				     const boxlite_copy_options *opts, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_copy_in(box, host_path, -1, guest_path, opts, &e_));
	struct bx_error err = { 0 };
	int rc;

	if (!host_path || !host_path[0])
		rc = bx_err(&err, -EINVAL, "no host path given");
	else
		rc = copy_in(box, host_path, -1, guest_path, copy_flags(opts), &err);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_box_copy_in(boxlite_box *box, const char *host_path, const char *guest_path,
				  boxlite_error **errp)
{
	return boxlite_box_copy_in_ex(box, host_path, guest_path, NULL, errp);
}

BX_EXPORT int boxlite_box_copy_in_tar_ex(boxlite_box *box, int tar_fd, const char *guest_dir,
					 const boxlite_copy_options *opts, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_copy_in(box, NULL, tar_fd, guest_dir, opts, &e_));
	struct bx_error err = { 0 };
	int rc = copy_in(box, NULL, tar_fd, guest_dir, copy_flags(opts), &err);

	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_box_copy_in_tar(boxlite_box *box, int tar_fd, const char *guest_dir,
				      boxlite_error **errp)
{
	return boxlite_box_copy_in_tar_ex(box, tar_fd, guest_dir, NULL, errp);
}

BX_EXPORT int boxlite_box_copy_out_ex(boxlite_box *box, const char *guest_path, const char *host_path,
				      const boxlite_copy_options *opts, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_copy_out(box, guest_path, host_path, -1, opts, &e_));
	struct bx_error err = { 0 };
	int rc;

	if (!host_path || !host_path[0])
		rc = bx_err(&err, -EINVAL, "no host path given");
	else
		rc = copy_out(box, guest_path, host_path, -1, copy_flags(opts), &err);
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_box_copy_out(boxlite_box *box, const char *guest_path, const char *host_path,
				   boxlite_error **errp)
{
	return boxlite_box_copy_out_ex(box, guest_path, host_path, NULL, errp);
}

BX_EXPORT int boxlite_box_copy_out_tar_ex(boxlite_box *box, const char *guest_path, int tar_fd,
					  const boxlite_copy_options *opts, boxlite_error **errp)
{
	BX_REMOTE(box && box->remote, bx_remote_copy_out(box, guest_path, NULL, tar_fd, opts, &e_));
	struct bx_error err = { 0 };
	int rc = copy_out(box, guest_path, NULL, tar_fd, copy_flags(opts), &err);

	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_box_copy_out_tar(boxlite_box *box, const char *guest_path, int tar_fd,
				       boxlite_error **errp)
{
	return boxlite_box_copy_out_tar_ex(box, guest_path, tar_fd, NULL, errp);
}
