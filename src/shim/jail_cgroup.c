/* Per-box cgroup: memory (guest RAM + overhead), CPU (cpus -> quota), pids.
 * Created under the shim's own cgroup (so outer limits still apply) as
 * <current>/boxlite/<box id>: on cgroup v2 when the three controllers can be
 * enabled there, else on the v1 memory, cpu and pids hierarchies. A tiny
 * cleaner process, forked before the shim moves in (so it stays outside),
 * waits for the shim to exit, kills whatever is left in the group and
 * removes it. Needs root; as non-root the caller skips this. */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG_MAX 3
#define CG_OVERHEAD_MIB 384u /* QEMU itself, TCG's code cache, the shim */
#define CG_PIDS_MAX 512
#define CG_CPU_PERIOD_US 100000u

struct cgroups {
	char dir[CG_MAX][PATH_MAX];
	int n;
};

/* The calling process's cgroup path on the hierarchy that has controller
 * ctrl ("" for the v2 unified line "0::"). */
static int self_cgroup(const char *ctrl, char *out, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024];

	while (f && fgets(line, sizeof(line), f)) {
		char *list = strchr(line, ':'), *path, *tok, *save = NULL;

		if (!list || !(path = strchr(list + 1, ':')))
			continue;
		*path++ = '\0';
		list++;
		path[strcspn(path, "\n")] = '\0';
		if (!*ctrl) {
			if (!*list) {
				snprintf(out, len, "%s", path);
				return 0;
			}
			continue;
		}
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (!strcmp(tok, ctrl)) {
				snprintf(out, len, "%s", path);
				return 0;
			}
	}
	return -ENOENT;
}

static int write_file(const char *dir, const char *name, unsigned long long v)
{
	char path[PATH_MAX + 64], buf[64];
	_cleanup_close_ int fd = -1;
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	n = snprintf(buf, sizeof(buf), "%llu", v);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return -errno;
	return 0;
}

static int write_str(const char *dir, const char *name, const char *s)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	ssize_t n = (ssize_t)strlen(s);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, s, (size_t)n) != n)
		return -errno;
	return 0;
}

static int mkdir_ok(const char *path)
{
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static void kill_members(const char *dir)
{
	char path[PATH_MAX + 32];
	_cleanup_fclose_ FILE *f = NULL;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	while (f && fscanf(f, "%d", &pid) == 1)
		if (pid > 1)
			kill(pid, SIGKILL);
}

/* The cleaner: outlives the shim by the time it takes to empty the group. */
static void __attribute__((noreturn)) cleaner(int rd, struct cgroups *cg)
{
	char c;

	setsid();
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_IGN);
	if (chdir("/") < 0)
		_exit(1);
	prctl(PR_SET_NAME, "boxlite-cgclean", 0, 0, 0);
	if (rd > 3)
		syscall(SYS_close_range, 3, rd - 1, 0);
	syscall(SYS_close_range, rd + 1, ~0u, 0);
	while (read(rd, &c, 1) != 0 && (errno == EINTR || errno == EAGAIN))
		;
	/* 5 s at most: an exiting QEMU with a large RAM takes a moment. */
	for (int attempt = 0; attempt < 500; attempt++) {
		int left = 0;
		for (int i = 0; i < cg->n; i++) {
			if (!cg->dir[i][0])
				continue;
			kill_members(cg->dir[i]);
			if (rmdir(cg->dir[i]) == 0 || errno == ENOENT)
				cg->dir[i][0] = '\0';
			else
				left++;
		}
		if (!left)
			break;
		usleep(10000);
	}
	_exit(0);
}

static int setup_v2(const struct bx_shim_config *cfg, struct cgroups *cg, unsigned long long mem)
{
	char cur[PATH_MAX], base[PATH_MAX], parent[PATH_MAX + 16];

	if (access(CG_ROOT "/cgroup.controllers", F_OK) < 0 || self_cgroup("", cur, sizeof(cur)) < 0)
		return -ENOENT;
	snprintf(base, sizeof(base), CG_ROOT "%s", strcmp(cur, "/") ? cur : "");
	snprintf(parent, sizeof(parent), "%s/boxlite", base);
	if (write_str(base, "cgroup.subtree_control", "+memory +cpu +pids") < 0 || mkdir_ok(parent) < 0 ||
	    write_str(parent, "cgroup.subtree_control", "+memory +cpu +pids") < 0)
		return -EPERM;
	snprintf(cg->dir[0], PATH_MAX, "%s/%s.%d", parent, cfg->box_id, (int)getpid());
	if (mkdir_ok(cg->dir[0]) < 0)
		return -errno;
	cg->n = 1;
	if (write_file(cg->dir[0], "memory.max", mem) < 0 ||
	    write_file(cg->dir[0], "memory.swap.max", 0) < 0 ||
	    write_file(cg->dir[0], "pids.max", CG_PIDS_MAX) < 0)
		return -EIO;
	{
		char cpu[64];
		snprintf(cpu, sizeof(cpu), "%u %u", cfg->cpus * CG_CPU_PERIOD_US, CG_CPU_PERIOD_US);
		if (write_str(cg->dir[0], "cpu.max", cpu) < 0)
			return -EIO;
	}
	return 0;
}

static int setup_v1(const struct bx_shim_config *cfg, struct cgroups *cg, unsigned long long mem,
		    struct bx_error *err)
{
	static const char *const ctrls[CG_MAX] = { "memory", "cpu", "pids" };

	for (int i = 0; i < CG_MAX; i++) {
		char cur[PATH_MAX], parent[PATH_MAX + 64];
		int rc;

		if (self_cgroup(ctrls[i], cur, sizeof(cur)) < 0)
			return bx_err(err, -ENOENT, "cgroup: no v1 %s hierarchy", ctrls[i]);
		snprintf(parent, sizeof(parent), CG_ROOT "/%s%s/boxlite", ctrls[i], strcmp(cur, "/") ? cur : "");
		if ((rc = mkdir_ok(parent)) < 0)
			return bx_err_sys(err, rc, "cgroup: mkdir %s", parent);
		snprintf(cg->dir[i], PATH_MAX, "%s/%s.%d", parent, cfg->box_id, (int)getpid());
		if ((rc = mkdir_ok(cg->dir[i])) < 0)
			return bx_err_sys(err, rc, "cgroup: mkdir %s", cg->dir[i]);
		cg->n = i + 1;
	}
	if (write_file(cg->dir[0], "memory.limit_in_bytes", mem) < 0)
		return bx_err_sys(err, -errno, "cgroup: memory limit");
	write_file(cg->dir[0], "memory.swappiness", 0); /* best effort */
	if (write_file(cg->dir[1], "cpu.cfs_period_us", CG_CPU_PERIOD_US) < 0 ||
	    write_file(cg->dir[1], "cpu.cfs_quota_us", (unsigned long long)cfg->cpus * CG_CPU_PERIOD_US) < 0)
		return bx_err_sys(err, -errno, "cgroup: cpu quota");
	if (write_file(cg->dir[2], "pids.max", CG_PIDS_MAX) < 0)
		return bx_err_sys(err, -errno, "cgroup: pids limit");
	return 0;
}

int bx_jail_cgroup(const struct bx_shim_config *cfg, struct bx_error *err)
{
	unsigned long long mem = ((unsigned long long)cfg->memory_mib + CG_OVERHEAD_MIB + cfg->memory_mib / 8)
				 << 20;
	struct cgroups cg = { .n = 0 };
	const char *kind = "v2";
	int fds[2], rc;
	pid_t pid;

	if (geteuid() != 0) {
		bx_info("cgroup: not root: per-box limits skipped");
		return 0;
	}
	if (setup_v2(cfg, &cg, mem) < 0) {
		for (int i = 0; i < cg.n; i++)
			rmdir(cg.dir[i]);
		memset(&cg, 0, sizeof(cg));
		kind = "v1";
		if ((rc = setup_v1(cfg, &cg, mem, err)) < 0)
			goto undo;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		rc = bx_err_sys(err, -errno, "cgroup: pipe");
		goto undo;
	}
	pid = fork();
	if (pid < 0) {
		rc = bx_err_sys(err, -errno, "cgroup: fork");
		close(fds[0]);
		close(fds[1]);
		goto undo;
	}
	if (pid == 0) {
		close(fds[1]);
		cleaner(fds[0], &cg);
	}
	close(fds[0]);
	/* fds[1] stays open (close-on-exec) until the shim exits. */
	for (int i = 0; i < cg.n; i++)
		if ((rc = write_str(cg.dir[i], "cgroup.procs", "0")) < 0)
			return bx_err_sys(err, rc, "cgroup: joining %s", cg.dir[i]);
	bx_info("cgroup %s: %s (memory %llu MiB, %u cpu, pids %d)", kind, cg.dir[0], mem >> 20, cfg->cpus,
		CG_PIDS_MAX);
	return 0;
undo:
	for (int i = 0; i < cg.n; i++)
		rmdir(cg.dir[i]);
	return rc;
}
