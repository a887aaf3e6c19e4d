/* Running one command with the terminal attached: stdin streaming (-i), a
 * pty in raw mode with window-size forwarding (-t), detaching (-d). Used by
 * `boxlite exec` (an exec handle) and `boxlite run` (an attach handle on the
 * box's main command): one pump for both; see cli.h. The terminal is restored on every exit path:
 * normal return, error, and SIGINT/SIGTERM/SIGHUP/SIGQUIT (restored, then
 * the signal is re-raised). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static struct termios saved_tio;
static int tio_saved;
static int sig_pipe[2] = { -1, -1 };

static void tty_restore(void)
{
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tio_saved = 0;
	}
}

static void on_fatal_signal(int sig)
{
	tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(sig_pipe[1], &c, 1);
	errno = e;
}

static int tty_raw(void)
{
	struct termios t;
	struct sigaction sa = { .sa_handler = on_fatal_signal };

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -errno;
	t = saved_tio;
	cfmakeraw(&t);
	tio_saved = 1;
	atexit(tty_restore);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0) {
		tio_saved = 0;
		return -errno;
	}
	return 0;
}

int cli_exit_code_for_error(boxlite_error *err)
{
	if (boxlite_error_origin(err) != BOXLITE_ORIGIN_EXEC)
		return CLI_EXIT_RUNTIME;
	return boxlite_error_code(err) == -ENOENT ? CLI_EXIT_NOT_FOUND : CLI_EXIT_CANNOT_INVOKE;
}

static int write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, -1);
			continue;
		}
		if (k < 0)
			return -errno;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A forwarded signal the command ignores (or a guest too busy to deliver
 * it) must not make the CLI unkillable: the same signal again, or this long
 * after it, ends the CLI; closing its session makes the box kill the command. */
#define GIVE_UP_MS 10000

/* The attached loop. Returns the CLI exit code. */
static int pump(boxlite_exec *x, const struct cli_exec_flags *f)
{
	int forwarded = 0;
	uint64_t give_up_at = 0;
	static char in_buf[65536], out_buf[65536];
	size_t in_len = 0, in_off = 0;
	int in_open = f->interactive, out_open[3] = { 0, 1, 1 };
	int xin = boxlite_exec_stdin_fd(x);
	boxlite_exit_status st;
	boxlite_error *err = NULL;

	if (!in_open)
		boxlite_exec_close_stdin(x);
	fcntl(xin, F_SETFL, fcntl(xin, F_GETFL) | O_NONBLOCK);
	while (out_open[1] || out_open[2]) {
		struct pollfd p[5] = {
			{ .fd = sig_pipe[0], .events = POLLIN },
			{ .fd = in_open && !in_len ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = in_len ? xin : -1, .events = POLLOUT },
			{ .fd = out_open[1] ? boxlite_exec_stdout_fd(x) : -1, .events = POLLIN },
			{ .fd = out_open[2] ? boxlite_exec_stderr_fd(x) : -1, .events = POLLIN },
		};
		int timeout = -1;

		if (give_up_at) {
			uint64_t now = mono_ms();
			timeout = now >= give_up_at ? 0 : (int)(give_up_at - now);
		}
		if (poll(p, 5, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & POLLIN) {
			unsigned char sig;
			while (read(sig_pipe[0], &sig, 1) == 1) {
				if (sig == SIGWINCH) {
					struct winsize ws;
					if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row)
						boxlite_exec_resize(x, ws.ws_row, ws.ws_col);
				} else if (sig == forwarded) {
					give_up_at = mono_ms();
				} else {
					boxlite_exec_signal(x, sig);
					forwarded = sig;
					give_up_at = mono_ms() + GIVE_UP_MS;
				}
			}
		}
		if (give_up_at && mono_ms() >= give_up_at) {
			fprintf(stderr, "boxlite: the command did not end after %s; leaving it to be killed\n",
				strsignal(forwarded));
			return 128 + forwarded;
		}
		if (p[1].revents) {
			ssize_t n = read(STDIN_FILENO, in_buf, sizeof(in_buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				in_open = 0;
				boxlite_exec_close_stdin(x);
			} else {
				in_len = (size_t)n;
				in_off = 0;
			}
		}
		if (p[2].revents) {
			ssize_t n = send(xin, in_buf + in_off, in_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				in_off += (size_t)n;
				in_len -= (size_t)n;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				/* The command stopped reading stdin (or ended). */
				in_open = 0;
				in_len = 0;
			}
		}
		for (int s = 1; s <= 2; s++) {
			if (!p[2 + s].revents)
				continue;
			ssize_t n = read(p[2 + s].fd, out_buf, sizeof(out_buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				out_open[s] = 0;
			else
				write_all(s == 1 ? STDOUT_FILENO : STDERR_FILENO, out_buf, (size_t)n);
		}
	}
	if (boxlite_exec_wait(x, -1, &st, &err) < 0) {
		tty_restore();
		cli_report(err);
		return CLI_EXIT_RUNTIME;
	}
	return st.signal ? 128 + st.signal : st.exit_code;
}

static void install_forwarding(int tty)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	if (tty) {
		sigaction(SIGWINCH, &sa, NULL);
	} else {
		/* Without a terminal, the signals we get go to the command. */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
}

/* -d: a child process keeps the session (a session ends with its
 * connection); the parent returns once the command runs. */
static int detach(boxlite_box *box, const boxlite_exec_options *o)
{
	int p[2], null;
	pid_t pid;
	char msg[1100];
	ssize_t n;
	int code;

	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("boxlite: pipe");
		return CLI_EXIT_RUNTIME;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("boxlite: fork");
		return CLI_EXIT_RUNTIME;
	}
	if (pid == 0) {
		boxlite_error *err = NULL;
		boxlite_exec *x;

		close(p[0]);
		if (fork() > 0) /* orphan the worker so the caller's shell does not wait */
			_exit(0);
		setsid();
		null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (boxlite_exec_start(box, o, &x, &err) < 0) {
			snprintf(msg, sizeof(msg), "%c%s", (char)cli_exit_code_for_error(err),
				 boxlite_error_message(err));
			(void)!write(p[1], msg, strlen(msg));
			_exit(1);
		}
		(void)!write(p[1], "", 1);
		close(p[1]);
		boxlite_exec_close_stdin(x);
		for (int s = 1; s <= 2; s++)
			shutdown(s == 1 ? boxlite_exec_stdout_fd(x) : boxlite_exec_stderr_fd(x), SHUT_RD);
		boxlite_exec_wait(x, -1, NULL, NULL);
		boxlite_exec_free(x);
		_exit(0);
	}
	close(p[1]);
	waitpid(pid, NULL, 0);
	n = read(p[0], msg, sizeof(msg) - 1);
	close(p[0]);
	if (n <= 0) {
		fprintf(stderr, "boxlite: the detached exec failed to start\n");
		return CLI_EXIT_RUNTIME;
	}
	msg[n] = '\0';
	if (n == 1 && msg[0] == '\0')
		return 0;
	code = (unsigned char)msg[0];
	fprintf(stderr, "boxlite: %s\n", msg + 1);
	return code;
}

int cli_term_size(uint16_t *rows, uint16_t *cols)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return -1;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return 0;
}

/* A started handle, attached to this terminal until it ends; frees it. */
static int attached(boxlite_exec *x, const struct cli_exec_flags *f, int tty)
{
	int code;

	if (tty && f->interactive && isatty(STDIN_FILENO) && tty_raw() < 0)
		fprintf(stderr, "boxlite: cannot put the terminal in raw mode\n");
	code = pump(x, f);
	tty_restore();
	boxlite_exec_free(x);
	return code;
}

int cli_exec_attached(boxlite_box *box, boxlite_exec_options *o, const struct cli_exec_flags *f)
{
	boxlite_error *err = NULL;
	boxlite_exec *x;
	int code;

	if (f->detach)
		return detach(box, o);
	if (o->tty)
		cli_term_size(&o->tty_rows, &o->tty_cols);
	install_forwarding(o->tty);
	if (boxlite_exec_start(box, o, &x, &err) < 0) {
		code = cli_exit_code_for_error(err);
		cli_report(err);
		return code;
	}
	return attached(x, f, o->tty);
}

int cli_attach_main(boxlite_box *box, const struct cli_exec_flags *f, int tty)
{
	boxlite_error *err = NULL;
	boxlite_exec *x;
	uint16_t rows, cols;
	int code;

	install_forwarding(tty);
	if (boxlite_box_attach_start(box, f->interactive ? BOXLITE_ATTACH_STDIN : 0, &x, &err) < 0) {
		code = cli_exit_code_for_error(err);
		cli_report(err);
		return code;
	}
	/* The terminal may have changed since the box was created. */
	if (tty && cli_term_size(&rows, &cols) == 0)
		boxlite_exec_resize(x, rows, cols);
	return attached(x, f, tty);
}
