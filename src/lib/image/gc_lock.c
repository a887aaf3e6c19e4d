/* The image store's garbage-collection lock (gc_lock.h). */
#include "gc_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"

int bx_image_gc_lock(const char *home, int exclusive, struct bx_error *err)
{
	char path[PATH_MAX];
	int fd, r;

	if (bx_path_fmt(path, sizeof(path), "%s/images", home) < 0)
		return bx_err(err, -ENAMETOOLONG, "home path too long: %s", home);
	r = bx_mkdir_p(home, 0700, err);
	if (r >= 0)
		r = bx_mkdir_p(path, 0755, err);
	if (r < 0)
		return r;
	bx_path_fmt(path, sizeof(path), "%s/images/gc.lock", home);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return bx_err_sys(err, -errno, "opening %s", path);
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR) {
			r = bx_err_sys(err, -errno, "locking %s", path);
			close(fd);
			return r;
		}
	}
	return fd;
}
