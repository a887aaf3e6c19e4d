/* Locked work directories under images/tmp. */
#include "work_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

int bx_image_work_dir(const char *images, const char *kind, char *out, size_t size, struct bx_error *err)
{
	char tmpl[PATH_MAX], final[PATH_MAX];
	int fd;

	bx_path_fmt(tmpl, sizeof(tmpl), "%s/tmp/.new.XXXXXX", images);
	if (!mkdtemp(tmpl))
		return bx_err_sys(err, -errno, "creating a work dir in %s/tmp", images);
	fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		int r = -errno;
		if (fd >= 0)
			close(fd);
		rmdir(tmpl);
		return bx_err_sys(err, r, "locking %s", tmpl);
	}
	bx_path_fmt(final, sizeof(final), "%s/tmp/%s.%s", images, kind, strrchr(tmpl, '.') + 1);
	if (rename(tmpl, final) < 0) {
		int r = -errno;
		close(fd);
		rmdir(tmpl);
		return bx_err_sys(err, r, "creating a work dir in %s/tmp", images);
	}
	snprintf(out, size, "%s", final);
	return fd;
}

void bx_image_work_dir_remove(const char *path, int fd)
{
	char parent[PATH_MAX];
	char *slash;
	_cleanup_close_ int pfd = -1;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd >= 0)
			bx_rm_rf_at(pfd, slash + 1, NULL);
	}
	if (fd >= 0)
		close(fd);
}
