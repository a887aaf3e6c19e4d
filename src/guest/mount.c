/* Mounts of the initramfs phase, the classic switch_root into the image's
 * root disk (the agent stays PID 1), and the read-only remount at shutdown. */
#include "mount.h"

#include "guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

static int do_mount(const char *src, const char *target, const char *type, unsigned long flags,
		    const char *data)
{
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		glog("mkdir %s: %s", target, strerror(errno));
	if (mount(src, target, type, flags, data) < 0 && errno != EBUSY) {
		int e = errno;
		glog("mount %s on %s: %s", type, target, strerror(e));
		return -e;
	}
	return 0;
}

static void dev_links(void)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },     { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "/proc/kcore", "/dev/core" },
	};

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
			glog("symlink %s: %s", links[i][1], strerror(errno));
}

void mount_early(void)
{
	const unsigned long nsx = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	do_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	do_mount("proc", "/proc", "proc", nsx, NULL);
	do_mount("sysfs", "/sys", "sysfs", nsx, NULL);
	/* gid 5 is "tty" in practically every image; same options as Docker. */
	do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		 "newinstance,ptmxmode=0666,mode=0620,gid=5");
	do_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	dev_links();
}

void console_fds(void)
{
	int need = 0;

	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			need = 1;
	if (!need)
		return;
	int c = open("/dev/console", O_RDWR | O_NOCTTY);
	if (c < 0)
		c = open("/dev/null", O_RDWR);
	if (c < 0)
		return;
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			dup2(c, fd);
	if (c > 2)
		close(c);
}

/* The virtio-blk node may lag a few ms behind a hot (re)plug: retry the
 * "no such device" errors briefly, fail fast on anything else. */
static int mount_root(const char *dev, const char *fstype)
{
	int64_t deadline = mono_ms() + 1000;

	if (mkdir(NEW_ROOT, 0755) < 0 && errno != EEXIST)
		return -errno;
	for (;;) {
		int e;

		if (mount(dev, NEW_ROOT, fstype, 0, NULL) == 0)
			return 0;
		e = errno;
		if (e == EROFS || e == EACCES) {
			if (mount(dev, NEW_ROOT, fstype, MS_RDONLY, NULL) == 0) {
				glog("%s is read-only: root mounted read-only", dev);
				return 0;
			}
			e = errno;
		}
		if ((e != ENOENT && e != ENXIO) || mono_ms() > deadline)
			return -e;
		sleep_ms(10);
	}
}

/* A box's disk (qcow2 overlay) may be larger than the ext4 in it: grow the
 * filesystem online to the device. Best effort. */
static void grow_ext4(const char *dev)
{
	struct statfs before, after;
	uint64_t bytes = 0, blocks;
	int64_t t0 = mono_ms();
	int bfd, dfd;

	bfd = open(dev, O_RDONLY | O_CLOEXEC);
	if (bfd < 0)
		return;
	if (ioctl(bfd, BLKGETSIZE64, &bytes) < 0 || statfs(NEW_ROOT, &before) < 0 || before.f_bsize <= 0) {
		close(bfd);
		return;
	}
	close(bfd);
	blocks = bytes / (uint64_t)before.f_bsize;
	if (blocks <= (uint64_t)before.f_blocks)
		return;
	dfd = open(NEW_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	if (ioctl(dfd, EXT4_IOC_RESIZE_FS, &blocks) < 0)
		glog("online resize of %s to %llu blocks: %s", dev, (unsigned long long)blocks,
		     strerror(errno));
	else if (fstatfs(dfd, &after) == 0 && after.f_blocks != before.f_blocks)
		glog("root filesystem grown to %llu MiB in %lld ms",
		     (unsigned long long)(after.f_blocks * (uint64_t)after.f_bsize >> 20),
		     (long long)(mono_ms() - t0));
	close(dfd);
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

static void ensure_file(const char *path, const char *content)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) == 0)
		return; /* present, possibly a symlink the image manages itself */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		glog("create %s: %s", path, strerror(errno));
		return;
	}
	if (content[0] && write(fd, content, strlen(content)) < 0)
		glog("write %s: %s", path, strerror(errno));
	close(fd);
}

/* Image-side setup after the switch; failures are logged, not fatal. */
static void finish_root(const char *hostname)
{
	char hosts[256];
	struct stat st;

	if (lstat("/tmp", &st) < 0 && mkdir("/tmp", 01777) == 0)
		chmod("/tmp", 01777);
	/* /run is runtime state: a fresh tmpfs unless the image ships content. */
	if (lstat("/run", &st) < 0)
		mkdir("/run", 0755);
	if (dir_is_empty("/run") &&
	    mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		glog("mount tmpfs on /run: %s", strerror(errno));
	if (lstat("/etc", &st) < 0)
		mkdir("/etc", 0755);
	snprintf(hosts, sizeof(hosts), "127.0.0.1\tlocalhost%s%s\n::1\tlocalhost\n",
		 hostname[0] ? " " : "", hostname);
	ensure_file("/etc/hosts", hosts);
	ensure_file("/etc/resolv.conf", "");
}

int switch_to_root(const char *dev, const char *fstype, const char *hostname, char *err,
		   size_t errcap)
{
	static const char *const moves[] = { "/dev", "/proc", "/sys" };
	char target[64];
	int rc;

	rc = mount_root(dev, fstype);
	if (rc < 0) {
		snprintf(err, errcap, "mount %s (%s) on %s: %s", dev, fstype, NEW_ROOT, strerror(-rc));
		return rc;
	}
	if (strcmp(fstype, "ext4") == 0)
		grow_ext4(dev);
	for (size_t i = 0; i < 3; i++) {
		snprintf(target, sizeof(target), NEW_ROOT "%s", moves[i]);
		if (mkdir(target, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			snprintf(err, errcap, "mkdir %s in the root filesystem: %s", moves[i], strerror(-rc));
			umount(NEW_ROOT);
			return rc;
		}
	}
	for (size_t i = 0; i < 3; i++) {
		snprintf(target, sizeof(target), NEW_ROOT "%s", moves[i]);
		if (mount(moves[i], target, NULL, MS_MOVE, NULL) < 0) {
			rc = -errno;
			snprintf(err, errcap, "move %s into the root filesystem: %s", moves[i], strerror(-rc));
			while (i-- > 0) { /* put back what moved, so SETUP can be retried */
				snprintf(target, sizeof(target), NEW_ROOT "%s", moves[i]);
				mount(target, moves[i], NULL, MS_MOVE, NULL);
			}
			umount(NEW_ROOT);
			return rc;
		}
	}
	/* The initramfs stays underneath, unreachable: free what it holds. */
	unlink("/init");
	if (chdir(NEW_ROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		rc = -errno;
		snprintf(err, errcap, "switch root to %s: %s", dev, strerror(-rc));
		return rc;
	}
	finish_root(hostname);
	return 0;
}

void fs_shutdown(void)
{
	sync();
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 && g_root_ready)
		glog("remount / read-only: %s", strerror(errno));
	sync();
}
