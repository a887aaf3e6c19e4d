/* Copy sessions (see copy.h). */
#include "copy.h"

#include "bxtar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fd_write(void *ctx, const void *buf, size_t n)
{
	int fd = *(int *)ctx;
	const char *b = buf;

	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static ssize_t fd_read(void *ctx, void *buf, size_t n)
{
	int fd = *(int *)ctx;
	ssize_t k;

	do
		k = read(fd, buf, n);
	while (k < 0 && errno == EINTR);
	return k < 0 ? -errno : k;
}

int copy_child(enum copy_mode mode, const char *path, int single)
{
	struct bxtar_err e = { 0 };
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), rc, dirfd = -1;
	int in = 0, out = 1;
	char rename[256];

	if (root < 0) {
		dprintf(2, "/: %s\n", strerror(errno));
		return EIO;
	}
	if (mode == COPY_OUT) {
		rc = bxtar_create(root, 1, path, fd_write, &out, &e);
	} else {
		rc = bxtar_target(root, 1, path, single, &dirfd, rename, &e);
		if (rc == 0)
			rc = bxtar_extract(dirfd, rename, fd_read, &in, BXTAR_CHOWN, &e);
		if (dirfd >= 0)
			close(dirfd);
	}
	close(root);
	if (rc == 0)
		return 0;
	dprintf(2, "%s\n", e.msg[0] ? e.msg : strerror(-rc));
	rc = e.code ? -e.code : -rc;
	return rc > 0 && rc < 126 ? rc : EIO;
}
