/* Accelerator choice: BOXLITE_ACCEL=auto|kvm|tcg. In auto, a KVM verdict
 * comes from a real boot of our kernel to the agent's HELLO (the mere
 * existence of /dev/kvm proves nothing: nested "PVM" hosts expose one that
 * cannot boot Linux). The verdict is a fact about the host, not about a home:
 * it is cached per user in $BOXLITE_CACHE_DIR (default
 * $XDG_CACHE_HOME/boxlite or ~/.cache/boxlite) keyed by the host's boot id,
 * so the probe runs once per host boot. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "internal.h"
#include "protocol.h"

#define PROBE_TIMEOUT_MS 8000

static void read_boot_id(char *out, size_t cap)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	snprintf(out, cap, "unknown");
	if (f) {
		if (fgets(out, (int)cap, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

/* The cache file's path, creating its directory; falls back to the home. */
static void cache_path(boxlite_runtime *rt, char *out, size_t cap)
{
	const char *dir = getenv("BOXLITE_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
		   *home = getenv("HOME");
	char buf[PATH_MAX];

	if (dir && *dir)
		snprintf(buf, sizeof(buf), "%s", dir);
	else if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/boxlite", xdg);
	else if (home && *home)
		snprintf(buf, sizeof(buf), "%s/.cache/boxlite", home);
	else
		snprintf(buf, sizeof(buf), "%s", rt->home);
	if (bx_mkdir_p(buf, 0700, NULL) < 0)
		snprintf(buf, sizeof(buf), "%s", rt->home);
	snprintf(out, cap, "%s/accel", buf);
}

static int cache_load(boxlite_runtime *rt, const char *boot_id)
{
	char path[PATH_MAX], line[512], id[64], verdict[8];
	int off = 0;
	_cleanup_fclose_ FILE *f = NULL;

	cache_path(rt, path, sizeof(path));
	f = fopen(path, "re");
	if (!f || !fgets(line, sizeof(line), f))
		return -ENOENT;
	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%63s %7s %n", id, verdict, &off) < 2 || strcmp(id, boot_id))
		return -ENOENT;
	if (!strcmp(verdict, "kvm"))
		rt->accel = BX_ACCEL_KVM;
	else if (!strcmp(verdict, "tcg"))
		rt->accel = BX_ACCEL_TCG;
	else
		return -ENOENT;
	snprintf(rt->accel_reason, sizeof(rt->accel_reason), "%s (probe cached for this host boot)",
		 off ? line + off : "");
	return 0;
}

static void cache_store(boxlite_runtime *rt, const char *boot_id, const char *reason)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	FILE *f;

	cache_path(rt, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s %s %s\n", boot_id, bx_accel_name(rt->accel), reason);
	if (fclose(f) == 0 && rename(tmp, path) == 0)
		return;
	unlink(tmp);
}

/* Reads frames from fd until a HELLO arrives or the deadline passes. */
static int wait_hello(int fd, pid_t qemu, uint64_t deadline_ns)
{
	_cleanup_free_ struct bxp_framer *fr = malloc(sizeof(*fr));
	struct bxp_header h;
	const uint8_t *payload;

	if (!fr)
		return -ENOMEM;
	bxp_framer_init(fr);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = bx_now_ns();
		size_t avail;
		uint8_t *space;
		ssize_t n;
		int rc;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		if (waitpid(qemu, NULL, WNOHANG) == qemu)
			return -ECHILD;
		rc = poll(&p, 1, 100);
		if (rc <= 0)
			continue;
		space = bxp_framer_space(fr, &avail);
		n = read(fd, space, avail);
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		bxp_framer_commit(fr, (size_t)n);
		rc = bxp_framer_next(fr, &h, &payload);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return h.type == BXP_HELLO ? 0 : -EPROTO;
	}
}

/* Boots the kernel and agent under KVM with no disk and no network; success
 * is the agent's HELLO on its port. Fills reason either way. */
static int probe_kvm(boxlite_runtime *rt, char *reason, size_t cap)
{
	char dir[] = "/tmp/boxlite-probe-XXXXXX", sock[64], errlog[64];
	struct bx_vm_spec spec = {
		.qemu = rt->qemu, .accel = BX_ACCEL_KVM, .kernel = rt->kernel,
		.initramfs = rt->initramfs, .cpus = 1, .memory_mib = 128, .network = 0,
	};
	struct bx_error err = { 0 };
	char **argv = NULL;
	pid_t pid = 0;
	int fd = -1, efd = -1, rc;
	uint64_t deadline;

	if (!mkdtemp(dir)) {
		snprintf(reason, cap, "KVM probe could not run: %s", strerror(errno));
		return -errno;
	}
	snprintf(sock, sizeof(sock), "%s/agent.sock", dir);
	snprintf(errlog, sizeof(errlog), "%s/qemu.stderr", dir);
	spec.agent_sock = sock;
	rc = bx_engine_qemu_microvm.build_argv(&spec, &argv, &err);
	if (rc == 0) {
		efd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		rc = bx_engine_spawn(argv, efd, &pid, &err);
	}
	if (rc < 0) {
		snprintf(reason, cap, "KVM probe could not start QEMU: %s", err.msg);
		goto out;
	}
	deadline = bx_now_ns() + PROBE_TIMEOUT_MS * 1000000ull;
	rc = -ETIMEDOUT;
	while (bx_now_ns() < deadline) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			rc = wait_hello(fd, pid, deadline);
			if (rc == -ECHILD)
				pid = 0;
			break;
		}
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			pid = 0;
			rc = -ECHILD;
			break;
		}
		usleep(20000);
	}
	if (rc == 0) {
		snprintf(reason, cap, "KVM works: a probe VM booted to the agent");
	} else {
		char tail[200] = "";
		FILE *f = fopen(errlog, "re");
		if (f) {
			char line[200];
			while (fgets(line, sizeof(line), f))
				if (line[0] != '\n')
					snprintf(tail, sizeof(tail), "%s", line);
			fclose(f);
			tail[strcspn(tail, "\n")] = '\0';
		}
		if (rc == -ETIMEDOUT)
			snprintf(reason, cap, "KVM probe VM was not ready within %d ms%s%s",
				 PROBE_TIMEOUT_MS, tail[0] ? ": " : "", tail);
		else
			snprintf(reason, cap, "KVM probe VM failed%s%s", tail[0] ? ": " : "", tail);
	}
out:
	if (fd >= 0)
		close(fd);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (efd >= 0)
		close(efd);
	bx_argv_free(argv);
	bx_rm_rf_at(AT_FDCWD, dir, NULL);
	return rc;
}

static int accel_decide_locked(boxlite_runtime *rt, struct bx_error *err)
{
	const char *mode = getenv("BOXLITE_ACCEL");
	char boot_id[64], reason[200];
	int fd;

	if (rt->accel_decided)
		return 0;
	if (!mode || !*mode)
		mode = "auto";
	if (!strcmp(mode, "tcg") || !strcmp(mode, "kvm")) {
		rt->accel = strcmp(mode, "kvm") ? BX_ACCEL_TCG : BX_ACCEL_KVM;
		snprintf(rt->accel_reason, sizeof(rt->accel_reason), "forced by BOXLITE_ACCEL=%s", mode);
		rt->accel_decided = 1;
		return 0;
	}
	if (strcmp(mode, "auto"))
		return bx_err(err, -EINVAL, "BOXLITE_ACCEL=%s is not one of auto, kvm, tcg", mode);

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rt->accel = BX_ACCEL_TCG;
		snprintf(rt->accel_reason, sizeof(rt->accel_reason),
			 "/dev/kvm is not usable (%s); using software emulation", strerror(errno));
		rt->accel_decided = 1;
		return 0;
	}
	close(fd);

	read_boot_id(boot_id, sizeof(boot_id));
	if (cache_load(rt, boot_id) == 0) {
		rt->accel_decided = 1;
		return 0;
	}
	if (probe_kvm(rt, reason, sizeof(reason)) == 0) {
		rt->accel = BX_ACCEL_KVM;
	} else {
		rt->accel = BX_ACCEL_TCG;
		/* The notice the brief asks for: one line, once per host boot. */
		snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason), "; using TCG");
	}
	cache_store(rt, boot_id, reason);
	snprintf(rt->accel_reason, sizeof(rt->accel_reason), "%s", reason);
	rt->accel_decided = 1;
	return 0;
}

/* Threads sharing the runtime decide once; the others wait for the verdict. */
int bx_accel_decide(boxlite_runtime *rt, struct bx_error *err)
{
	pthread_mutex_lock(&rt->lazy_mu);
	int rc = accel_decide_locked(rt, err);
	pthread_mutex_unlock(&rt->lazy_mu);
	return rc;
}
