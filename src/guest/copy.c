/* Copy sessions (see copy.h). */
#include "copy.h"

#include "bxtar.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int copy_child(enum copy_mode mode, const char *path, int single, unsigned flags)
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
		rc = bxtar_create_ex(root, 1, path, flags & BXP_COPY_FOLLOW ? BXTAR_FOLLOW : 0, bxtar_fd_write, &out, &e);
	} else {
		rc = bxtar_target(root, 1, path, single, &dirfd, rename, &e);
		if (rc == 0)
			rc = bxtar_extract(dirfd, rename, bxtar_fd_read, &in,
					   BXTAR_CHOWN | (flags & BXP_COPY_NO_OVERWRITE ? BXTAR_NO_OVERWRITE : 0), &e);
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
