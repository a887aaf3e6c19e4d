/* The box's main command (docker semantics): once the box is ready the shim
 * itself starts it on a reserved agent channel, appends its output to
 * main.log (rotated to main.log.1 past MAIN_LOG_MAX), copies it to attached
 * clients, and when it ends writes the exit file and stops the box. One
 * attached client may hold its stdin (run -i): the shim keeps the agent's
 * stdin credit and passes it on to that client (docs/protocol.md).
 *
 * Exit file (<box>/exit, written atomically): one line
 *   "<stopped|failed> <code> <reason>"
 * code is the main command's status (128+N when killed by signal N; 127/126
 * when it could not be started) or -1 when it never ended. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"

#define MAIN_LOG_MAX (8u << 20)

void main_cmd_init(struct shim *s)
{
	s->main = s->cfg.main_argv ? MAIN_WAITING : MAIN_NONE;
	s->main_log_fd = -1;
	s->main_code = -1;
}

static void write_exit_file(const char *state, int code, const char *reason)
{
	char line[512];
	int fd, n = snprintf(line, sizeof(line), "%s %d %s\n", state, code, reason);

	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1, line[n - 1] = '\n';
	fd = open(EXIT_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) < 0 || rename(EXIT_FILE ".tmp", EXIT_FILE) < 0)
		bx_warn("writing the exit file: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void log_open(struct shim *s)
{
	off_t end;

	s->main_log_fd = open(MAIN_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (s->main_log_fd < 0) {
		bx_warn("opening %s: %s (output is not kept)", MAIN_LOG, strerror(errno));
		return;
	}
	end = lseek(s->main_log_fd, 0, SEEK_END);
	s->main_log_bytes = end > 0 ? (uint64_t)end : 0;
}

static void log_write(struct shim *s, const void *p, size_t len)
{
	if (s->main_log_fd >= 0 && s->main_log_bytes + len > MAIN_LOG_MAX) {
		close(s->main_log_fd);
		if (rename(MAIN_LOG, MAIN_LOG ".1") < 0)
			bx_warn("rotating %s: %s", MAIN_LOG, strerror(errno));
		log_open(s);
	}
	if (s->main_log_fd < 0)
		return;
	if (write(s->main_log_fd, p, len) != (ssize_t)len)
		bx_warn("writing %s: %s", MAIN_LOG, strerror(errno));
	s->main_log_bytes += len;
}

void main_cmd_start(struct shim *s)
{
	struct bxp_writer w;

	if (s->main != MAIN_WAITING || s->boot != BOOT_READY || s->stop != STOP_NONE)
		return;
	log_open(s);
	bxp_writer_init(&w, s->scratch, BXP_MAX_PAYLOAD);
	for (size_t i = 0; s->cfg.main_argv[i]; i++)
		bxp_put_str(&w, BXT_ARG, s->cfg.main_argv[i]);
	for (size_t i = 0; i < s->cfg.n_env; i++)
		bxp_put_str(&w, BXT_ENV, s->cfg.env[i]);
	bxp_put_str(&w, BXT_CWD, s->cfg.main_cwd ? s->cfg.main_cwd : "/");
	if (s->cfg.main_user)
		bxp_put_str(&w, BXT_USER, s->cfg.main_user);
	if (s->cfg.main_tty) {
		bxp_put_u32(&w, BXT_TTY, 1);
		bxp_put_u32(&w, BXT_ROWS, s->cfg.main_rows ? s->cfg.main_rows : 24);
		bxp_put_u32(&w, BXT_COLS, s->cfg.main_cols ? s->cfg.main_cols : 80);
	}
	bxp_put_u32(&w, BXT_WINDOW, BXP_DEFAULT_WINDOW);
	if (!bxp_writer_ok(&w) || agent_send(s, MAIN_AGENT_CHAN, BXP_EXEC, 0, s->scratch, w.len) < 0) {
		shim_fail(s, E2BIG, "cannot send the main command to the agent");
		return;
	}
	s->main = MAIN_RUNNING;
	bx_info("main command started (+%.1f ms)", since_start_ms(s));
}

void main_cmd_on_ready(struct shim *s)
{
	if (s->main == MAIN_WAITING && !s->cfg.main_hold)
		main_cmd_start(s);
}

static void main_ended(struct shim *s, int code, const char *reason, const struct bxp_header *h,
		       const uint8_t *p)
{
	s->main = MAIN_DONE;
	s->main_code = code;
	s->main_end_type = h->type;
	s->main_end_len = h->len <= sizeof(s->main_end) ? h->len : 0;
	memcpy(s->main_end, p, s->main_end_len);
	if (s->main_log_fd >= 0) {
		close(s->main_log_fd);
		s->main_log_fd = -1;
	}
	write_exit_file("stopped", code, reason);
	mux_to_attached(s, h->type, 0, s->main_end, s->main_end_len);
	shim_stop(s, s->cfg.discard ? &stop_discard : &stop_graceful, "main command ended (%s)", reason);
}

int main_cmd_from_agent(struct shim *s, const struct bxp_header *h, const uint8_t *p)
{
	struct bxp_reader r;
	struct bxp_field f;
	char reason[300];
	uint32_t v, code = 0, sig = 0, err_no = EIO;

	if (s->main != MAIN_RUNNING)
		return 0; /* late frames after the end */
	switch (h->type) {
	case BXP_EXEC_STARTED:
		bxp_reader_init(&r, p, h->len);
		while (bxp_next(&r, &f) == 1) {
			if (bxp_field_u32(&f, &v) < 0)
				continue;
			if (f.tag == BXT_WINDOW)
				s->main_in_credit = v;
			else if (f.tag == BXT_PID)
				s->main_pid = v;
		}
		s->main_started = 1;
		/* Unless asked to close it (docker run without -i), its stdin
		 * stays open and empty, so that an image whose Cmd is a shell or
		 * an interpreter keeps the box up until it is stopped (as the
		 * reference system does). An attached client that took stdin
		 * (run -i) writes it instead; a tty stays open (docker run -t). */
		if (s->cfg.main_close_stdin && !s->main_stdin && !s->cfg.main_tty) {
			agent_send(s, MAIN_AGENT_CHAN, BXP_EOF, BXP_STDIN, NULL, 0);
			s->main_in_eof = 1;
		}
		mux_to_attached(s, h->type, 0, p, h->len);
		return 0;
	case BXP_WINDOW:
		/* Stdin credit: kept here, passed on to the stdin holder. */
		if (h->stream != BXP_STDIN)
			return 0;
		bxp_reader_init(&r, p, h->len);
		while (bxp_next(&r, &f) == 1)
			if (f.tag == BXT_CREDIT && bxp_field_u32(&f, &v) == 0 && v <= UINT32_MAX - s->main_in_credit)
				s->main_in_credit += v;
		mux_to_stdin_holder(s, h->type, h->stream, p, h->len);
		return 0;
	case BXP_DATA: {
		uint8_t buf[16];
		struct bxp_writer w;

		if (h->stream != BXP_STDOUT && h->stream != BXP_STDERR)
			return 0;
		log_write(s, p, h->len);
		mux_to_attached(s, h->type, h->stream, p, h->len);
		/* Written: grant the bytes back at once. */
		bxp_writer_init(&w, buf, sizeof(buf));
		bxp_put_u32(&w, BXT_CREDIT, h->len);
		if (h->len)
			agent_send(s, MAIN_AGENT_CHAN, BXP_WINDOW, h->stream, buf, w.len);
		return 0;
	}
	case BXP_EOF:
		mux_to_attached(s, h->type, h->stream, p, h->len);
		return 0;
	case BXP_EXIT:
		bxp_reader_init(&r, p, h->len);
		while (bxp_next(&r, &f) == 1) {
			if (bxp_field_u32(&f, &v) < 0)
				continue;
			if (f.tag == BXT_EXIT_CODE)
				code = v;
			else if (f.tag == BXT_SIGNAL)
				sig = v;
		}
		if (sig)
			snprintf(reason, sizeof(reason), "main command killed by signal %u", sig);
		else
			snprintf(reason, sizeof(reason), "main command exited with status %u", code);
		main_ended(s, sig ? 128 + (int)sig : (int)(code & 0xff), reason, h, p);
		return 0;
	case BXP_ERROR: {
		char msg[256] = "cannot start the main command";
		bxp_reader_init(&r, p, h->len);
		while (bxp_next(&r, &f) == 1) {
			if (f.tag == BXT_ERRNO)
				bxp_field_u32(&f, &err_no);
			else if (f.tag == BXT_MESSAGE)
				bxp_field_str(&f, msg, sizeof(msg));
		}
		log_write(s, msg, strlen(msg));
		log_write(s, "\n", 1);
		snprintf(reason, sizeof(reason), "%s", msg);
		main_ended(s, err_no == ENOENT ? 127 : 126, reason, h, p);
		return 0;
	}
	default:
		return -EPROTO;
	}
}

size_t main_cmd_started_payload(struct shim *s, int holder, uint8_t *buf, size_t cap)
{
	struct bxp_writer w;

	bxp_writer_init(&w, buf, cap);
	bxp_put_u32(&w, BXT_PID, s->main_pid);
	bxp_put_u32(&w, BXT_WINDOW, holder ? s->main_in_credit : 0);
	return bxp_writer_ok(&w) ? w.len : 0;
}

int main_cmd_from_client(struct shim *s, int holder, const struct bxp_header *h, const uint8_t *p)
{
	switch (h->type) {
	case BXP_DATA:
	case BXP_EOF:
		if (h->stream != BXP_STDIN)
			return -EPROTO;
		if (!holder || s->main_in_eof)
			return 0; /* not its stdin, or already closed: dropped */
		if (h->type == BXP_DATA) {
			if (h->len > s->main_in_credit)
				return -EPROTO; /* more than the credit it was given */
			s->main_in_credit -= h->len;
		} else {
			s->main_in_eof = 1;
		}
		break;
	case BXP_RESIZE:
	case BXP_SIGNAL:
		break;
	case BXP_WINDOW:
		return 0; /* the main command's output never waits for a client */
	default:
		return -EPROTO;
	}
	if (s->main == MAIN_RUNNING)
		agent_send(s, MAIN_AGENT_CHAN, h->type, h->stream, p, h->len);
	return 0;
}

void main_cmd_resumed(struct shim *s)
{
	if (s->main != MAIN_WAITING)
		return;
	log_open(s);
	s->main = MAIN_RUNNING;
	s->main_started = 1;
}

void main_cmd_checkpointed(struct shim *s)
{
	if (s->main_log_fd >= 0) {
		close(s->main_log_fd);
		s->main_log_fd = -1;
	}
	write_exit_file("stopped", -1, "checkpointed");
	s->main = MAIN_DONE;
}

void main_cmd_finish(struct shim *s)
{
	if (s->main_log_fd >= 0) {
		close(s->main_log_fd);
		s->main_log_fd = -1;
	}
	if (s->main == MAIN_DONE)
		return;
	if (s->main == MAIN_RUNNING && !s->failed && s->budget && s->budget->requested) {
		/* The agent's shutdown sent it SIGTERM (then SIGKILL); its EXIT
		 * did not make it out before power-off. Report it as docker does. */
		char reason[300];
		snprintf(reason, sizeof(reason), "main command terminated by the stop (%s)", s->stop_reason);
		write_exit_file("stopped", 128 + SIGTERM, reason);
		return;
	}
	if (s->failed)
		write_exit_file("failed", -1, s->fail_msg[0] ? s->fail_msg : "the box failed");
	else
		write_exit_file("stopped", -1, s->stop_reason[0] ? s->stop_reason : "the guest powered off");
}
