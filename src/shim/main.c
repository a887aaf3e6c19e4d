/* boxlite-shim: supervises one box. Spawned by the library with no
 * arguments; see "Shim contract" in docs/architecture.md.
 *
 * Startup order:
 *   1. look at fd 3 (the watchdog pipe) before any fd can be opened there;
 *   2. read the config from stdin to EOF (never logged: only its size);
 *   3. chdir to the box directory, signals to a signalfd, watchdog, shim.pid;
 *   4. check the files QEMU needs, listen on box.sock (clients may connect
 *      and wait from now on), start QEMU;
 *   5. poll loop until QEMU is gone and the clients have been told. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "jail.h"
#include "egress.h"
#include "shim.h"

static int write_pid_file(struct bx_error *err)
{
	char stat[1024], line[64];
	unsigned long long starttime = 0;
	_cleanup_close_ int fd = -1;
	const char *p;
	ssize_t n;
	int len;

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, stat, sizeof(stat) - 1)) <= 0)
		return bx_err_sys(err, -errno, "reading /proc/self/stat");
	stat[n] = '\0';
	close(TAKE_FD(fd));
	/* Field 2 (comm) may contain spaces: count from the last ')'. Field 3
	 * follows it; starttime is field 22. */
	p = strrchr(stat, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &starttime) != 1)
		return bx_err(err, -EIO, "cannot parse /proc/self/stat");

	len = snprintf(line, sizeof(line), "%d %llu\n", (int)getpid(), starttime);
	fd = open(SHIM_PID ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return bx_err_sys(err, -errno, "creating %s.tmp", SHIM_PID);
	if (write(fd, line, (size_t)len) != len)
		return bx_err_sys(err, -errno, "writing %s.tmp", SHIM_PID);
	if (rename(SHIM_PID ".tmp", SHIM_PID) < 0)
		return bx_err_sys(err, -errno, "renaming %s", SHIM_PID);
	return 0;
}

static int setup_signals(struct shim *s, struct bx_error *err)
{
	sigset_t set;

	/* Writes to a vanished client must fail with EPIPE, not kill the box. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP); /* a detached box has no terminal to lose */
	sigprocmask(SIG_BLOCK, &set, NULL);
	s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sig_fd < 0)
		return bx_err_sys(err, -errno, "signalfd");
	return 0;
}

static void handle_signals(struct shim *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			vm_reap(s);
			break;
		case SIGTERM:
		case SIGINT:
			shim_stop(s, &stop_signal, "%s from pid %u", strsignal((int)si.ssi_signo), si.ssi_pid);
			break;
		default:
			bx_debug("%s ignored", strsignal((int)si.ssi_signo));
			break;
		}
	}
}

static const char *boot_phase_name(enum boot_phase b)
{
	switch (b) {
	case BOOT_CONNECTING:
		return "QEMU had not opened " AGENT_SOCK;
	case BOOT_WAIT_HELLO:
		return "no HELLO from the agent";
	case BOOT_WAIT_SETUP_DONE:
		return "SETUP not finished";
	default:
		return "ready";
	}
}

static void run_timers(struct shim *s)
{
	if (s->done)
		return;
	vm_connect_tick(s);
	if (s->boot != BOOT_READY && !s->failed && s->stop == STOP_NONE && mono_ns() >= s->boot_deadline)
		shim_fail(s, ETIMEDOUT, "the guest was not ready after %u ms (%s); see %s/%s",
			  s->cfg.ready_timeout_ms, boot_phase_name(s->boot), s->cfg.box_dir, CONSOLE_LOG);
	shim_stop_tick(s);
	disk_tick(s);
}

static int poll_timeout(const struct shim *s)
{
	uint64_t d = UINT64_MAX, now = mono_ns();

	if (s->done) {
		d = s->flush_deadline;
	} else {
		if (s->boot == BOOT_CONNECTING && s->agent_fd < 0 && s->stop == STOP_NONE && s->connect_at < d)
			d = s->connect_at;
		if (s->boot != BOOT_READY && !s->failed && s->stop == STOP_NONE && s->boot_deadline < d)
			d = s->boot_deadline;
		if (s->stop != STOP_NONE && s->stop_deadline < d)
			d = s->stop_deadline;
		if (disk_deadline(s) < d)
			d = disk_deadline(s);
	}
	if (d == UINT64_MAX)
		return -1;
	return d <= now ? 0 : (int)((d - now + 999999) / 1000000);
}

static void run(struct shim *s)
{
	enum { FIXED = 7 }; /* signals, watchdog, listen, agent, QEMU stderr, egress x2 */
	int max = FIXED + mux_max_clients();
	struct pollfd pfd[max];
	struct client *owner[max];

	for (;;) {
		int n = 0, i_wd = -1, i_listen = -1, i_agent = -1, i_err = -1, i_ntf = -1, i_dns = -1, first_client, rc;

		if (s->done && (mux_flushed(s) || mono_ns() >= s->flush_deadline))
			break;
		pfd[n++] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
		if (s->watchdog_fd >= 0) {
			i_wd = n;
			pfd[n++] = (struct pollfd){ .fd = s->watchdog_fd, .events = POLLIN };
		}
		if (s->listen_fd >= 0 && !s->done) {
			i_listen = n;
			pfd[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		}
		if (s->agent_fd >= 0) {
			i_agent = n;
			pfd[n++] = (struct pollfd){ .fd = s->agent_fd,
						    .events = POLLIN | (outq_empty(&s->agent_out) ? 0 : POLLOUT) };
		}
		if (s->qemu_err_fd >= 0) {
			i_err = n;
			pfd[n++] = (struct pollfd){ .fd = s->qemu_err_fd, .events = POLLIN };
		}
		if (egress_notify_fd() >= 0) { /* --allow-net: QEMU's connects (egress.c) */
			i_ntf = n;
			pfd[n++] = (struct pollfd){ .fd = egress_notify_fd(), .events = POLLIN };
		}
		if (egress_dns_fd() >= 0) { /* --allow-net: DNS answers (egress.c) */
			i_dns = n;
			pfd[n++] = (struct pollfd){ .fd = egress_dns_fd(), .events = POLLIN };
		}
		first_client = n;
		n += mux_pollfds(s, pfd + n, owner + n, max - n);

		rc = poll(pfd, (nfds_t)n, poll_timeout(s));
		if (rc < 0 && errno != EINTR) {
			shim_fail(s, errno, "poll: %s", strerror(errno));
			break;
		}
		if (rc > 0) {
			/* Signals first: a reaped QEMU closes the fds below. */
			if (pfd[0].revents)
				handle_signals(s);
			if (i_wd >= 0 && pfd[i_wd].revents && s->watchdog_fd >= 0)
				watchdog_io(s, pfd[i_wd].revents);
			if (i_err >= 0 && pfd[i_err].revents && s->qemu_err_fd >= 0)
				vm_stderr_io(s);
			if (i_agent >= 0 && pfd[i_agent].revents && s->agent_fd >= 0)
				vm_agent_io(s, pfd[i_agent].revents);
			if (i_ntf >= 0 && pfd[i_ntf].revents)
				egress_notify_io();
			if (i_dns >= 0 && pfd[i_dns].revents)
				egress_dns_io(s);
			if (i_listen >= 0 && pfd[i_listen].revents)
				mux_accept(s);
			for (int i = first_client; i < n; i++)
				if (pfd[i].revents)
					mux_client_io(s, owner[i], pfd[i].revents);
		}
		run_timers(s);
		/* Write what this round queued, in as few syscalls as possible. */
		if (s->agent_fd >= 0 && !outq_empty(&s->agent_out))
			vm_agent_io(s, POLLOUT);
		mux_flush(s);
		mux_reap_dead(s);
	}
}

static void cleanup(struct shim *s)
{
	mux_free_all(s);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(BOX_SOCK);
	}
	if (s->qemu_pid > 0) { /* only when the loop itself failed */
		kill(s->qemu_pid, SIGKILL);
		waitpid(s->qemu_pid, NULL, 0);
		s->qemu_pid = -1;
	}
	if (s->agent_fd >= 0)
		close(s->agent_fd);
	outq_clear(&s->agent_out);
	unlink(SHIM_PID);
	free(s->agent_in);
	free(s->scratch);
	bx_shim_config_free(&s->cfg);
}

#ifdef __SANITIZE_ADDRESS__
/* Sanitizer builds: LeakSanitizer stops the world with ptrace, which the
 * jail's seccomp filter kills; leaks are checked in the unjailed programs. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int main(int argc, char **argv)
{
	struct shim s = { .sig_fd = -1, .listen_fd = -1, .watchdog_fd = -1, .qemu_pid = -1,
			  .qemu_err_fd = -1, .agent_fd = -1, .next_agent_chan = 1 };
	struct bx_error err = { 0 };
	char *json = NULL;
	const char *env_id;
	size_t json_len = 0;
	int fd3_is_pipe, rc;

	s.h_shim_start = real_ns();
	fd3_is_pipe = watchdog_probe();
	bx_log_init("boxlite-shim");
	if (argc > 1) {
		/* Configuration never travels in argv (it would show in /proc). */
		bx_error_log("boxlite-shim takes no arguments; the config is read from stdin");
		return 2;
	}
	(void)argv;

	rc = bx_shim_config_read_fd(STDIN_FILENO, &json, &json_len, &err);
	if (rc == 0) {
		rc = bx_shim_config_parse(json, json_len, &s.cfg, &err);
		explicit_bzero(json, json_len);
	}
	free(json);
	/* stdin is spent; keep fd 0 occupied so nothing else lands there. */
	{
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0 && null != STDIN_FILENO) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
	}
	if (rc < 0)
		goto fail_early;
	bx_info("stage shim_start: box %s, config %zu bytes, %s", s.cfg.box_id, json_len,
		s.cfg.detach ? "detached" : "attached");
	env_id = getenv("BOXLITE_BOX_ID");
	if (env_id && strcmp(env_id, s.cfg.box_id))
		bx_warn("BOXLITE_BOX_ID=%s differs from the config's box id %s", env_id, s.cfg.box_id);

	umask(077);
	if (chdir(s.cfg.box_dir) < 0) {
		rc = bx_err_sys(&err, -errno, "box directory %s", s.cfg.box_dir);
		goto fail_early;
	}
	if ((rc = setup_signals(&s, &err)) < 0)
		goto fail_early;
	watchdog_init(&s, fd3_is_pipe);
	if ((rc = write_pid_file(&err)) < 0)
		goto fail_early;
	s.scratch = malloc(BXP_MAX_PAYLOAD);
	s.agent_in = malloc(sizeof(*s.agent_in));
	if (!s.scratch || !s.agent_in) {
		rc = bx_err(&err, -ENOMEM, "out of memory");
		goto fail;
	}
	bxp_framer_init(s.agent_in);
	main_cmd_init(&s);
	if ((rc = vm_check_files(&s, &err)) < 0 || (rc = mux_listen(&s, &err)) < 0 ||
	    (rc = bx_jail_enter(&s.cfg, &err)) < 0 || (rc = vm_start(&s, &err)) < 0)
		goto fail;

	run(&s);
	main_cmd_finish(&s);
	cleanup(&s);
	if (s.failed) {
		bx_error_log("box failed: %s", s.fail_msg[0] ? s.fail_msg : "see above");
		return 1;
	}
	bx_info("box stopped (%s)", s.stop_reason[0] ? s.stop_reason : "guest stopped on its own");
	return 0;

fail:
	cleanup(&s);
fail_early:
	bx_error_log("cannot start the box: %s", err.msg);
	bx_shim_config_free(&s.cfg);
	return 1;
}
