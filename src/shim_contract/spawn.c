/* Library side of the shim contract: spawn boxlite-shim with its config on
 * stdin, its log in the box directory and (non-detached) a watchdog pipe. */
#include "shim_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Moves fd to a number >= 4 so that the child's dup2 onto 0..3 can never
 * clobber another source (a caller may run with 0..2 closed). */
static int fd_above_3(int *fd)
{
	int nfd;

	if (*fd > 3)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 4);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

struct env_list {
	char *v[8];
	size_t n;
	int oom;
};

static void env_add(struct env_list *e, const char *key, const char *value)
{
	char *s;

	if (e->n + 1 >= sizeof(e->v) / sizeof(e->v[0]) || asprintf(&s, "%s=%s", key, value) < 0) {
		e->oom = 1;
		return;
	}
	e->v[e->n++] = s;
	e->v[e->n] = NULL;
}

static void env_free(struct env_list *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

/* Writes all of buf to a pipe without ever raising SIGPIPE in the caller:
 * SIGPIPE is blocked in this thread and a SIGPIPE we caused is consumed. */
static int write_all_nosigpipe(int fd, const char *buf, size_t len)
{
	sigset_t pipe_set, old, pending;
	int was_pending, rc = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	if (rc == -EPIPE && !was_pending) {
		const struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int bx_shim_spawn(const char *shim_path, const char *box_dir, const char *box_id,
		  const char *config_json, int detach, int jail_tmp, pid_t *pid_out, int *watchdog_wfd,
		  struct bx_error *err)
{
	_cleanup_close_ int err_fd = -1, in_r = -1, in_w = -1, wd_r = -1, wd_w = -1;
	char path[PATH_MAX], tmp_dir[PATH_MAX];
	char *const argv[] = { (char *)shim_path, NULL };
	struct env_list env = { .n = 0 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	const char *v;
	pid_t pid;
	int p[2], rc, status;

	*pid_out = -1;
	*watchdog_wfd = -1;
	if (!shim_path || !box_dir || !box_id || !config_json)
		return bx_err(err, -EINVAL, "shim spawn: missing argument");
	if ((size_t)snprintf(path, sizeof(path), "%s/shim.stderr", box_dir) >= sizeof(path) ||
	    (size_t)snprintf(tmp_dir, sizeof(tmp_dir), "%s/tmp", box_dir) >= sizeof(tmp_dir))
		return bx_err(err, -ENAMETOOLONG, "shim spawn: box directory path too long");

	/* Before the child exists, so that even a loader error is captured. */
	err_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	if (err_fd < 0)
		return bx_err_sys(err, -errno, "creating %s", path);
	if (jail_tmp && mkdir(tmp_dir, 0700) < 0 && errno != EEXIST)
		return bx_err_sys(err, -errno, "creating %s", tmp_dir);
	if (pipe2(p, O_CLOEXEC) < 0)
		return bx_err_sys(err, -errno, "shim spawn: config pipe");
	in_r = p[0];
	in_w = p[1];
	if (!detach) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return bx_err_sys(err, -errno, "shim spawn: watchdog pipe");
		wd_r = p[0];
		wd_w = p[1];
	}
	if ((rc = fd_above_3(&err_fd)) < 0 || (rc = fd_above_3(&in_r)) < 0 ||
	    (wd_r >= 0 && (rc = fd_above_3(&wd_r)) < 0))
		return bx_err_sys(err, rc, "shim spawn: dup");

	env_add(&env, "BOXLITE_BOX_ID", box_id);
	if ((v = getenv("BOXLITE_LOG")))
		env_add(&env, "BOXLITE_LOG", v);
	v = getenv("PATH");
	env_add(&env, "PATH", v && *v ? v : DEFAULT_PATH);
	if (jail_tmp) {
		env_add(&env, "TMPDIR", tmp_dir);
		env_add(&env, "TMP", tmp_dir);
		env_add(&env, "TEMP", tmp_dir);
	}
	if (env.oom) {
		env_free(&env);
		return bx_err(err, -ENOMEM, "shim spawn: out of memory");
	}

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	if (detach) {
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
							POSIX_SPAWN_SETSID);
	} else {
		posix_spawnattr_setpgroup(&attr, 0);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
							POSIX_SPAWN_SETPGROUP);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_r, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (!detach)
		posix_spawn_file_actions_adddup2(&fa, wd_r, BX_SHIM_WATCHDOG_FD);
	posix_spawn_file_actions_addclosefrom_np(&fa, detach ? 3 : BX_SHIM_WATCHDOG_FD + 1);

	rc = posix_spawn(&pid, shim_path, &fa, &attr, argv, env.v);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	env_free(&env);
	if (rc != 0)
		return bx_err_sys(err, -rc, "cannot start %s", shim_path);

	/* The child holds its own copies now. */
	close(TAKE_FD(in_r));
	if (wd_r >= 0)
		close(TAKE_FD(wd_r));

	/* The shim reads stdin to EOF as its first action, so this cannot
	 * block for long even when the config is larger than a pipe buffer. */
	rc = write_all_nosigpipe(in_w, config_json, strlen(config_json));
	close(TAKE_FD(in_w));
	if (rc < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		return bx_err_sys(err, rc, "%s exited before reading its configuration (see %s)",
				  shim_path, path);
	}
	*pid_out = pid;
	*watchdog_wfd = TAKE_FD(wd_w);
	return 0;
}
