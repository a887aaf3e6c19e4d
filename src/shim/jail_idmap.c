/* Idmapped bind mounts for volumes when the shim runs as root: QEMU then
 * runs as the box's own uid, which owns nothing on the host. The volume is
 * bound into the jail through an idmapping that shows its owner's files as
 * the box uid's, so QEMU can read and write them and whatever the guest
 * creates lands on the host owned by the volume directory's owner. */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define BX_OPEN_TREE_CLONE 1
#define BX_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define BX_MOUNT_ATTR_IDMAP 0x00100000

struct bx_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int write_map(pid_t pid, const char *file, unsigned inside, unsigned outside)
{
	char path[64], line[64];
	int fd, n, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	n = snprintf(line, sizeof(line), "%u %u 1\n", inside, outside);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n)
		rc = -errno;
	close(fd);
	return rc;
}

int bx_jail_idmap_userns(uid_t owner_uid, gid_t owner_gid, uid_t box_uid, gid_t box_gid)
{
	int pfd[2], fd = -1, rc;
	char c;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (pid == 0) {
		close(pfd[0]);
		c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
		if (write(pfd[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1 || c != 'y') {
		rc = -EPERM;
		goto out;
	}
	if ((rc = write_map(pid, "uid_map", (unsigned)owner_uid, (unsigned)box_uid)) < 0 ||
	    (rc = write_map(pid, "gid_map", (unsigned)owner_gid, (unsigned)box_gid)) < 0)
		goto out;
	{
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		rc = fd < 0 ? -errno : fd;
	}
out:
	close(pfd[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return rc;
}

int bx_jail_bind_idmapped(const char *src, const char *tgt, int userns, struct bx_error *err)
{
	struct bx_mount_attr attr = { 0 };
	_cleanup_close_ int tree = -1;
	tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, BX_OPEN_TREE_CLONE | O_CLOEXEC);
	if (tree < 0)
		return bx_err_sys(err, -errno, "jail: open_tree %s", src);
	attr.attr_set = BX_MOUNT_ATTR_IDMAP;
	attr.userns_fd = (uint64_t)userns;
	if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return bx_err_sys(err, -errno,
				  "jail: idmapped mount of volume %s (its filesystem may not support "
				  "idmapped mounts)", src);
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, tgt, BX_MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return bx_err_sys(err, -errno, "jail: move_mount %s", src);
	return 0;
}
