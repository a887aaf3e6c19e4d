/* Warm start: the box's QEMU loads a booted template's migration stream
 * instead of booting (docs/architecture.md, "Warm start"). The library made
 * the template (src/lib/template.c) and names its state file in the config;
 * the shim opens it before entering the jail and QEMU reads it from fd 3
 * (-incoming fd:3 -S; with the template's RAM file, -incoming defer and QMP
 * migrate-incoming, see start_incoming). Once loaded: QMP block_resize tells the guest its
 * real root disk size (the template probed a placeholder), then cont. The
 * agent notices the new host on its port and greets it with HELLO; SETUP
 * then gives the clone its own identity (hostname, clock, RNG seed, disk).
 * Any failure here makes vm.c boot the box cold. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "engine.h"
#include "log.h"
#include "qmp.h"
#include "shim.h"

#define WARM_LOAD_TIMEOUT_MS 10000u
#define QCOW2_MAGIC 0x514649fbu

void vm_warm_open(struct shim *s)
{
	int fd, hi;

	const char *state = s->cfg.resume_state ? s->cfg.resume_state : s->cfg.template_state;

	if (s->cfg.template_error && !s->cfg.resume_state)
		bx_warn("warm start: no template (%s); booting cold", s->cfg.template_error);
	if (!state || s->warm_fd > 0)
		return;
	if (s->cfg.n_allow_net) {
		/* The library never asks for this: an allow-list runs QEMU under
		 * the egress supervisor. */
		bx_info("warm start: not for a box with an allow-list; booting cold");
		return;
	}
	fd = open(state, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bx_warn("warm start: %s: %s; booting cold", state, strerror(errno));
		return;
	}
	/* Above the fds the shim sets up early (watchdog at 3), never 0..3. */
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	if (hi < 0) {
		bx_warn("warm start: dup: %s; booting cold", strerror(errno));
		return;
	}
	s->warm_fd = hi;
}

void vm_warm_close(struct shim *s)
{
	if (s->warm_fd > 0)
		close(s->warm_fd);
	s->warm_fd = 0;
}

/* The virtual size of a qcow2 image (header: magic at 0, size at 24, BE). */
static int qcow2_virtual_size(const char *path, uint64_t *size, struct bx_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t h[32];
	uint32_t magic = 0;
	uint64_t v = 0;

	if (fd < 0)
		return bx_err_sys(err, -errno, "root disk %s", path);
	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return bx_err(err, -EIO, "root disk %s: short header", path);
	for (int i = 0; i < 4; i++)
		magic = magic << 8 | h[i];
	for (int i = 24; i < 32; i++)
		v = v << 8 | h[i];
	if (magic != QCOW2_MAGIC || v == 0)
		return bx_err(err, -EINVAL, "root disk %s: not a qcow2 image", path);
	*size = v;
	return 0;
}

static unsigned ms_left(uint64_t deadline)
{
	uint64_t now = mono_ns();
	return now >= deadline ? 1 : (unsigned)((deadline - now) / 1000000u) + 1;
}

static int qemu_alive(struct shim *s, struct bx_error *err)
{
	int status;

	if (waitpid(s->qemu_pid, &status, WNOHANG) == s->qemu_pid) {
		s->qemu_pid = -1;
		vm_stderr_io(s);
		return bx_err(err, -ECHILD, "QEMU exited while loading the template (%s)",
			      vm_stderr_tail(s)[0] ? vm_stderr_tail(s) : "no message");
	}
	return 0;
}

/* A RAM-file template's clone (-incoming defer): its RAM is the template's
 * file, mapped copy-on-write, so the stream it loads holds device state
 * only; x-ignore-shared tells the load so, then it reads fd 3 (in an fd
 * set, as "file:"). */
static int start_incoming(struct shim *s, uint64_t deadline, struct bx_error *err)
{
	json_t *caps = json_pack("{s:s, s:{s:[{s:s, s:b}]}}", "execute", "migrate-set-capabilities", "arguments",
				 "capabilities", "capability", "x-ignore-shared", "state", 1);
	int rc;

	for (;;) { /* QMP is up a few ms after QEMU starts */
		struct bx_error e = { 0 };

		if ((rc = qemu_alive(s, err)) < 0) {
			json_decref(caps);
			return rc;
		}
		rc = bx_qmp_call(QMP_SOCK, json_incref(caps), NULL, ms_left(deadline), &e);
		if ((rc != -ENOENT && rc != -ECONNREFUSED) || mono_ns() >= deadline) {
			json_decref(caps);
			if (rc < 0)
				return bx_err(err, rc, "%s", e.msg);
			break;
		}
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return bx_qmp_call(QMP_SOCK,
			json_pack("{s:s, s:{s:s}}", "execute", "migrate-incoming", "arguments", "uri", BX_VM_INCOMING_URI), NULL,
			ms_left(deadline), err);
}

int vm_warm_resume(struct shim *s, struct bx_error *err)
{
	uint64_t deadline = mono_ns() + WARM_LOAD_TIMEOUT_MS * 1000000ull, size = 0;
	uint64_t t0 = mono_ns();
	json_t *ret = NULL;
	int rc;

	rc = qcow2_virtual_size(s->cfg.root_disk, &size, err);
	if (rc < 0)
		return rc;
	if (s->cfg.template_ram && (rc = start_incoming(s, deadline, err)) < 0)
		return rc;
	/* QEMU answers QMP once the state is loaded (the load holds its main
	 * loop): until then, connecting fails or the greeting waits. */
	for (;;) {
		struct bx_error e = { 0 };
		const char *st;

		if ((rc = qemu_alive(s, err)) < 0)
			return rc;
		if (mono_ns() >= deadline)
			return bx_err(err, -ETIMEDOUT, "the template's state did not load in %u ms",
				      WARM_LOAD_TIMEOUT_MS);
		rc = bx_qmp_call(QMP_SOCK, json_pack("{s:s}", "execute", "query-status"), &ret, ms_left(deadline), &e);
		if (rc == -ENOENT || rc == -ECONNREFUSED || rc == -ECONNRESET) {
			nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
			continue;
		}
		if (rc < 0)
			return bx_err(err, rc, "%s", e.msg);
		st = json_string_value(json_object_get(ret, "status"));
		if (st && !strcmp(st, "inmigrate")) {
			json_decref(ret);
			ret = NULL;
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
			continue;
		}
		if (!st || (strcmp(st, "paused") && strcmp(st, "prelaunch"))) {
			rc = bx_err(err, -EIO, "after loading the template QEMU is %s", st ? st : "in no state");
			json_decref(ret);
			return rc;
		}
		json_decref(ret);
		ret = NULL;
		break;
	}
	bx_info("warm start: template state loaded (%.1f ms)", (mono_ns() - t0) / 1e6);
	/* QEMU >= 10 leaves block nodes inactive after an incoming migration
	 * until the VM runs, and an inactive node cannot be resized: activate
	 * them (older QEMU has no such command, and active nodes). */
	if (s->cfg.template_ram) {
		struct bx_error e = { 0 };

		rc = bx_qmp_call(QMP_SOCK,
			      json_pack("{s:s, s:{s:b}}", "execute", "blockdev-set-active", "arguments", "active", 1),
			      NULL, ms_left(deadline), &e);
		if (rc < 0 && !strstr(e.msg, "CommandNotFound") && !strstr(e.msg, "not found"))
			return bx_err(err, rc, "%s", e.msg);
	}
	/* The guest probed the template's placeholder disk: the resize raises
	 * virtio-blk's config-change interrupt, taken as soon as it runs. (A
	 * checkpoint's guest knows its disk already: nodes stay inactive until
	 * cont, and a resize would be refused.) */
	if (!s->cfg.resume_state &&
	    (rc = bx_qmp_call(QMP_SOCK,
			      json_pack("{s:s, s:{s:s, s:I}}", "execute", "block_resize", "arguments", "device",
					"root", "size", (json_int_t)size),
			      NULL, ms_left(deadline), err)) < 0)
		return rc;
	rc = bx_qmp_call(QMP_SOCK, json_pack("{s:s}", "execute", "cont"), NULL, ms_left(deadline), err);
	if (rc < 0)
		return rc;
	bx_info("stage warm_resumed: disk %llu MiB (+%.1f ms)", (unsigned long long)(size >> 20),
		since_start_ms(s));
	return 0;
}
