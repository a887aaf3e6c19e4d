/* Engine-independent helpers: argv ownership, accelerator names, and the
 * process spawn every engine uses. */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"

void bx_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

const char *bx_accel_name(enum bx_accel a)
{
	return a == BX_ACCEL_KVM ? "kvm" : "tcg";
}

/* posix_spawn (vfork-based in glibc) rather than fork: the library may call
 * this from a large multi-threaded process. The child gets default signal
 * dispositions and an empty mask whatever the caller blocked or ignored
 * (the shim blocks everything it reads from a signalfd), and no fd but 0-2. */
int bx_engine_spawn(char **argv, int stderr_fd, pid_t *pid, struct bx_error *err)
{
	return bx_engine_spawn_fd(argv, stderr_fd, -1, pid, err);
}

int bx_engine_spawn_fd(char **argv, int stderr_fd, int keep_fd, pid_t *pid, struct bx_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	_cleanup_close_ int err_copy = -1;
	int rc;

	if (!argv || !argv[0])
		return bx_err(err, -EINVAL, "engine spawn: empty argv");
	if (keep_fd >= 0 && keep_fd <= 3)
		return bx_err(err, -EINVAL, "engine spawn: fd to keep must be above 3");
	/* dup2 onto fd 2 below would clobber a source that sits in 0..1. */
	if (stderr_fd >= 0 && stderr_fd < 3) {
		err_copy = fcntl(stderr_fd, F_DUPFD_CLOEXEC, 3);
		if (err_copy < 0)
			return bx_err_sys(err, -errno, "engine spawn: dup stderr");
		stderr_fd = err_copy;
	}

	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (stderr_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stderr_fd, 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* dup2 clears close-on-exec on fd 3 (keep_fd must not be 0..3). */
	if (keep_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, keep_fd, 3);
	/* Belt and braces for fds a caller forgot to mark close-on-exec. */
	posix_spawn_file_actions_addclosefrom_np(&fa, keep_fd >= 0 ? 4 : 3);

	rc = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		return bx_err_sys(err, -rc, "cannot start %s", argv[0]);
	return 0;
}

int bx_engine_spawn_hook(char **argv, int stderr_fd, int keep_fd, int (*hook)(void *arg), void *arg,
			 pid_t *pid, struct bx_error *err)
{
	sigset_t none;
	pid_t child;
	int in, out;

	if (!hook)
		return bx_engine_spawn_fd(argv, stderr_fd, keep_fd, pid, err);
	if (!argv || !argv[0])
		return bx_err(err, -EINVAL, "engine spawn: empty argv");
	if (keep_fd >= 0 && keep_fd <= 3)
		return bx_err(err, -EINVAL, "engine spawn: fd to keep must be above 3");
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in < 0 || out < 0) {
		int e = errno;
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
		return bx_err_sys(err, -e, "engine spawn: /dev/null");
	}
	child = fork();
	if (child < 0) {
		int e = errno;
		close(in);
		close(out);
		return bx_err_sys(err, -e, "cannot start %s", argv[0]);
	}
	if (child == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		for (int sig = 1; sig < NSIG; sig++)
			sigaction(sig, &dfl, NULL); /* fails harmlessly for KILL, STOP, RT gaps */
		/* fd 2 first: stderr_fd may sit on 0 or 1. */
		if (stderr_fd >= 0 ? dup2(stderr_fd, 2) < 0 : dup2(out, 2) < 0)
			_exit(126);
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(126);
		if (hook(arg) < 0)
			_exit(126);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* dup2 clears close-on-exec on fd 3 (keep_fd is above 3). */
		if (keep_fd >= 0 && dup2(keep_fd, 3) < 0)
			_exit(126);
		closefrom(keep_fd >= 0 ? 4 : 3);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in);
	close(out);
	*pid = child;
	return 0;
}
