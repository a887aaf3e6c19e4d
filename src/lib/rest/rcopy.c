/* Copies to and from a remote box, and its logs: tar streams over PUT/GET .../files,
 * made and unpacked on this host with the same code and the same docker cp
 * rules as local copies (bxtar), streamed through a pipe (no temporary
 * files, nothing held whole in memory). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bxtar.h"
#include "internal.h"
#include "remote.h"
#include "rest.h"

/* "/boxes/ID/files?path=P&NAME=VALUE" with P escaped. */
static char *files_path(boxlite_box *box, const char *guest_path, const char *flag, int value)
{
	char *esc = curl_easy_escape(NULL, guest_path, 0), *p = NULL;
	if (!esc)
		return NULL;
	if (asprintf(&p, "/boxes/%s/files?path=%s&%s=%s", bx_remote_box_id(box), esc, flag, value ? "true" : "false") < 0)
		p = NULL;
	curl_free(esc);
	return p;
}

struct maker {
	const char *host_path;
	unsigned flags;
	int fd;
	int rc;
	struct bxtar_err e;
};

static void *make_tar(void *arg)
{
	struct maker *m = arg;
	m->rc = bxtar_create_ex(AT_FDCWD, 0, m->host_path, m->flags, bxtar_fd_write, &m->fd, &m->e);
	close(m->fd);
	return NULL;
}

int bx_remote_copy_in(boxlite_box *box, const char *host_path, int tar_fd, const char *guest_path,
		      const boxlite_copy_options *o, struct bx_error *err)
{
	int no_overwrite = o && o->struct_size >= offsetof(boxlite_copy_options, single_entry) && o->no_overwrite;
	int follow = o && o->struct_size >= offsetof(boxlite_copy_options, single_entry) && o->follow_symlinks;
	char *path;
	int rc, pfd[2];

	if (!guest_path || guest_path[0] != '/')
		return bx_err(err, -EINVAL, "the path in the box must be absolute (got \"%s\")", guest_path ? guest_path : "");
	if (!(path = files_path(box, guest_path, "overwrite", !no_overwrite)))
		return bx_err(err, -ENOMEM, "out of memory");
	if (tar_fd >= 0) {
		rc = bx_rest_put_fd(box->rt->remote, path, "application/x-tar", tar_fd, err);
	} else {
		struct maker m = { .host_path = host_path, .flags = follow ? BXTAR_FOLLOW : 0 };
		pthread_t t;

		if (access(host_path, F_OK) < 0 && errno != EACCES) {
			free(path);
			return bx_err_sys(err, -errno, "%s", host_path);
		}
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			free(path);
			return bx_err_sys(err, -errno, "pipe");
		}
		m.fd = pfd[1];
		if ((rc = pthread_create(&t, NULL, make_tar, &m)) != 0) {
			close(pfd[0]);
			close(pfd[1]);
			free(path);
			return bx_err(err, -rc, "cannot start a thread");
		}
		rc = bx_rest_put_fd(box->rt->remote, path, "application/x-tar", pfd[0], err);
		close(pfd[0]); /* a tar maker still writing sees EPIPE */
		pthread_join(t, NULL);
		if (m.rc < 0 && m.rc != -EPIPE) {
			bx_err_clear(err);
			rc = bx_err(err, m.rc, "copying %s: %s", host_path, m.e.msg);
		}
	}
	free(path);
	return rc;
}

struct getter {
	boxlite_box *box;
	const char *path;
	int fd;
	int rc;
	struct bx_error err;
};

static void *get_tar(void *arg)
{
	struct getter *g = arg;
	g->rc = bx_rest_get_fd(g->box->rt->remote, g->path, g->fd, &g->err);
	close(g->fd);
	return NULL;
}

int bx_remote_copy_out(boxlite_box *box, const char *guest_path, const char *host_path, int tar_fd,
		       const boxlite_copy_options *o, struct bx_error *err)
{
	int follow = o && o->struct_size >= offsetof(boxlite_copy_options, single_entry) && o->follow_symlinks;
	int no_overwrite = o && o->struct_size >= offsetof(boxlite_copy_options, single_entry) && o->no_overwrite;
	struct getter g = { .box = box };
	struct bxtar_err le = { 0 };
	char rename[256];
	pthread_t t;
	int rc, dirfd = -1, pfd[2];

	if (!guest_path || guest_path[0] != '/')
		return bx_err(err, -EINVAL, "the path in the box must be absolute (got \"%s\")", guest_path ? guest_path : "");
	if (!(g.path = files_path(box, guest_path, "follow_symlinks", follow)))
		return bx_err(err, -ENOMEM, "out of memory");
	if (tar_fd >= 0) {
		rc = bx_rest_get_fd(box->rt->remote, g.path, tar_fd, err);
		free((char *)g.path);
		return rc;
	}
	if (bxtar_target(AT_FDCWD, 0, host_path, 1, &dirfd, rename, &le) < 0) {
		free((char *)g.path);
		return bx_err(err, le.code, "copying from box %s: %s", bx_remote_box_id(box), le.msg);
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		close(dirfd);
		free((char *)g.path);
		return bx_err_sys(err, -errno, "pipe");
	}
	g.fd = pfd[1];
	if ((rc = pthread_create(&t, NULL, get_tar, &g)) != 0) {
		close(pfd[0]);
		close(pfd[1]);
		close(dirfd);
		free((char *)g.path);
		return bx_err(err, -rc, "cannot start a thread");
	}
	rc = bxtar_extract(dirfd, rename, bxtar_fd_read, &pfd[0],
			   (geteuid() == 0 ? BXTAR_CHOWN : 0) | (no_overwrite ? BXTAR_NO_OVERWRITE : 0), &le);
	close(pfd[0]);
	close(dirfd);
	pthread_join(t, NULL);
	free((char *)g.path);
	if (g.rc < 0) /* the server's error says more than a torn stream */
		return bx_err(err, g.rc, "%s", g.err.msg);
	if (rc < 0)
		return bx_err(err, le.code ? le.code : rc, "copying from box %s: %s", bx_remote_box_id(box), le.msg);
	return 0;
}

int bx_remote_logs(boxlite_box *box, int console, int fd, struct bx_error *err)
{
	char *path = NULL;
	int rc;

	if (asprintf(&path, "/boxes/%s/logs?console=%s", bx_remote_box_id(box), console ? "true" : "false") < 0)
		return bx_err(err, -ENOMEM, "out of memory");
	rc = bx_rest_get_fd(box->rt->remote, path, fd, err);
	free(path);
	return rc;
}
