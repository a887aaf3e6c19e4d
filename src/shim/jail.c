/* The jail (jail.h, docs/security.md). Order matters:
 *
 *   as root:     cgroup -> chown the box dir to the box uid -> unshare
 *                mount/pid/ipc/uts[/net] -> build the root and pivot_root
 *                (host root can still look up every source path) -> become
 *                the box uid -> unshare user (maps only that uid);
 *   as non-root: unshare user+mount/pid/ipc/uts[/net] (maps only our own
 *                uid) -> build the root and pivot_root;
 *   then both:   rlimits -> drop every capability -> no_new_privs -> seccomp.
 *
 * The jail's root is a small tmpfs that mirrors, at the same absolute paths,
 * only what QEMU needs: so every path in the config stays valid, and host
 * clients keep reaching box.sock (the box dir is a bind mount: same inode). */
#include "jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

#define JAIL_MAX_BINDS 256

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define LDSO "/lib64/ld-linux-x86-64.so.2"

enum bind_kind { BIND_RO, BIND_RW, BIND_DEV };

struct bind {
	char path[PATH_MAX]; /* host path as given (may go through symlinks) */
	enum bind_kind kind;
	int optional;        /* skip silently when missing */
	int volume;          /* a volume: idmapped to the box uid when root */
	int userns;          /* root, volume: idmapping user namespace fd, else -1 */
};

struct plan {
	struct bind b[JAIL_MAX_BINDS];
	size_t n;
	char done[JAIL_MAX_BINDS][PATH_MAX]; /* resolved targets already mounted */
	size_t n_done;
	uid_t box_uid;       /* root: the box's uid (volumes are idmapped to it); else -1 */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int plan_add(struct plan *p, const char *path, enum bind_kind kind, int optional,
		    struct bx_error *err)
{
	if (p->n == JAIL_MAX_BINDS)
		return bx_err(err, -E2BIG, "jail: more than %d paths", JAIL_MAX_BINDS);
	if (path[0] != '/' || strlen(path) >= PATH_MAX)
		return bx_err(err, -EINVAL, "jail: path must be absolute: %s", path);
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->b[i].path, path)) {
			/* The most permissive use wins: a device (e.g. /dev/null
			 * given as the kernel) must stay openable. */
			if (kind > p->b[i].kind)
				p->b[i].kind = kind;
			p->b[i].optional &= optional;
			return 0;
		}
	snprintf(p->b[p->n].path, PATH_MAX, "%s", path);
	p->b[p->n].kind = kind;
	p->b[p->n].optional = optional;
	p->n++;
	return 0;
}

/* ---- what QEMU needs */

/* The engine's shared libraries, as the dynamic loader resolves them
 * (`ld.so --list`; a static binary has none). */
static int plan_libs(struct plan *p, const char *exe, struct bx_error *err)
{
	char *argv[] = { (char *)LDSO, (char *)"--list", (char *)exe, NULL };
	char *envp[] = { NULL };
	char buf[64 * 1024], *line, *save = NULL;
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	int fds[2], rc, status;
	pid_t pid;

	if (access(LDSO, X_OK) < 0)
		return 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return bx_err_sys(err, -errno, "jail: pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, LDSO, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return bx_err_sys(err, -rc, "jail: running %s --list", LDSO);
	}
	for (;;) {
		ssize_t n = read(fds[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			break;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[len] = '\0';
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 0; /* "not a dynamic executable" */
	/* Lines: "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or
	 * "\t/lib64/ld-linux-x86-64.so.2 (0x...)" or "\tlinux-vdso.so.1 (0x...)". */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = strstr(line, "=> ");
		char *end;

		path = path ? path + 3 : line + strspn(line, " \t");
		if (path[0] != '/')
			continue;
		end = strstr(path, " (");
		if (end)
			*end = '\0';
		if ((rc = plan_add(p, path, BIND_RO, 0, err)) < 0)
			return rc;
	}
	return 0;
}

/* Firmware and data: the directory, plus whatever its symlinks point to. */
static int plan_data_dir(struct plan *p, const char *dir, struct bx_error *err)
{
	__attribute__((cleanup(closedirp))) DIR *d = NULL;
	struct dirent *e;
	int rc;

	if (access(dir, R_OK | X_OK) < 0)
		return 0;
	if ((rc = plan_add(p, dir, BIND_RO, 1, err)) < 0)
		return rc;
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char link[PATH_MAX], target[PATH_MAX];
		ssize_t n;

		if (e->d_type != DT_LNK)
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		if (!realpath(link, target))
			continue;
		n = (ssize_t)strlen(dir);
		if (!strncmp(target, dir, (size_t)n) && target[n] == '/')
			continue; /* inside the directory already */
		if ((rc = plan_add(p, target, BIND_RO, 1, err)) < 0)
			return rc;
	}
	return 0;
}

static uint64_t be64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* The root disk's backing chain (qcow2 headers name their backing file). */
static int plan_backing_chain(struct plan *p, const char *disk, struct bx_error *err)
{
	char cur[PATH_MAX], next[PATH_MAX];
	int rc;

	snprintf(cur, sizeof(cur), "%s", disk);
	for (int depth = 0; depth < 64; depth++) { /* overlays (snapshots) over the image base */
		unsigned char h[20];
		_cleanup_close_ int fd = open(cur, O_RDONLY | O_CLOEXEC);
		uint64_t off;
		uint32_t len;
		char name[PATH_MAX];

		if (fd < 0 || pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
			return 0;
		if (memcmp(h, "QFI\xfb", 4))
			return 0; /* raw: the end of the chain */
		off = be64(h + 8);
		len = (uint32_t)h[16] << 24 | (uint32_t)h[17] << 16 | (uint32_t)h[18] << 8 | h[19];
		if (off == 0 || len == 0)
			return 0;
		if (len >= sizeof(name))
			return bx_err(err, -ENAMETOOLONG, "jail: backing file name of %s too long", cur);
		if (pread(fd, name, len, (off_t)off) != (ssize_t)len)
			return bx_err(err, -EIO, "jail: reading the backing file name of %s", cur);
		name[len] = '\0';
		if (name[0] == '/') {
			snprintf(next, sizeof(next), "%s", name);
		} else {
			const char *slash = strrchr(cur, '/');
			if (slash)
				snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - cur), cur, name);
			else
				snprintf(next, sizeof(next), "%s", name);
		}
		if (next[0] != '/') {
			char cwd[PATH_MAX], tmp[PATH_MAX];
			if (!getcwd(cwd, sizeof(cwd)))
				return bx_err_sys(err, -errno, "jail: getcwd");
			snprintf(tmp, sizeof(tmp), "%s/%s", cwd, next);
			snprintf(next, sizeof(next), "%s", tmp);
		}
		if ((rc = plan_add(p, next, BIND_RO, 0, err)) < 0)
			return rc;
		snprintf(cur, sizeof(cur), "%s", next);
	}
	return 0;
}

static int plan_build(const struct bx_shim_config *cfg, struct plan *p, struct bx_error *err)
{
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					     "/dev/urandom" };
	int rc;

	/* Devices first: a later path that resolves to the same file is
	 * mounted once, the first way. */
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if ((rc = plan_add(p, devs[i], BIND_DEV, 1, err)) < 0)
			return rc;
	if ((rc = plan_add(p, cfg->box_dir, BIND_RW, 0, err)) < 0 ||
	    (rc = plan_add(p, cfg->qemu, BIND_RO, 0, err)) < 0 || (rc = plan_libs(p, cfg->qemu, err)) < 0 ||
	    (rc = plan_add(p, cfg->kernel, BIND_RO, 0, err)) < 0 ||
	    (rc = plan_add(p, cfg->initramfs, BIND_RO, 0, err)) < 0 ||
	    (rc = plan_backing_chain(p, cfg->root_disk, err)) < 0 ||
	    (rc = plan_add(p, "/etc/ld.so.cache", BIND_RO, 1, err)) < 0 ||
	    (rc = plan_data_dir(p, "/usr/share/qemu", err)) < 0 ||
	    (rc = plan_add(p, "/usr/lib/x86_64-linux-gnu/qemu", BIND_RO, 1, err)) < 0)
		return rc;
	if (cfg->accel == BX_ACCEL_KVM && (rc = plan_add(p, "/dev/kvm", BIND_DEV, 0, err)) < 0)
		return rc;
	/* Warm start: the template's RAM file, read-only (the file is 0444
	 * too). Optional: without it the clone fails and the box boots cold. */
	if (cfg->template_ram && (rc = plan_add(p, cfg->template_ram, BIND_RO, 1, err)) < 0)
		return rc;
	/* --allow-net: the shim resolves permitted names (egress.c). */
	if (cfg->n_allow_net) {
		static const char *const resolver[] = { "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
							"/etc/gai.conf", "/etc/host.conf" };
		for (size_t i = 0; i < sizeof(resolver) / sizeof(resolver[0]); i++)
			if ((rc = plan_add(p, resolver[i], BIND_RO, 1, err)) < 0)
				return rc;
	}
	/* Volumes: QEMU's 9p backend serves them from inside the jail. */
	for (size_t i = 0; i < cfg->n_volumes; i++) {
		size_t n = p->n;

		if ((rc = plan_add(p, cfg->volumes[i].host, cfg->volumes[i].read_only ? BIND_RO : BIND_RW, 0,
				   err)) < 0)
			return rc;
		if (p->n == n)
			return bx_err(err, -EINVAL, "volume %s: a path the box itself uses",
				      cfg->volumes[i].host);
		p->b[p->n - 1].volume = 1;
		p->b[p->n - 1].userns = -1;
	}
	return 0;
}

/* ---- building the root */

static int path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* A host directory to mount the new root's tmpfs on (in our own mount
 * namespace only) that holds none of the paths we still have to read. */
static const char *pick_mount_point(const struct plan *p)
{
	static const char *const cand[] = { "/mnt", "/media", "/srv", "/opt", "/boot", "/run",
					    "/var/tmp", "/tmp", "/home" };

	for (size_t c = 0; c < sizeof(cand) / sizeof(cand[0]); c++) {
		struct stat st;
		int ok = 1;

		if (lstat(cand[c], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		for (size_t i = 0; i < p->n && ok; i++) {
			char real[PATH_MAX];
			if (path_under(p->b[i].path, cand[c]) ||
			    (realpath(p->b[i].path, real) && path_under(real, cand[c])))
				ok = 0;
		}
		if (ok)
			return cand[c];
	}
	return NULL;
}

/* Makes host path `path` exist under `jail` at the same place: directories
 * as empty directories, symlinks as the same symlinks (then their targets),
 * the last component as an empty file or directory to bind onto. *final
 * gets the symlink-free host path. */
static int mirror(const char *jail, const char *path, int depth, char *final, struct bx_error *err)
{
	char cur[PATH_MAX] = "", tgt[2 * PATH_MAX];
	const char *p = path;

	if (depth > 16)
		return bx_err(err, -ELOOP, "jail: too many symlinks under %s", path);
	while (*p) {
		const char *e;
		size_t clen = strlen(cur);
		struct stat st;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		if (e - p == 1 && p[0] == '.') {
			p = e;
			continue;
		}
		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(cur, '/');
			if (slash)
				*slash = '\0';
			p = e;
			continue;
		}
		if (clen + 1 + (size_t)(e - p) >= sizeof(cur))
			return bx_err(err, -ENAMETOOLONG, "jail: path too long");
		snprintf(cur + clen, sizeof(cur) - clen, "/%.*s", (int)(e - p), p);
		if (lstat(cur, &st) < 0)
			return bx_err_sys(err, -errno, "jail: %s", cur);
		snprintf(tgt, sizeof(tgt), "%s%s", jail, cur);
		if (S_ISLNK(st.st_mode)) {
			char link[PATH_MAX], next[2 * PATH_MAX + 2];
			ssize_t n = readlink(cur, link, sizeof(link) - 1);

			if (n < 0)
				return bx_err_sys(err, -errno, "jail: readlink %s", cur);
			link[n] = '\0';
			if (symlink(link, tgt) < 0 && errno != EEXIST)
				return bx_err_sys(err, -errno, "jail: symlink %s", cur);
			if (link[0] == '/')
				snprintf(next, sizeof(next), "%s%s", link, e);
			else
				snprintf(next, sizeof(next), "%.*s/%s%s", (int)(strrchr(cur, '/') - cur), cur,
					 link, e);
			if (strlen(next) >= PATH_MAX)
				return bx_err(err, -ENAMETOOLONG, "jail: path too long");
			return mirror(jail, next, depth + 1, final, err);
		}
		if (*e == '\0' && !S_ISDIR(st.st_mode)) {
			int fd = open(tgt, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
			if (fd < 0)
				return bx_err_sys(err, -errno, "jail: creating %s", tgt);
			close(fd);
		} else if (mkdir(tgt, 0755) < 0 && errno != EEXIST) {
			return bx_err_sys(err, -errno, "jail: mkdir %s", tgt);
		}
		p = e;
	}
	snprintf(final, PATH_MAX, "%s", cur[0] ? cur : "/");
	return 0;
}

/* Flags a remount must keep, or the kernel refuses it in a user namespace. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int bind_one(struct plan *p, const char *jail, const struct bind *b, struct bx_error *err)
{
	char final[PATH_MAX], tgt[2 * PATH_MAX];
	unsigned long want;
	int rc;

	if (b->optional && access(b->path, F_OK) < 0)
		return 0;
	if ((rc = mirror(jail, b->path, 0, final, err)) < 0)
		return rc;
	for (size_t i = 0; i < p->n_done; i++)
		if (!strcmp(p->done[i], final))
			return 0;
	snprintf(p->done[p->n_done++], PATH_MAX, "%s", final);
	snprintf(tgt, sizeof(tgt), "%s%s", jail, final);
	if (b->volume && b->userns >= 0) {
		rc = bx_jail_bind_idmapped(final, tgt, b->userns, err);
		if (rc < 0)
			return rc;
	} else if (mount(final, tgt, NULL, MS_BIND, NULL) < 0)
		return bx_err_sys(err, -errno, "jail: bind %s", final);
	want = b->kind == BIND_RO ? MS_RDONLY | MS_NOSUID | MS_NODEV
	       : b->kind == BIND_RW ? MS_NOSUID | MS_NODEV | MS_NOEXEC
				    : MS_NOSUID | MS_NOEXEC;
	if (mount(NULL, tgt, NULL, MS_REMOUNT | MS_BIND | want | locked_flags(tgt), NULL) < 0)
		return bx_err_sys(err, -errno, "jail: remount %s", final);
	return 0;
}

/* QEMU's 9p backend sets modes through /proc/self/fd (fchmodat_nofollow):
 * with volumes the jail gets a proc showing only the box uid's processes
 * (hidepid=invisible) and only the pid directories (subset=pid). A non-root
 * shim may not mount a proc for the host's pid namespace: it binds the host's
 * /proc read-only instead (other processes' details stay ptrace-protected). */
static int mount_proc_for_volumes(const struct plan *p, const char *mp, struct bx_error *err)
{
	char tgt[PATH_MAX + 8];
	size_t i;

	for (i = 0; i < p->n && !p->b[i].volume; i++)
		;
	if (i == p->n)
		return 0;
	snprintf(tgt, sizeof(tgt), "%s/proc", mp);
	if (mkdir(tgt, 0555) < 0 && errno != EEXIST)
		return bx_err_sys(err, -errno, "jail: mkdir %s", tgt);
	if (mount("proc", tgt, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible,subset=pid") == 0)
		return 0;
	if (mount("/proc", tgt, NULL, MS_BIND | MS_REC, NULL) < 0)
		return bx_err_sys(err, -errno, "jail: /proc for volumes");
	return 0;
}

static int build_root(struct plan *p, struct bx_error *err)
{
	const char *mp = pick_mount_point(p);
	mode_t old_umask;
	int rc = 0;

	if (!mp)
		return bx_err(err, -ENOENT, "jail: no host directory to build the root on");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return bx_err_sys(err, -errno, "jail: making mounts private");
	if (mount("boxlite-jail", mp, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=1m,nr_inodes=4096") < 0)
		return bx_err_sys(err, -errno, "jail: tmpfs on %s", mp);
	/* The shim's umask (077) would make the skeleton untraversable. */
	old_umask = umask(022);
	for (size_t i = 0; i < p->n && rc == 0; i++)
		rc = bind_one(p, mp, &p->b[i], err);
	umask(old_umask);
	if (rc < 0)
		return rc;
	if ((rc = mount_proc_for_volumes(p, mp, err)) < 0)
		return rc;
	/* pivot_root(".", "."): the old root ends up stacked under the new
	 * one, and detaching it leaves only the jail. */
	if (chdir(mp) < 0)
		return bx_err_sys(err, -errno, "jail: chdir %s", mp);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return bx_err_sys(err, -errno, "jail: pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return bx_err_sys(err, -errno, "jail: detaching the host root");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return bx_err_sys(err, -errno, "jail: read-only root");
	return 0;
}

/* ---- identity, privileges, limits */

static int write_at(int dirfd, const char *name, const char *text, struct bx_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n)
		return bx_err_sys(err, -errno, "jail: writing /proc/self/%s", name);
	return 0;
}

/* Maps exactly one uid and one gid: ours, to itself. */
static int write_id_maps(int procfd, uid_t uid, gid_t gid, struct bx_error *err)
{
	char line[64];
	int rc;

	if ((rc = write_at(procfd, "setgroups", "deny", err)) < 0)
		return rc;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if ((rc = write_at(procfd, "uid_map", line, err)) < 0)
		return rc;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_at(procfd, "gid_map", line, err);
}

static uid_t box_uid(const char *box_id)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *c = box_id; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return (uid_t)(BX_JAIL_UID_BASE + h % BX_JAIL_UID_RANGE);
}

/* The box uid must be able to use the box dir (QEMU creates its sockets, log
 * and RAM file there and writes the disk): hand over the directory and its
 * top-level entries. Host root still reads everything. */
static int chown_box_dir(const char *dir, uid_t uid, struct bx_error *err)
{
	__attribute__((cleanup(closedirp))) DIR *d = opendir(".");
	struct dirent *e;

	if (!d || chown(".", uid, uid) < 0)
		return bx_err_sys(err, -errno, "jail: giving %s to uid %u", dir, (unsigned)uid);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || e->d_type == DT_LNK)
			continue;
		if (fchownat(dirfd(d), e->d_name, uid, uid, AT_SYMLINK_NOFOLLOW) < 0)
			return bx_err_sys(err, -errno, "jail: giving %s/%s to uid %u", dir, e->d_name,
					  (unsigned)uid);
	}
	return 0;
}

static int set_rlimits(struct bx_error *err)
{
	static const struct { int res; rlim_t max; const char *name; } lim[] = {
		{ RLIMIT_CORE, 0, "CORE" },
		{ RLIMIT_NOFILE, 4096, "NOFILE" },
		{ RLIMIT_NPROC, 1024, "NPROC" },
	};

	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		struct rlimit r;
		if (getrlimit(lim[i].res, &r) < 0)
			return bx_err_sys(err, -errno, "jail: getrlimit %s", lim[i].name);
		if (r.rlim_max == RLIM_INFINITY || r.rlim_max > lim[i].max)
			r.rlim_max = lim[i].max;
		r.rlim_cur = r.rlim_max;
		if (setrlimit(lim[i].res, &r) < 0)
			return bx_err_sys(err, -errno, "jail: setrlimit %s", lim[i].name);
	}
	return 0;
}

static int drop_caps(struct bx_error *err)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return bx_err_sys(err, -errno, "jail: dropping capability %d from the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return bx_err_sys(err, -errno, "jail: clearing ambient capabilities");
	/* uid 0 inside the namespace would regain capabilities on execve. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
					     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED,
		  0, 0, 0) < 0)
		return bx_err_sys(err, -errno, "jail: securebits");
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return bx_err_sys(err, -errno, "jail: capset");
	return 0;
}

int bx_jail_enter(const struct bx_shim_config *cfg, struct bx_error *err)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID;
	int is_root = geteuid() == 0, rc;
	_cleanup_close_ int procfd = -1;
	_cleanup_free_ struct plan *p = NULL;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	uint64_t t0 = now_ns();

	if (cfg->security == BX_SECURITY_DEVELOPMENT) {
		bx_warn("SECURITY: development mode: this box runs WITHOUT the jail "
			"(no namespaces, no seccomp, no cgroup limits, no privilege drop)");
		return 0;
	}
	if (!cfg->network)
		flags |= CLONE_NEWNET; /* no interfaces at all, not even loopback up */
	p = calloc(1, sizeof(*p));
	if (!p)
		return bx_err(err, -ENOMEM, "jail: out of memory");
	p->box_uid = (uid_t)-1;
	if ((rc = plan_build(cfg, p, err)) < 0)
		return rc;
	procfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return bx_err_sys(err, -errno, "jail: /proc/self");

	if (is_root) {
		if ((rc = bx_jail_cgroup(cfg, err)) < 0)
			return rc;
		uid = gid = box_uid(cfg->box_id);
		p->box_uid = uid;
		/* Volumes are seen through their owner's eyes (jail_idmap.c). */
		for (size_t i = 0; i < p->n; i++) {
			struct stat st;

			if (!p->b[i].volume)
				continue;
			if (stat(p->b[i].path, &st) < 0)
				return bx_err_sys(err, -errno, "jail: volume %s", p->b[i].path);
			p->b[i].userns = bx_jail_idmap_userns(st.st_uid, st.st_gid, uid, gid);
			if (p->b[i].userns < 0)
				return bx_err_sys(err, p->b[i].userns, "jail: idmapping for volume %s",
						  p->b[i].path);
		}
		if ((rc = chown_box_dir(cfg->box_dir, uid, err)) < 0)
			return rc;
		if (unshare(flags) < 0)
			return bx_err_sys(err, -errno, "jail: unshare");
	} else {
		bx_info("jail: not root: no cgroup limits; the box keeps uid %u", (unsigned)uid);
		if (unshare(flags | CLONE_NEWUSER) < 0)
			return bx_err_sys(err, -errno, "jail: unshare (user namespaces)");
		if ((rc = write_id_maps(procfd, uid, gid, err)) < 0)
			return rc;
	}
	if (sethostname("boxlite", 7) < 0)
		return bx_err_sys(err, -errno, "jail: sethostname");
	rc = build_root(p, err);
	for (size_t i = 0; i < p->n; i++)
		if (p->b[i].volume && p->b[i].userns >= 0)
			close(p->b[i].userns);
	if (rc < 0)
		return rc;
	if (chdir(cfg->box_dir) < 0)
		return bx_err_sys(err, -errno, "jail: chdir %s", cfg->box_dir);

	if (is_root) {
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
			return bx_err_sys(err, -errno, "jail: becoming uid %u", (unsigned)uid);
		/* Changing uid made us non-dumpable: /proc/self would stay root's. */
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		if (unshare(CLONE_NEWUSER) < 0)
			return bx_err_sys(err, -errno, "jail: unshare (user namespace)");
		if ((rc = write_id_maps(procfd, uid, gid, err)) < 0)
			return rc;
	}
	close(TAKE_FD(procfd));

	if ((rc = set_rlimits(err)) < 0 || (rc = drop_caps(err)) < 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return bx_err_sys(err, -errno, "jail: no_new_privs");
	if ((rc = bx_jail_seccomp(err)) < 0)
		return rc;
	/* Last: QEMU (our child, same uid) must not read our memory (secrets)
	 * or take our fds with process_vm_readv / pidfd_getfd, which the egress
	 * supervisor needs and the filter therefore allows. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return bx_err_sys(err, -errno, "jail: non-dumpable");
	bx_info("stage jail: uid %u, %zu paths, %s (%.1f ms)", (unsigned)uid, p->n_done,
		cfg->network ? "host network via QEMU user-mode" : "no network namespace interfaces",
		(now_ns() - t0) / 1e6);
	return 0;
}
