/* The VM: starting QEMU, its stderr, connecting to the agent port, and the
 * boot handshake (shim HELLO, agent HELLO -> SETUP -> agent SETUP_DONE). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress.h"
#include "engine.h"
#include "jail.h"
#include "log.h"
#include "shim.h"

#define CONNECT_RETRY_NS (10 * 1000000ull)
#define RNG_SEED_BYTES 32

int vm_check_files(struct shim *s, struct bx_error *err)
{
	if (access(s->cfg.qemu, X_OK) < 0)
		return bx_err_sys(err, -errno, "QEMU binary %s", s->cfg.qemu);
	if (access(s->cfg.kernel, R_OK) < 0)
		return bx_err_sys(err, -errno, "guest kernel %s", s->cfg.kernel);
	if (access(s->cfg.initramfs, R_OK) < 0)
		return bx_err_sys(err, -errno, "agent initramfs %s", s->cfg.initramfs);
	if (access(s->cfg.root_disk, R_OK | W_OK) < 0)
		return bx_err_sys(err, -errno, "root disk %s/%s", s->cfg.box_dir, s->cfg.root_disk);
	/* Before the jail: the template stays outside it, QEMU gets this fd. */
	vm_warm_open(s);
	return 0;
}

/* QEMU's child, before exec, when jailed: one more filter, which kills
 * what only the shim needs (jail_seccomp.c). */
static int qemu_child(void *arg)
{
	(void)arg;
	return bx_jail_seccomp_qemu();
}

/* Starts QEMU: booting, or (warm) loading the template's state, paused. */
static int spawn_qemu(struct shim *s, int warm, struct bx_error *err)
{
	int jailed = s->cfg.security == BX_SECURITY_JAIL;
	struct bx_vm_spec spec = {
		.qemu = s->cfg.qemu,
		.accel = s->cfg.accel,
		.kernel = s->cfg.kernel,
		.initramfs = s->cfg.initramfs,
		.cmdline = NULL,
		.cpus = s->cfg.cpus,
		.memory_mib = s->cfg.memory_mib,
		.root_disk = s->cfg.root_disk,
		.network = s->cfg.network,
		.agent_sock = AGENT_SOCK,
		.qmp_sock = QMP_SOCK,
		.console_log = CONSOLE_LOG,
		/* RAM in a memory-backend-file: a cold box's own (private,
		 * the file stays empty); a clone maps its template's RAM file
		 * read-only and copy-on-write, or, from a template without one
		 * (QEMU < 8.2), has anonymous RAM filled by the stream. */
		.mem_path = !warm || s->cfg.resume_state ? GUEST_MEM : s->cfg.template_ram,
		.mem_mode = warm && !s->cfg.resume_state && s->cfg.template_ram ? BX_MEM_CLONE : BX_MEM_PRIVATE,
		.sandbox = s->cfg.security == BX_SECURITY_JAIL,
		.incoming_fd = warm ? 3 : 0,
		.ports = s->cfg.ports,
		.n_ports = s->cfg.network ? s->cfg.n_ports : 0,
		.volumes = s->cfg.volumes,
		.n_volumes = s->cfg.n_volumes,
	};
	char **argv = NULL;
	int p[2], rc;

	/* Stale sockets from an earlier run would make QEMU fail to bind. */
	unlink(AGENT_SOCK);
	unlink(QMP_SOCK);
	rc = bx_engine_qemu_microvm.build_argv(&spec, &argv, err);
	if (rc < 0)
		return rc;
	if (pipe2(p, O_CLOEXEC) < 0) {
		bx_argv_free(argv);
		return bx_err_sys(err, -errno, "QEMU stderr pipe");
	}
	if (warm) {
		rc = bx_engine_spawn_hook(argv, p[1], s->warm_fd, jailed ? qemu_child : NULL, NULL,
					  &s->qemu_pid, err);
	} else {
		/* --allow-net: QEMU runs under the egress supervisor (egress.c). */
		rc = egress_init(&s->cfg, err);
		if (rc == 0)
			rc = egress_active() ? egress_spawn(argv, p[1], &s->qemu_pid, err)
					     : bx_engine_spawn_hook(argv, p[1], -1, jailed ? qemu_child : NULL,
								    NULL, &s->qemu_pid, err);
	}
	bx_argv_free(argv);
	close(p[1]);
	if (rc < 0) {
		close(p[0]);
		return rc;
	}
	s->qemu_err_fd = p[0];
	fcntl(s->qemu_err_fd, F_SETFL, O_NONBLOCK);
	s->h_qemu_start = real_ns();
	s->boot = BOOT_CONNECTING;
	s->connect_at = mono_ns();
	s->boot_deadline = mono_ns() + (uint64_t)s->cfg.ready_timeout_ms * 1000000u;
	bx_info("stage qemu_start: pid %d, %s, %u cpu, %u MiB%s (+%.1f ms)", (int)s->qemu_pid,
		bx_accel_name(s->cfg.accel), s->cfg.cpus, s->cfg.memory_mib, warm ? ", from a template" : "",
		since_start_ms(s));
	return 0;
}

int vm_start(struct shim *s, struct bx_error *err)
{
	int rc;

	if (s->warm_fd > 0) {
		rc = spawn_qemu(s, 1, err);
		if (rc == 0)
			rc = vm_warm_resume(s, err);
		vm_warm_close(s);
		if (rc == 0) {
			s->resuming = s->cfg.resume_state != NULL;
			return 0;
		}
		if (s->qemu_pid > 0) {
			kill(s->qemu_pid, SIGKILL);
			waitpid(s->qemu_pid, NULL, 0);
			s->qemu_pid = -1;
		}
		if (s->qemu_err_fd >= 0) {
			vm_stderr_io(s);
			if (s->qemu_err_fd >= 0)
				close(s->qemu_err_fd);
			s->qemu_err_fd = -1;
		}
		s->err_tail_len = 0;
		/* Never fail the box for its template. In the jail, the first QEMU
		 * was the init of the shim's pid namespace: no process can start
		 * in it any more, so the library starts the box again, cold, when
		 * it sees "warm start failed" (src/lib/template.h, BX_WARM_FAILED). */
		if (s->cfg.security == BX_SECURITY_JAIL) {
			/* Logged now, before any client sees the shim go. */
			bx_warn("warm start failed, the box will boot cold: %s", err->msg);
			return rc;
		}
		bx_warn("warm start failed, booting cold: %s", err->msg);
		bx_err_clear(err);
	}
	return spawn_qemu(s, 0, err);
}

/* ---- QEMU's stderr: logged line by line, the tail kept for error messages. */

static void err_tail_append(struct shim *s, const char *buf, size_t n)
{
	size_t cap = sizeof(s->err_tail);

	if (n >= cap) {
		memcpy(s->err_tail, buf + n - cap, cap);
		s->err_tail_len = cap;
		return;
	}
	if (s->err_tail_len + n > cap) {
		size_t drop = s->err_tail_len + n - cap;
		memmove(s->err_tail, s->err_tail + drop, s->err_tail_len - drop);
		s->err_tail_len -= drop;
	}
	memcpy(s->err_tail + s->err_tail_len, buf, n);
	s->err_tail_len += n;
}

static void err_line_flush(struct shim *s)
{
	if (s->err_line_len) {
		bx_warn("qemu: %.*s", (int)s->err_line_len, s->err_line);
		s->err_line_len = 0;
	}
}

void vm_stderr_io(struct shim *s)
{
	char buf[4096];

	while (s->qemu_err_fd >= 0) {
		ssize_t n = read(s->qemu_err_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			err_line_flush(s);
			close(s->qemu_err_fd);
			s->qemu_err_fd = -1;
			return;
		}
		err_tail_append(s, buf, (size_t)n);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				err_line_flush(s);
				continue;
			}
			if (s->err_line_len == sizeof(s->err_line))
				err_line_flush(s);
			s->err_line[s->err_line_len++] = buf[i];
		}
	}
}

const char *vm_stderr_tail(struct shim *s)
{
	static char out[sizeof(s->err_tail) + 1];
	size_t n = s->err_tail_len, start, lines = 0;

	while (n > 0 && (s->err_tail[n - 1] == '\n' || s->err_tail[n - 1] == ' ' ||
			 s->err_tail[n - 1] == '\r'))
		n--;
	/* The last three lines are where QEMU says why it stopped. */
	for (start = n; start > 0; start--)
		if (s->err_tail[start - 1] == '\n' && ++lines == 3)
			break;
	memcpy(out, s->err_tail + start, n - start);
	out[n - start] = '\0';
	for (char *c = out; *c; c++)
		if (*c == '\n')
			*c = ';';
		else if ((unsigned char)*c < 0x20)
			*c = ' ';
	return out;
}

/* ---- the agent channel */

int agent_send(struct shim *s, uint32_t chan, uint16_t type, uint8_t stream, const void *payload,
	       size_t len)
{
	if (s->agent_fd < 0)
		return -ENOTCONN;
	return outq_push(&s->agent_out, chan, type, stream, payload, len);
}

/* A shim resuming a checkpoint takes the main command's session back and
 * moves the guest's clock and RNG on (docs/checkpoints.md). */
static int send_hello(struct shim *s)
{
	uint8_t buf[128], seed[RNG_SEED_BYTES];
	struct bxp_writer w;
	int rc;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_VERSION, BXP_VERSION);
	if (s->resuming) {
		if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			return -errno;
		if (s->main == MAIN_WAITING)
			bxp_put_u32(&w, BXT_RESUME_CHAN, MAIN_AGENT_CHAN);
		bxp_put_u64(&w, BXT_CLOCK_NS, real_ns());
		bxp_put_bytes(&w, BXT_RNG_SEED, seed, sizeof(seed));
		explicit_bzero(seed, sizeof(seed));
	}
	rc = agent_send(s, 0, BXP_HELLO, 0, buf, w.len);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

void vm_connect_tick(struct shim *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = AGENT_SOCK };
	int fd;

	if (s->boot != BOOT_CONNECTING || s->agent_fd >= 0 || s->qemu_pid <= 0 || s->done ||
	    s->stop != STOP_NONE || mono_ns() < s->connect_at)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		shim_fail(s, errno, "agent socket: %s", strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED || e == EAGAIN || e == EINTR) {
			/* QEMU has not created its socket yet. */
			s->connect_at = mono_ns() + CONNECT_RETRY_NS;
			return;
		}
		shim_fail(s, e, "connecting to %s: %s", AGENT_SOCK, strerror(e));
		return;
	}
	s->agent_fd = fd;
	s->boot = BOOT_WAIT_HELLO;
	bx_info("stage agent_connect (+%.1f ms)", since_start_ms(s));
	/* Our HELLO goes first (docs/protocol.md: the robust way to connect);
	 * it waits in the socket until the guest opens the port. The agent
	 * answers with exactly one HELLO, which is not answered again. */
	if (send_hello(s) < 0)
		shim_fail(s, ENOMEM, "queueing HELLO for the agent: out of memory");
}

static int fields_parse_timings(struct shim *s, const uint8_t *p, size_t len, uint32_t *version,
				uint64_t *t_setup_done, char *msg, size_t msg_cap, uint32_t *err_no)
{
	struct bxp_reader r;
	struct bxp_field f;
	int rc;

	bxp_reader_init(&r, p, len);
	while ((rc = bxp_next(&r, &f)) == 1) {
		switch (f.tag) {
		case BXT_VERSION:
			rc = version ? bxp_field_u32(&f, version) : 0;
			break;
		case BXT_T_AGENT_START:
			rc = bxp_field_u64(&f, &s->t_agent_start);
			break;
		case BXT_T_READY:
			rc = bxp_field_u64(&f, &s->t_ready);
			break;
		case BXT_T_SETUP_DONE:
			rc = t_setup_done ? bxp_field_u64(&f, t_setup_done) : 0;
			break;
		case BXT_MESSAGE:
			if (msg && bxp_field_str(&f, msg, msg_cap) == -EPROTO)
				rc = -EPROTO;
			break;
		case BXT_ERRNO:
			rc = err_no ? bxp_field_u32(&f, err_no) : 0;
			break;
		default:
			break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int send_setup(struct shim *s)
{
	struct bxp_writer w;
	uint8_t seed[RNG_SEED_BYTES];
	int rc;

	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return -errno;
	bxp_writer_init(&w, s->scratch, BXP_MAX_PAYLOAD);
	bxp_put_str(&w, BXT_ROOT_DEV, "/dev/vda");
	bxp_put_str(&w, BXT_ROOT_FSTYPE, "ext4");
	bxp_put_str(&w, BXT_HOSTNAME, s->cfg.hostname);
	bxp_put_u64(&w, BXT_CLOCK_NS, real_ns());
	bxp_put_bytes(&w, BXT_RNG_SEED, seed, sizeof(seed));
	if (s->cfg.has_caps)
		bxp_put_u64(&w, BXT_CAPS, s->cfg.caps);
	if (s->cfg.network) {
		/* QEMU user-mode networking's fixed addresses (no DHCP in the guest). */
		bxp_put_str(&w, BXT_NET_IFADDR, "10.0.2.15/24");
		bxp_put_str(&w, BXT_NET_GATEWAY, "10.0.2.2");
		/* With an allow-list the guest asks the agent's DNS proxy, which
		 * asks us (egress.c); slirp's 10.0.2.3 is refused like any IP. */
		bxp_put_str(&w, BXT_NET_DNS, egress_active() ? "127.0.0.1" : "10.0.2.3");
		if (egress_active())
			bxp_put_u32(&w, BXT_NET_DNS_PROXY, 1);
		bxp_put_str(&w, BXT_NET_HOST_ALIAS, "10.0.2.2");
	}
	for (size_t i = 0; i < s->cfg.n_volumes; i++) {
		char vol[1100];

		snprintf(vol, sizeof(vol), "vol%zu:%s:%s", i, s->cfg.volumes[i].read_only ? "ro" : "rw",
			 s->cfg.volumes[i].guest);
		bxp_put_str(&w, BXT_VOLUME, vol);
	}
	for (size_t i = 0; i < s->cfg.n_env; i++)
		bxp_put_str(&w, BXT_ENV, s->cfg.env[i]);
	explicit_bzero(seed, sizeof(seed));
	if (!bxp_writer_ok(&w)) {
		explicit_bzero(s->scratch, w.len);
		return -E2BIG;
	}
	rc = agent_send(s, 0, BXP_SETUP, 0, s->scratch, w.len);
	/* The environment may hold secrets: keep no stray copy. */
	explicit_bzero(s->scratch, w.len);
	return rc;
}

static int on_hello(struct shim *s, const uint8_t *p, size_t len)
{
	uint32_t version = 0;
	int rc;

	rc = fields_parse_timings(s, p, len, &version, NULL, NULL, 0, NULL);
	if (rc < 0)
		return rc;
	s->h_agent_hello = real_ns();
	bx_info("stage agent_hello (+%.1f ms; guest uptime: agent start %.1f ms, hello %.1f ms)",
		since_start_ms(s), s->t_agent_start / 1e6, s->t_ready / 1e6);
	if (version != BXP_VERSION) {
		shim_fail(s, EPROTO, "the guest agent speaks protocol version %u, this shim %u "
			  "(the initramfs does not match this build)", version, BXP_VERSION);
		return 0;
	}
	if (s->resuming) { /* set up before the checkpoint: ready as it is */
		s->h_ready = real_ns();
		s->boot = BOOT_READY;
		bx_info("stage ready: resumed (+%.1f ms; qemu start to ready %.1f ms)", since_start_ms(s),
			(s->h_ready - s->h_qemu_start) / 1e6);
		main_cmd_resumed(s);
		mux_ready(s);
		return 0;
	}
	rc = send_setup(s);
	if (rc == -E2BIG) {
		shim_fail(s, E2BIG, "the box environment does not fit in one SETUP frame (%u bytes)",
			  BXP_MAX_PAYLOAD);
		return 0;
	}
	if (rc < 0) {
		shim_fail(s, -rc, "sending SETUP to the agent: %s", strerror(-rc));
		return 0;
	}
	s->boot = BOOT_WAIT_SETUP_DONE;
	return 0;
}

static int on_setup_done(struct shim *s, const uint8_t *p, size_t len)
{
	int rc = fields_parse_timings(s, p, len, NULL, &s->t_setup_done, NULL, 0, NULL);

	if (rc < 0)
		return rc;
	s->h_ready = real_ns();
	s->boot = BOOT_READY;
	bx_info("stage ready (+%.1f ms; qemu start to ready %.1f ms; guest uptime at setup done %.1f ms)",
		since_start_ms(s), (s->h_ready - s->h_qemu_start) / 1e6, s->t_setup_done / 1e6);
	mux_ready(s);
	return 0;
}

static int boot_frame(struct shim *s, const struct bxp_header *h, const uint8_t *p)
{
	char msg[512] = "";
	uint32_t err_no = 0;
	int rc;

	if (h->chan != 0 && s->resuming) {
		/* What the agent had queued at the checkpoint and sends before its
		 * HELLO (it may not have seen the old host go): the main command's
		 * is the resumed main command's; other sessions are over. */
		if (h->chan != MAIN_AGENT_CHAN)
			return 0;
		main_cmd_resumed(s);
		return main_cmd_from_agent(s, h, p);
	}
	if (h->chan != 0)
		return -EPROTO;
	if (h->type == BXP_HELLO && s->boot == BOOT_WAIT_HELLO)
		return on_hello(s, p, h->len);
	if (h->type == BXP_SETUP_DONE && s->boot == BOOT_WAIT_SETUP_DONE)
		return on_setup_done(s, p, h->len);
	if (h->type == BXP_ERROR) {
		rc = fields_parse_timings(s, p, h->len, NULL, NULL, msg, sizeof(msg), &err_no);
		if (rc < 0)
			return rc;
		/* The agent's message already names the step and the errno text. */
		shim_fail(s, err_no ? (int)err_no : EIO, "the guest agent failed to set up the box: %s",
			  msg[0] ? msg : strerror(err_no ? (int)err_no : EIO));
		return 0;
	}
	if (h->type == BXP_PONG)
		return 0;
	return -EPROTO;
}

static void agent_close(struct shim *s)
{
	if (s->agent_fd >= 0)
		close(s->agent_fd);
	s->agent_fd = -1;
	outq_clear(&s->agent_out);
}

static void agent_lost(struct shim *s, int e)
{
	agent_close(s);
	if (s->qemu_exited || s->done)
		return;
	/* QEMU closes the chardev only when it exits: give SIGCHLD a moment
	 * before calling it a failure. */
	if (e)
		bx_warn("agent channel: %s", strerror(e));
	else
		bx_debug("agent channel closed by QEMU");
	if (s->stop == STOP_NONE)
		shim_stop(s, &stop_agent_lost, "agent channel closed");
}

static void agent_read(struct shim *s)
{
	for (int round = 0; round < 16 && s->agent_fd >= 0; round++) {
		struct bxp_header h;
		const uint8_t *payload;
		size_t avail;
		uint8_t *space = bxp_framer_space(s->agent_in, &avail);
		ssize_t n = read(s->agent_fd, space, avail);
		int rc = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			agent_lost(s, n < 0 ? errno : 0);
			return;
		}
		bxp_framer_commit(s->agent_in, (size_t)n);
		while (s->agent_fd >= 0 && (rc = bxp_framer_next(s->agent_in, &h, &payload)) == 1) {
			if (h.type != BXP_DATA && bxp_payload_validate(payload, h.len) < 0)
				rc = -EPROTO;
			else if (s->boot == BOOT_READY)
				rc = mux_from_agent(s, &h, payload);
			else
				rc = boot_frame(s, &h, payload);
			if (rc < 0)
				break;
		}
		if (rc < 0 && s->agent_fd >= 0) {
			shim_fail(s, EPROTO, "malformed frame from the guest agent (%s on channel %u, %u bytes)",
				  bxp_type_name(h.type), h.chan, h.len);
			agent_close(s);
			return;
		}
		if ((size_t)n < avail)
			return;
	}
}

void vm_agent_io(struct shim *s, short revents)
{
	if (s->agent_fd >= 0 && (revents & POLLOUT)) {
		int rc = outq_flush(&s->agent_out, s->agent_fd);
		if (rc < 0)
			agent_lost(s, -rc);
	}
	if (s->agent_fd >= 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
		agent_read(s);
}

void vm_reap(struct shim *s)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != s->qemu_pid)
			continue;
		/* First, so the backstop can never signal a recycled pid. */
		backstop_disarm();
		s->qemu_exited = 1;
		s->qemu_status = status;
		s->qemu_pid = -1;
		/* Whatever QEMU wrote and the agent sent before the end is still
		 * buffered: take it before reporting. */
		vm_stderr_io(s);
		for (int i = 0; i < 64 && s->agent_fd >= 0; i++)
			agent_read(s);
		agent_close(s);
		shim_on_qemu_exit(s);
	}
}
