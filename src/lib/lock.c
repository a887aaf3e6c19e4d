/* Advisory locks on <home>/locks/ files (lock.h). */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"

#define LOCK_WAIT_MS 60000

static int open_lock(const char *home, const char *name, int *fd, struct bx_error *err)
{
	char path[PATH_MAX];

	if (bx_path_fmt(path, sizeof(path), "%s/locks", home) < 0)
		return bx_err(err, -ENAMETOOLONG, "home path too long");
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return bx_err_sys(err, -errno, "cannot create %s", path);
	if (bx_path_fmt(path, sizeof(path), "%s/locks/%s.lock", home, name) < 0)
		return bx_err(err, -ENAMETOOLONG, "home path too long");
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		return bx_err_sys(err, -errno, "cannot open lock %s", path);
	return 0;
}

static int take(const char *home, const char *name, int op, int wait, int *out, struct bx_error *err)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int fd, rc;

	*out = -1;
	if ((rc = open_lock(home, name, &fd, err)) < 0)
		return rc;
	for (int waited = 0;; waited += 10) {
		if (flock(fd, op | LOCK_NB) == 0) {
			*out = fd;
			return 1;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = bx_err_sys(err, -errno, "locking %s", name);
			break;
		}
		if (!wait) {
			rc = 0;
			break;
		}
		if (waited >= LOCK_WAIT_MS) {
			rc = bx_err(err, -EBUSY, "%s is locked by another process for over %d s", name,
				    LOCK_WAIT_MS / 1000);
			break;
		}
		nanosleep(&pause, NULL);
	}
	close(fd);
	return rc;
}

int bx_lock_box(const char *home, const char *id, int *fd, struct bx_error *err)
{
	int rc = take(home, id, LOCK_EX, 1, fd, err);
	return rc < 0 ? rc : 0;
}

int bx_trylock_box(const char *home, const char *id, int *fd, struct bx_error *err)
{
	return take(home, id, LOCK_EX, 0, fd, err);
}

int bx_lock_home(const char *home, int exclusive, int *fd, struct bx_error *err)
{
	int rc = take(home, "home", exclusive ? LOCK_EX : LOCK_SH, 1, fd, err);
	return rc < 0 ? rc : 0;
}

void bx_unlock(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}
