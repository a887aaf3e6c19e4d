/* Stands in for boxlite-shim in test_spawn: reports what it was given
 * (argv, process group, session, fds, signal mask, stdio) on stderr, which
 * is <box>/shim.stderr, stores its stdin in <box>/received, then waits for
 * the watchdog pipe to close (non-detached) or for a signal (detached). */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char link[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 32], fds[256] = "";
	static char buf[4 << 20];
	size_t len = 0;
	struct stat err_st, file_st, st;
	sigset_t mask;
	ssize_t n;
	DIR *d;
	struct dirent *e;
	FILE *f;
	int fd3 = fstat(3, &st) == 0 ? (S_ISFIFO(st.st_mode) ? 'p' : 'o') : 'n';

	/* What fds did we start with? (before opening anything ourselves) */
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		strcat(fds, e->d_name);
		strcat(fds, ",");
	}
	if (d)
		closedir(d);

	while ((n = read(0, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;

	n = readlink("/proc/self/fd/2", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	strcpy(dir, link);
	dirname(dir);
	snprintf(path, sizeof(path), "%s/received", dir);
	f = fopen(path, "w");
	fwrite(buf, 1, len, f);
	fclose(f);

	snprintf(path, sizeof(path), "%s/shim.stderr", dir);
	fstat(2, &err_st);
	stat(path, &file_st);
	stat("/dev/null", &st);
	struct stat out_st;
	fstat(1, &out_st);
	sigprocmask(SIG_BLOCK, NULL, &mask);
	int blocked = 0;
	for (int s = 1; s < NSIG; s++)
		blocked |= sigismember(&mask, s) == 1;

	fprintf(stderr,
		"argc=%d\nargv0=%s\npgid_leader=%d\nsid_leader=%d\nfd3=%c\nfds=%s\n"
		"stderr_is_shim_stderr=%d\nstdout_is_null=%d\nmask_empty=%d\nbytes=%zu\nEND\n",
		argc, argv[0], getpgid(0) == getpid(), getsid(0) == getpid(), fd3, fds,
		err_st.st_ino == file_st.st_ino && err_st.st_dev == file_st.st_dev,
		out_st.st_rdev == st.st_rdev && S_ISCHR(out_st.st_mode), !blocked, len);

	if (fd3 == 'p') {
		struct pollfd pfd = { .fd = 3, .events = POLLIN };
		poll(&pfd, 1, 30000);
		fprintf(stderr, "watchdog=%s\n", (pfd.revents & POLLHUP) ? "hup" : "timeout");
		return (pfd.revents & POLLHUP) ? 0 : 3;
	}
	pause();
	return 0;
}
