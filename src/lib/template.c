/* Warm-start templates (template.h). Making one: QEMU with the box's device
 * set (src/engine, the same builder the shim uses) boots our kernel and
 * agent over a 1 MiB placeholder root disk; once the agent has said HELLO
 * (before it touches any disk), QMP stops the VM and migrates it into the
 * state file through an fd passed with getfd (QEMU's -sandbox forbids
 * exec: URIs). Everything box-specific comes later, in SETUP.
 *
 * Where the template's RAM goes depends on the QEMU:
 *  - QEMU >= 8.2 (bx_engine_caps.ram_file_cow): the template's RAM is a
 *    file, "ram", mapped shared while it boots; the migration skips it
 *    (x-ignore-shared), so the state holds device state only. Clones map
 *    the file read-only and private (BX_MEM_CLONE): they share its page
 *    cache, never write it, and never touch a page their guest does not.
 *  - older QEMU: RAM is anonymous in template and clones alike, and the
 *    stream carries it (zero pages as markers, which a clone's load reads:
 *    every page of its RAM is touched).
 *
 * Layout: <home>/templates/<key>/{state,ram}, made in <key>.tmp.<pid> and
 * renamed; the key hashes everything that shapes the VM or its saved
 * state. Sockets and the placeholder disk live in a short /tmp directory
 * (sun_path). */
#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lock.h"
#include "protocol.h"
#include "qcow2.h"
#include "qmp.h"

#define TEMPLATE_FORMAT 2                 /* bump when the way templates are made changes */
#define TEMPLATE_BOOT_TIMEOUT_MS 30000
#define TEMPLATE_SAVE_TIMEOUT_MS 30000
#define PLACEHOLDER_BYTES (1u << 20)
/* Shapes kept per home (about 40 MB of disk each at 512 MiB of RAM):
 * making one more drops the least recently used. */
#define TEMPLATES_KEPT 4

int bx_template_enabled(void)
{
	const char *v = getenv("BOXLITE_WARM_START");
	return !v || strcmp(v, "0") != 0;
}

/* ---- the key */

static void hash_file(EVP_MD_CTX *md, const char *path)
{
	struct stat st;
	char buf[PATH_MAX + 96];
	int n;

	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	n = snprintf(buf, sizeof(buf), "%s\n%lld %lld.%09ld %llu\n", path, (long long)st.st_size,
		     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
	EVP_DigestUpdate(md, buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1));
}

/* <build>-<shape>: build (16 hex) hashes the files and versions, shape is
 * readable ("tcg-1c-512m-net"). Templates of another build are dropped. */
#define BUILD_HEX 16
#define KEY_MAX 64

static int template_key(boxlite_runtime *rt, unsigned cpus, unsigned memory_mib, int network, unsigned n_volumes,
			char out[KEY_MAX])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	char buf[256];
	int n;

	if (!md)
		return -ENOMEM;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	n = snprintf(buf, sizeof(buf), "boxlite template %d protocol %u version %s\n", TEMPLATE_FORMAT,
		     (unsigned)BXP_VERSION, BOXLITE_VERSION_STRING);
	EVP_DigestUpdate(md, buf, (size_t)n);
	hash_file(md, rt->qemu);
	hash_file(md, rt->kernel);
	hash_file(md, rt->initramfs);
	hash_file(md, rt->shim); /* builds the clone's command line (src/engine) */
	EVP_DigestFinal_ex(md, d, &dlen);
	EVP_MD_CTX_free(md);
	for (int i = 0; i < BUILD_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	n = snprintf(out + BUILD_HEX, KEY_MAX - BUILD_HEX, "-%s-%uc-%um-%s", bx_accel_name(rt->accel), cpus,
		     memory_mib, network ? "net" : "nonet");
	if (n_volumes)
		snprintf(out + BUILD_HEX + n, KEY_MAX - BUILD_HEX - (size_t)n, "-%uvol", n_volumes);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (long)(ms % 1000) * 1000000L }, NULL);
}

static int connect_unix(const char *path, int *fd_out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	*fd_out = fd;
	return 0;
}

/* ---- making one */

struct maker {
	pid_t pid;
	int agent;
	uint64_t deadline; /* ms, monotonic */
};

static int qemu_gone(struct maker *m)
{
	pid_t r;

	if (m->pid <= 0)
		return 1;
	r = waitpid(m->pid, NULL, WNOHANG);
	/* ECHILD: the caller ignores SIGCHLD, the kernel reaped it. */
	if (r == m->pid || (r < 0 && errno == ECHILD)) {
		m->pid = -1;
		return 1;
	}
	return 0;
}

/* Waits until fd is readable; -ETIMEDOUT past the deadline, -ECHILD when
 * QEMU died. */
static int wait_in(struct maker *m, int fd)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ms();
		int rc;

		if (now >= m->deadline)
			return -ETIMEDOUT;
		rc = poll(&p, 1, (int)(m->deadline - now < 50 ? m->deadline - now : 50));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (qemu_gone(m))
			return -ECHILD;
	}
}

/* Connects to the agent port, greets it, waits for the agent's HELLO. */
static int agent_hello(struct maker *m, const char *sock, struct bx_error *err)
{
	_cleanup_free_ struct bxp_framer *fr = malloc(sizeof(*fr));
	uint8_t frame[BXP_HEADER_SIZE + 16];
	struct bxp_writer w;
	struct bxp_header h = { .chan = 0, .type = BXP_HELLO };
	const uint8_t *payload;
	int rc;

	if (!fr)
		return bx_err(err, -ENOMEM, "template: out of memory");
	while ((rc = connect_unix(sock, &m->agent)) < 0) {
		if (rc != -ENOENT && rc != -ECONNREFUSED)
			return bx_err_sys(err, rc, "template: connecting to the agent port");
		if (qemu_gone(m))
			return bx_err(err, -ECHILD, "template: QEMU exited at start");
		if (now_ms() >= m->deadline)
			return bx_err(err, -ETIMEDOUT, "template: QEMU did not open the agent port");
		sleep_ms(5);
	}
	bxp_writer_init(&w, frame + BXP_HEADER_SIZE, sizeof(frame) - BXP_HEADER_SIZE);
	bxp_put_u32(&w, BXT_VERSION, BXP_VERSION);
	h.len = (uint32_t)w.len;
	bxp_header_encode(&h, frame);
	if (send(m->agent, frame, BXP_HEADER_SIZE + w.len, MSG_NOSIGNAL) != (ssize_t)(BXP_HEADER_SIZE + w.len))
		return bx_err_sys(err, -errno, "template: greeting the agent");
	bxp_framer_init(fr);
	for (;;) {
		size_t avail;
		uint8_t *space;
		ssize_t n;

		if ((rc = wait_in(m, m->agent)) < 0)
			return bx_err(err, rc, "template: no HELLO from the agent (%s)", strerror(-rc));
		space = bxp_framer_space(fr, &avail);
		n = read(m->agent, space, avail);
		if (n <= 0)
			return bx_err(err, n == 0 ? -ECONNRESET : -errno, "template: agent port closed");
		bxp_framer_commit(fr, (size_t)n);
		rc = bxp_framer_next(fr, &h, &payload);
		if (rc < 0)
			return bx_err(err, rc, "template: malformed frame from the agent");
		if (rc == 1) {
			if (h.type != BXP_HELLO)
				return bx_err(err, -EPROTO, "template: the agent sent %s, not HELLO",
					      bxp_type_name(h.type));
			return 0;
		}
	}
}

static int qemu_alive(void *m)
{
	return !qemu_gone(m);
}

/* Stops the VM and migrates its state into state_fd; with ram_file, the
 * RAM (in that file) stays out of the stream. Then QEMU quits. */
static int save_state(struct maker *m, const char *sock, int state_fd, int ram_file, struct bx_error *err)
{
	struct bx_error e = { 0 };
	struct bx_qmp q;
	int rc;

	if ((rc = bx_qmp_open(&q, sock, TEMPLATE_SAVE_TIMEOUT_MS, qemu_alive, m, &e)) == 0) {
		if ((rc = bx_qmp_save_state(&q, state_fd, ram_file, &e)) == 0)
			/* QEMU may close the connection before answering quit. */
			bx_qmp_exec(&q, json_pack("{s:s}", "execute", "quit"), -1, NULL, NULL);
		bx_qmp_close(&q);
	}
	return rc < 0 ? bx_err(err, rc, "template: %s", e.msg) : 0;
}

/* Work directories are /tmp/boxlite-tpl-<maker pid>-XXXXXX: removes those
 * of makers that died (their QEMU died with them: die_with_parent). */
#define WORK_PREFIX "/tmp/boxlite-tpl-"

static void sweep_work_dirs(void)
{
	const char *base = WORK_PREFIX + 5; /* the name, without "/tmp/" */
	struct dirent *e;
	DIR *d = opendir("/tmp");

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;
		long pid;
		char *end;

		if (strncmp(e->d_name, base, strlen(base)))
			continue;
		pid = strtol(e->d_name + strlen(base), &end, 10);
		if (pid <= 0 || *end != '-' || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_uid == geteuid())
			bx_rm_rf_at(dirfd(d), e->d_name, NULL);
	}
	closedir(d);
}

/* In the template QEMU's child, before exec: it must not outlive the maker
 * (a caller killed midway would leave it running, paused, forever). The
 * signal follows the forking thread, which waits for QEMU's end anyway.
 * Only async-signal-safe calls: the caller may have other threads. */
static int die_with_parent(void *arg)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != *(pid_t *)arg)
		return -1;
	return 0;
}

/* Appends QEMU's last line of stderr that is not a warning to err's message
 * (QEMU died: that line says why). */
static void add_qemu_reason(struct bx_error *err, const char *errlog)
{
	char buf[4096], *line, *save = NULL, *last = NULL;
	_cleanup_close_ int fd = open(errlog, O_RDONLY | O_CLOEXEC);
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
	ssize_t n;
	size_t len;

	if (!err || size <= 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strstr(line, "warning:"))
			last = line;
	len = strlen(err->msg);
	if (last && len + 8 < sizeof(err->msg))
		snprintf(err->msg + len, sizeof(err->msg) - len, " (%s)", last);
}

static int make_template(boxlite_runtime *rt, unsigned cpus, unsigned memory_mib, int network,
			 unsigned n_volumes, const char *tmp_dir, struct bx_error *err)
{
	char work[64], sock[64], qmp[64], disk[64], base[64], console[64], errlog[64];
	char state[PATH_MAX], ram[PATH_MAX], vol_dir[BX_TEMPLATE_VOLUMES_MAX][64], guest_root[] = "/";
	struct bx_vm_volume vols[BX_TEMPLATE_VOLUMES_MAX];
	struct bx_vm_spec spec = {
		.qemu = rt->qemu, .accel = rt->accel, .kernel = rt->kernel, .initramfs = rt->initramfs,
		.cpus = cpus, .memory_mib = memory_mib, .network = network, .sandbox = 1,
		.volumes = vols, .n_volumes = n_volumes,
	};
	struct maker m = { .pid = -1, .agent = -1 };
	struct bx_engine_caps caps;
	pid_t parent = getpid();
	_cleanup_close_ int efd = -1, sfd = -1, bfd = -1, rfd = -1;
	char **argv = NULL;
	int rc;

	sweep_work_dirs();
	snprintf(work, sizeof(work), "%s%d-XXXXXX", WORK_PREFIX, (int)getpid());
	if (!mkdtemp(work))
		return bx_err_sys(err, -errno, "template: mkdtemp");
	snprintf(sock, sizeof(sock), "%s/agent.sock", work);
	snprintf(qmp, sizeof(qmp), "%s/qmp.sock", work);
	snprintf(disk, sizeof(disk), "%s/disk.qcow2", work);
	snprintf(base, sizeof(base), "%s/placeholder.raw", work);
	snprintf(console, sizeof(console), "%s/console.log", work);
	snprintf(errlog, sizeof(errlog), "%s/qemu.stderr", work);
	spec.agent_sock = sock;
	spec.qmp_sock = qmp;
	spec.console_log = console;
	spec.root_disk = disk;
	/* Volumes are 9p devices after the fixed set: the same devices, empty
	 * exports (the agent mounts nothing before SETUP; a clone's QEMU
	 * serves the box's own directories behind them). */
	if (n_volumes > BX_TEMPLATE_VOLUMES_MAX) {
		rc = bx_err(err, -E2BIG, "template: too many volumes");
		goto out;
	}
	for (unsigned i = 0; i < n_volumes; i++) {
		snprintf(vol_dir[i], sizeof(vol_dir[i]), "%s/vol%u", work, i);
		if (mkdir(vol_dir[i], 0700) < 0) {
			rc = bx_err_sys(err, -errno, "template: %s", vol_dir[i]);
			goto out;
		}
		vols[i] = (struct bx_vm_volume){ .host = vol_dir[i], .guest = guest_root };
	}

	bfd = open(base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (bfd < 0 || ftruncate(bfd, PLACEHOLDER_BYTES) < 0) {
		rc = bx_err_sys(err, -errno, "template: placeholder disk");
		goto out;
	}
	if (bx_path_fmt(state, sizeof(state), "%s/state", tmp_dir) < 0 ||
	    bx_path_fmt(ram, sizeof(ram), "%s/ram", tmp_dir) < 0) {
		rc = bx_err(err, -ENAMETOOLONG, "template: path too long");
		goto out;
	}
	bx_engine_qemu_probe(rt->qemu, &caps);
	if (caps.ram_file_cow) {
		/* Sparse: the file holds what the template's guest wrote. */
		rfd = open(ram, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (rfd < 0 || ftruncate(rfd, (off_t)memory_mib << 20) < 0) {
			rc = bx_err_sys(err, -errno, "template: creating %s", ram);
			goto out;
		}
		spec.mem_path = ram;
		spec.mem_mode = BX_MEM_SHARED;
	}
	if ((rc = bx_qcow2_create_overlay(disk, base, "raw", PLACEHOLDER_BYTES, err)) < 0 ||
	    (rc = bx_engine_qemu_microvm.build_argv(&spec, &argv, err)) < 0)
		goto out;
	efd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if ((rc = bx_engine_spawn_hook(argv, efd, -1, die_with_parent, &parent, &m.pid, err)) < 0)
		goto out;
	m.deadline = now_ms() + TEMPLATE_BOOT_TIMEOUT_MS;
	if ((rc = agent_hello(&m, sock, err)) < 0)
		goto out;
	sfd = open(state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (sfd < 0) {
		rc = bx_err_sys(err, -errno, "template: creating %s", state);
		goto out;
	}
	if ((rc = save_state(&m, qmp, sfd, rfd >= 0, err)) < 0)
		goto out;
	/* The stream is complete once QEMU has exited (its copy of the fd closed). */
	m.deadline = now_ms() + 5000;
	while (!qemu_gone(&m) && now_ms() < m.deadline)
		sleep_ms(2);
	if (m.pid > 0) {
		rc = bx_err(err, -ETIMEDOUT, "template: QEMU did not quit");
		goto out;
	}
	if (fsync(sfd) < 0) {
		rc = bx_err_sys(err, -errno, "template: fsync %s", state);
		goto out;
	}
	/* Read-only from now on, for everyone: clones open it O_RDONLY (and
	 * in the jail through a read-only bind mount, as another uid). */
	if (rfd >= 0 && (fsync(rfd) < 0 || fchmod(rfd, 0444) < 0)) {
		rc = bx_err_sys(err, -errno, "template: %s", ram);
		goto out;
	}
	rc = 0;
out:
	if (rc == -ECHILD)
		add_qemu_reason(err, errlog);
	if (m.agent >= 0)
		close(m.agent);
	if (m.pid > 0) {
		kill(m.pid, SIGKILL);
		waitpid(m.pid, NULL, 0);
	}
	bx_argv_free(argv);
	bx_rm_rf_at(AT_FDCWD, work, NULL);
	return rc;
}

/* Removes templates/<name> unless its maker holds its lock right now. */
static void drop_template(const char *home, int dfd, const char *name)
{
	char lock_name[KEY_MAX + 16];
	int lock = -1;

	snprintf(lock_name, sizeof(lock_name), "template-%.*s", (int)strcspn(name, "."), name);
	if (bx_trylock_box(home, lock_name, &lock, NULL) == 1) {
		bx_rm_rf_at(dfd, name, NULL);
		bx_unlock(&lock);
	}
}

/* Called under the key's lock, before making it. Drops what no start of
 * this build can use: a <key>.tmp.<pid> of ours (its maker died midway: we
 * hold the lock), templates, finished or not, of other builds (unless being
 * made now); and of this build's other shapes, the least recently used
 * (bx_template_get touches a state it hands out) beyond TEMPLATES_KEPT - 1. */
static void drop_unusable(const char *home, const char *key)
{
	char path[PATH_MAX], prefix[KEY_MAX + 8];
	struct {
		char name[KEY_MAX];
		uint64_t used; /* state's mtime, ns */
	} kept[TEMPLATES_KEPT];
	size_t n_kept = 0;
	struct dirent *e;
	DIR *d;

	if (bx_path_fmt(path, sizeof(path), "%s/templates", home) < 0 || !(d = opendir(path)))
		return;
	snprintf(prefix, sizeof(prefix), "%s.tmp.", key);
	while ((e = readdir(d))) {
		char state[KEY_MAX + 8];
		struct stat st;
		size_t oldest = 0;
		uint64_t used;

		if (e->d_name[0] == '.')
			continue;
		if (!strncmp(e->d_name, prefix, strlen(prefix))) {
			bx_rm_rf_at(dirfd(d), e->d_name, NULL);
			continue;
		}
		if (strlen(e->d_name) >= KEY_MAX)
			continue;
		if (strncmp(e->d_name, key, BUILD_HEX)) {
			drop_template(home, dirfd(d), e->d_name);
			continue;
		}
		/* This build: a finished template of another shape. */
		snprintf(state, sizeof(state), "%s/state", e->d_name);
		if (strchr(e->d_name, '.') || fstatat(dirfd(d), state, &st, 0) < 0)
			continue;
		used = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
		if (n_kept < TEMPLATES_KEPT - 1) {
			snprintf(kept[n_kept].name, KEY_MAX, "%s", e->d_name);
			kept[n_kept++].used = used;
			continue;
		}
		for (size_t i = 1; i < n_kept; i++)
			if (kept[i].used < kept[oldest].used)
				oldest = i;
		if (used <= kept[oldest].used) {
			drop_template(home, dirfd(d), e->d_name);
		} else {
			drop_template(home, dirfd(d), kept[oldest].name);
			snprintf(kept[oldest].name, KEY_MAX, "%s", e->d_name);
			kept[oldest].used = used;
		}
	}
	closedir(d);
}

/* ram gets <dir>/ram when the template has its RAM in a file, else "". */
static void ram_path(const char *dir, char *ram, size_t cap)
{
	struct stat st;

	if (bx_path_fmt(ram, cap, "%s/ram", dir) < 0 || stat(ram, &st) < 0 || !S_ISREG(st.st_mode))
		ram[0] = '\0';
}

int bx_template_get(boxlite_runtime *rt, unsigned cpus, unsigned memory_mib, int network, unsigned n_volumes,
		    struct bx_template *tpl, struct bx_error *err)
{
	char key[KEY_MAX], dir[PATH_MAX], tmp[PATH_MAX], lock_name[KEY_MAX + 16];
	char *state = tpl->state;
	size_t cap = sizeof(tpl->state);
	struct stat st;
	int lock = -1, rc;

	tpl->state[0] = tpl->ram[0] = '\0';

	if ((rc = template_key(rt, cpus, memory_mib, network, n_volumes, key)) < 0)
		return bx_err(err, rc, "template: out of memory");
	if (bx_path_fmt(dir, sizeof(dir), "%s/templates/%s", rt->home, key) < 0 ||
	    bx_path_fmt(state, cap, "%s/state", dir) < 0 ||
	    bx_path_fmt(tmp, sizeof(tmp), "%s/templates/%s.tmp.%d", rt->home, key, (int)getpid()) < 0)
		return bx_err(err, -ENAMETOOLONG, "template: home path too long");
	if (stat(state, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		utimensat(AT_FDCWD, state, NULL, 0); /* recently used (drop_unusable) */
		ram_path(dir, tpl->ram, sizeof(tpl->ram));
		return 0;
	}

	snprintf(lock_name, sizeof(lock_name), "template-%s", key);
	if ((rc = bx_lock_box(rt->home, lock_name, &lock, err)) < 0)
		return rc;
	/* Someone else may have made it while we waited. */
	if (stat(state, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		bx_unlock(&lock);
		ram_path(dir, tpl->ram, sizeof(tpl->ram));
		return 0;
	}
	drop_unusable(rt->home, key);
	bx_rm_rf_at(AT_FDCWD, dir, NULL); /* a broken one */
	if ((rc = bx_mkdir_p(tmp, 0700, err)) < 0)
		goto out;
	rc = make_template(rt, cpus, memory_mib, network, n_volumes, tmp, err);
	if (rc == 0 && rename(tmp, dir) < 0)
		rc = bx_err_sys(err, -errno, "template: renaming %s", tmp);
	if (rc < 0)
		bx_rm_rf_at(AT_FDCWD, tmp, NULL);
	else
		ram_path(dir, tpl->ram, sizeof(tpl->ram));
out:
	bx_unlock(&lock);
	if (rc < 0)
		tpl->state[0] = '\0';
	return rc;
}

void bx_template_usage(const char *home, uint32_t *count, uint64_t *bytes)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	*count = 0;
	*bytes = 0;
	if (bx_path_fmt(path, sizeof(path), "%s/templates", home) < 0 || !(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		char state[NAME_MAX + 8];
		struct stat st;

		/* "." and "..", and <key>.tmp.<pid> being made: not templates. */
		if (strchr(e->d_name, '.'))
			continue;
		snprintf(state, sizeof(state), "%s/state", e->d_name);
		if (fstatat(dirfd(d), state, &st, 0) == 0 && S_ISREG(st.st_mode)) {
			(*count)++;
			*bytes += (uint64_t)st.st_blocks * 512u;
			snprintf(state, sizeof(state), "%s/ram", e->d_name); /* sparse */
			if (fstatat(dirfd(d), state, &st, 0) == 0 && S_ISREG(st.st_mode))
				*bytes += (uint64_t)st.st_blocks * 512u;
		}
	}
	closedir(d);
}

void bx_template_discard(const char *state)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", state) >= (int)sizeof(dir) || !(slash = strrchr(dir, '/')))
		return;
	*slash = '\0';
	bx_rm_rf_at(AT_FDCWD, dir, NULL);
}
