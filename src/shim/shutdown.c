/* Stopping the box, from gentlest to harshest, each phase with a deadline:
 *   AGENT  SHUTDOWN to the agent: it syncs and reboots, QEMU exits (-no-reboot)
 *   QMP    "quit" over QMP (QEMU flushes its disks and exits)
 *   TERM   SIGTERM to QEMU
 *   KILL   SIGKILL to QEMU
 * A phase with no time in the budget is skipped.
 * Any phase ends early when QEMU exits (SIGCHLD, shim_on_qemu_exit). A
 * SIGALRM backstop (watchdog.c) kills QEMU and exits if the whole budget
 * runs out even so. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"

/*                                        name        agent   qmp   term  requested */
const struct stop_budget stop_graceful = { "graceful", 10000, 2000, 1000, 1 };
const struct stop_budget stop_watchdog = { "watchdog", 3000, 1000, 500, 1 };
const struct stop_budget stop_signal = { "signal", 1000, 400, 300, 1 };
const struct stop_budget stop_failure = { "failure", 0, 500, 300, 0 };
const struct stop_budget stop_agent_lost = { "agent lost", 0, 1000, 300, 0 };
/* The box's disk is thrown away (run --rm) and its main command's status is
 * in: nothing in the guest is worth a shutdown (volumes are 9p without a
 * write-back cache: their writes are on the host already). Docker, too,
 * kills what is left when a container's main process ends. */
const struct stop_budget stop_discard = { "discard", 0, 0, 0, 1 };

#define KILL_WAIT_MS 500u

static const char *const phase_names[] = { "none", "agent", "qmp", "term", "kill" };

static unsigned budget_total(const struct stop_budget *b)
{
	return b->agent_ms + b->qmp_ms + b->term_ms + KILL_WAIT_MS;
}

static unsigned phase_ms(const struct stop_budget *b, enum stop_phase ph)
{
	switch (ph) {
	case STOP_AGENT:
		return b->agent_ms;
	case STOP_QMP:
		return b->qmp_ms;
	case STOP_TERM:
		return b->term_ms;
	default:
		return KILL_WAIT_MS;
	}
}

static void set_deadline(struct shim *s, unsigned ms)
{
	s->stop_deadline = mono_ns() + (uint64_t)ms * 1000000u;
}

static void enter_phase(struct shim *s, enum stop_phase ph)
{
	struct bx_error err = { 0 };

	/* Never kill(-1): the pid is cleared once QEMU is reaped. */
	if (s->qemu_pid <= 0)
		return;
	s->stop = ph;
	switch (ph) {
	case STOP_AGENT:
		if (s->boot == BOOT_READY && s->budget->agent_ms > 0 &&
		    agent_send(s, 0, BXP_SHUTDOWN, 0, NULL, 0) == 0) {
			bx_info("stop: SHUTDOWN sent to the guest agent");
			set_deadline(s, s->budget->agent_ms);
			return;
		}
		enter_phase(s, STOP_QMP);
		return;
	case STOP_QMP:
		if (s->budget->qmp_ms == 0) {
			enter_phase(s, STOP_TERM);
			return;
		}
		if (qmp_quit(QMP_SOCK, s->budget->qmp_ms, &err) < 0) {
			bx_warn("stop: QMP quit failed: %s", err.msg);
			enter_phase(s, STOP_TERM);
			return;
		}
		bx_info("stop: QEMU accepted QMP quit");
		set_deadline(s, s->budget->qmp_ms);
		return;
	case STOP_TERM:
		if (s->budget->term_ms == 0) {
			enter_phase(s, STOP_KILL);
			return;
		}
		bx_warn("stop: sending SIGTERM to QEMU (pid %d)", (int)s->qemu_pid);
		kill(s->qemu_pid, SIGTERM);
		set_deadline(s, s->budget->term_ms);
		return;
	case STOP_KILL:
		if (s->budget == &stop_discard)
			bx_info("stop: killing QEMU (pid %d): the disk is discarded", (int)s->qemu_pid);
		else
			bx_warn("stop: sending SIGKILL to QEMU (pid %d)", (int)s->qemu_pid);
		kill(s->qemu_pid, SIGKILL);
		set_deadline(s, KILL_WAIT_MS);
		return;
	case STOP_NONE:
		return;
	}
}

void shim_stop(struct shim *s, const struct stop_budget *b, const char *fmt, ...)
{
	char reason[sizeof(s->stop_reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);

	if (s->done)
		return;
	if (s->qemu_pid <= 0) { /* nothing running: just finish */
		s->done = 1;
		s->flush_deadline = mono_ns() + 1000000000ull;
		return;
	}
	if (s->stop == STOP_NONE) {
		s->budget = b;
		snprintf(s->stop_reason, sizeof(s->stop_reason), "%s", reason);
		bx_info("stopping the box (%s, budget %u ms): %s", b->name, budget_total(b), reason);
		backstop_arm(s, budget_total(b));
		enter_phase(s, STOP_AGENT);
		return;
	}
	if (budget_total(b) < budget_total(s->budget)) {
		/* More urgent: shorten the current phase and the backstop. */
		uint64_t d = mono_ns() + (uint64_t)phase_ms(b, s->stop) * 1000000u;
		bx_info("stop: %s while stopping: switching to the %s budget", reason, b->name);
		s->budget = b;
		if (d < s->stop_deadline)
			s->stop_deadline = d;
		backstop_arm(s, budget_total(b));
	} else if (b == s->budget && b == &stop_signal && s->stop < STOP_KILL) {
		/* A second SIGTERM: do not wait out the phase. */
		bx_info("stop: %s again: skipping the %s phase", reason, phase_names[s->stop]);
		enter_phase(s, s->stop + 1);
	}
}

void shim_stop_tick(struct shim *s)
{
	if (s->stop == STOP_NONE || s->qemu_pid <= 0 || s->done || mono_ns() < s->stop_deadline)
		return;
	if (s->stop == STOP_KILL) {
		/* SIGKILL not delivered within KILL_WAIT_MS: stuck in the kernel. */
		bx_error_log("QEMU (pid %d) did not exit after SIGKILL", (int)s->qemu_pid);
		s->failed = 1;
		s->done = 1;
		s->flush_deadline = mono_ns();
		return;
	}
	bx_warn("stop: QEMU still running after the %s phase (%u ms)", phase_names[s->stop],
		phase_ms(s->budget, s->stop));
	enter_phase(s, s->stop + 1);
}

void shim_fail(struct shim *s, int err_no, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return; /* the first failure is the cause; the rest follow from it */
	s->failed = 1;
	s->fail_errno = err_no > 0 ? err_no : EIO;
	va_start(ap, fmt);
	vsnprintf(s->fail_msg, sizeof(s->fail_msg), fmt, ap);
	va_end(ap);
	bx_error_log("%s", s->fail_msg);
	if (s->boot != BOOT_READY)
		mux_boot_failed(s, s->fail_errno, s->fail_msg);
	shim_stop(s, &stop_failure, "failure");
}

static void describe_status(int status, char *buf, size_t cap)
{
	if (WIFEXITED(status))
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		snprintf(buf, cap, "QEMU was killed by the seccomp filter: a syscall outside the jail's "
			 "allow-list, or one QEMU's own -sandbox forbids; run with --security development "
			 "to confirm, and report it with shim.stderr");
	else if (WIFSIGNALED(status))
		snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, cap, "status 0x%x", (unsigned)status);
}

void shim_on_qemu_exit(struct shim *s)
{
	const char *tail = vm_stderr_tail(s);
	char how[256];

	describe_status(s->qemu_status, how, sizeof(how));
	if (s->failed) {
		bx_info("QEMU exited (%s)", how);
	} else if (s->stop != STOP_NONE && s->budget->requested) {
		bx_info("QEMU exited (%s) in the %s phase of the stop", how, phase_names[s->stop]);
	} else if (s->boot != BOOT_READY) {
		shim_fail(s, EIO, "QEMU exited during boot (%s)%s%s", how, tail[0] ? ": " : "", tail);
	} else if (WIFEXITED(s->qemu_status) && WEXITSTATUS(s->qemu_status) == 0) {
		bx_warn("QEMU exited on its own (%s): the guest powered off or rebooted; see %s/%s", how,
			s->cfg.box_dir, CONSOLE_LOG);
	} else {
		shim_fail(s, EIO, "QEMU exited unexpectedly (%s)%s%s", how, tail[0] ? ": " : "", tail);
	}
	mux_box_stopped(s);
	/* QEMU's own files; a fresh start recreates them. */
	unlink(AGENT_SOCK);
	unlink(QMP_SOCK);
	unlink(GUEST_MEM);
	s->done = 1;
	s->flush_deadline = mono_ns() + 1000000000ull;
}
