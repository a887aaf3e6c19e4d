/* Parent-death watchdog and the hard-kill backstop.
 *
 * A non-detached shim finds the read end of a pipe at fd 3 whose write end
 * only its parent holds: when the parent exits, even by SIGKILL, poll
 * reports POLLHUP and the box is stopped gracefully. Every stop arms a
 * SIGALRM backstop that kills QEMU and exits even if the event loop never
 * gets to finish the stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"
#include "shim_spawn.h"

static volatile sig_atomic_t backstop_pid = -1;

int watchdog_probe(void)
{
	struct stat st;

	return fstat(BX_SHIM_WATCHDOG_FD, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void on_backstop(int sig)
{
	static const char msg[] = "boxlite-shim: error: the stop did not finish in time: "
				  "killed QEMU (hard-kill backstop)\n";
	pid_t pid = (pid_t)backstop_pid;
	ssize_t unused;

	(void)sig;
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	unlink(BOX_SOCK);
	unlink(SHIM_PID);
	unused = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)unused;
	_exit(2);
}

void watchdog_init(struct shim *s, int fd3_is_pipe)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_backstop;
	sigfillset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	s->watchdog_fd = -1;
	if (s->cfg.detach) {
		if (fd3_is_pipe)
			bx_warn("detached box started with a pipe at fd %d: ignoring it", BX_SHIM_WATCHDOG_FD);
		return;
	}
	if (!fd3_is_pipe) {
		bx_warn("no watchdog pipe at fd %d: this box will not stop when its parent dies",
			BX_SHIM_WATCHDOG_FD);
		return;
	}
	fcntl(BX_SHIM_WATCHDOG_FD, F_SETFD, FD_CLOEXEC);
	fcntl(BX_SHIM_WATCHDOG_FD, F_SETFL, O_NONBLOCK);
	s->watchdog_fd = BX_SHIM_WATCHDOG_FD;
	bx_debug("watchdog armed on fd %d", BX_SHIM_WATCHDOG_FD);
}

void watchdog_io(struct shim *s, short revents)
{
	char buf[64];
	ssize_t n = 0;

	if (revents & POLLIN) {
		/* The parent never writes; anything it does write is ignored. */
		n = read(s->watchdog_fd, buf, sizeof(buf));
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return;
	} else if (!(revents & (POLLHUP | POLLERR))) {
		return;
	}
	close(s->watchdog_fd);
	s->watchdog_fd = -1;
	bx_warn("parent process gone (watchdog pipe closed)");
	shim_stop(s, &stop_watchdog, "parent process gone");
}

void backstop_arm(struct shim *s, unsigned ms)
{
	struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 } };

	backstop_pid = s->qemu_pid;
	setitimer(ITIMER_REAL, &it, NULL);
}

void backstop_disarm(void)
{
	struct itimerval it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
	backstop_pid = -1;
}
