/* Filesystem and process helpers: mkdir -p, rm -rf, atomic writes, spawning tools. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

int bx_path_fmt(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int bx_mkdir_p(const char *path, mode_t mode, struct bx_error *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path), i;

	if (len == 0 || len >= sizeof(buf))
		return bx_err(err, -ENAMETOOLONG, "bad directory path '%.200s'", path);
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return bx_err_sys(err, -errno, "creating %s", buf);
		buf[i] = path[i];
	}
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

int bx_rm_rf_at(int parent_fd, const char *name, struct bx_error *err)
{
	__attribute__((cleanup(closedirp))) DIR *dir = NULL;
	struct dirent *de;
	struct stat st;
	int fd;

	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : bx_err_sys(err, -errno, "removing %s", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
			return bx_err_sys(err, -errno, "removing %s", name);
		return 0;
	}
	/* Rootless trees may hold directories we made read-only for mke2fs. */
	if ((st.st_mode & 0700) != 0700 && st.st_uid == geteuid())
		fchmodat(parent_fd, name, (st.st_mode & 07777) | 0700, 0);
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bx_err_sys(err, -errno, "removing %s", name);
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return bx_err_sys(err, -errno, "removing %s", name);
	}
	while ((errno = 0, de = readdir(dir))) {
		int r;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = bx_rm_rf_at(dirfd(dir), de->d_name, err);
		if (r < 0)
			return r;
	}
	if (errno)
		return bx_err_sys(err, -errno, "reading directory %s", name);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return bx_err_sys(err, -errno, "removing %s", name);
	return 0;
}

int bx_fsync_dir(int dirfd, const char *what, struct bx_error *err)
{
	if (fsync(dirfd) < 0 && errno != EINVAL)
		return bx_err_sys(err, -errno, "syncing %s", what);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bx_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			     struct bx_error *err)
{
	char tmp[NAME_MAX + 1];
	_cleanup_close_ int fd = -1;
	int r;

	static unsigned long counter;

	if (snprintf(tmp, sizeof(tmp), ".%.200s.tmp.%ld.%lu", name, (long)getpid(),
		     __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED)) >=
	    (int)sizeof(tmp))
		return bx_err(err, -ENAMETOOLONG, "file name %s too long", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return bx_err_sys(err, -errno, "creating %s", name);
	r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return bx_err_sys(err, r, "writing %s", name);
	}
	return bx_fsync_dir(dirfd, name, err);
}

int bx_find_tool(const char *name, char *out, size_t out_size, struct bx_error *err)
{
	const char *path = getenv("PATH");
	char dirs[8192];
	char *save = NULL, *d;

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/local/sbin", path && *path ? path : "/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		if (snprintf(out, out_size, "%s/%s", d, name) >= (int)out_size)
			continue;
		if (access(out, X_OK) == 0)
			return 0;
	}
	return bx_err(err, -ENOENT, "%s not found (install e2fsprogs)", name);
}

static void posix_spawn_file_actions_destroyp(posix_spawn_file_actions_t **fa)
{
	if (*fa)
		posix_spawn_file_actions_destroy(*fa);
}

/* The caller's environment without LD_PRELOAD: a tool must not run with
 * what the process preloads for itself (a sanitizer runtime under which
 * qemu-img's threads deadlock). NULL: out of memory. */
static char **tool_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 1, sizeof(*env))))
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[k++] = environ[i];
	return env;
}

int bx_run_tool(const char *const argv[], char *errbuf, size_t errbuf_size, struct bx_error *err)
{
	_cleanup_free_ char **env = tool_env();
	posix_spawn_file_actions_t fa_storage;
	__attribute__((cleanup(posix_spawn_file_actions_destroyp))) posix_spawn_file_actions_t *fa = NULL;
	_cleanup_close_ int rd = -1, wr = -1;
	size_t used = 0;
	int pipefd[2], status, r;
	const char *base;
	pid_t pid;

	if (errbuf_size)
		errbuf[0] = '\0';
	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return bx_err_sys(err, -errno, "running %s", base);
	rd = pipefd[0];
	wr = pipefd[1];
	r = posix_spawn_file_actions_init(&fa_storage);
	if (r)
		return bx_err_sys(err, -r, "running %s", base);
	fa = &fa_storage;
	if ((r = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (r = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0)) ||
	    (r = posix_spawn_file_actions_adddup2(fa, wr, 2)))
		return bx_err_sys(err, -r, "running %s", base);
	if (!env)
		return bx_err(err, -ENOMEM, "out of memory");
	r = posix_spawn(&pid, argv[0], fa, NULL, (char *const *)argv, env);
	if (r)
		return bx_err_sys(err, -r, "running %s", argv[0]);
	close(TAKE_FD(wr));
	/* Drain stderr to EOF (keeping the first errbuf_size-1 bytes) so the
	 * child never blocks on a full pipe. */
	for (;;) {
		char chunk[4096];
		ssize_t n = read(rd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (errbuf_size && used < errbuf_size - 1) {
			size_t k = (size_t)n < errbuf_size - 1 - used ? (size_t)n : errbuf_size - 1 - used;
			memcpy(errbuf + used, chunk, k);
			used += k;
			errbuf[used] = '\0';
		}
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return bx_err_sys(err, -errno, "waiting for %s", base);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	while (used && (errbuf[used - 1] == '\n' || errbuf[used - 1] == ' '))
		errbuf[--used] = '\0';
	if (WIFSIGNALED(status))
		return bx_err(err, -EIO, "%s killed by signal %d%s%s", base, WTERMSIG(status), used ? ": " : "",
			      used ? errbuf : "");
	return bx_err(err, -EIO, "%s failed (exit %d)%s%s", base, WEXITSTATUS(status), used ? ": " : "",
		      used ? errbuf : "");
}
