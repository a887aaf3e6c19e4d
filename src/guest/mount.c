/* Mounts of the initramfs phase, the classic switch_root into the image's
 * root disk (the agent stays PID 1), and the read-only remount at shutdown. */
#include "mount.h"

#include "ext4sb.h"
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

/* Reads from the root disk in large requests: under TCG every virtio-blk
 * round trip costs the guest a lot of emulated kernel code, so the default
 * 128 KiB window makes the first exec of a binary dozens of reads. 4 MiB
 * (an mmap fault reads around it, a stream ramps up to it) measured
 * 10-20 ms off `run --rm busybox true` and 20 ms off `python3 -c pass`;
 * random access is guarded by the kernel's own mmap-miss heuristic. */
#define ROOT_READ_AHEAD_KB "4096"

static void root_read_ahead(const char *dev)
{
	const char *name = strrchr(dev, '/');
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/class/block/%s/queue/read_ahead_kb", name ? name + 1 : dev);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* not a whole disk (or no sysfs): keep the default */
	if (write(fd, ROOT_READ_AHEAD_KB, strlen(ROOT_READ_AHEAD_KB)) < 0)
		glog("%s: %s", path, strerror(errno));
	close(fd);
}

/* Warm start: the template's kernel probed a placeholder disk, and the host
 * resized the device to the real disk just before resuming the clone. Drop
 * what the page cache holds of the device (the placeholder's sectors read at
 * probe), then wait until the guest has taken the new capacity in (virtio's
 * config-change work) before mounting: ext4 refuses a device smaller than
 * the filesystem. A cold boot passes straight through. */
static void root_settle(const char *dev)
{
	uint8_t sb[EXT4SB_SIZE];
	uint64_t bytes = 0, fs_blocks = 0;
	uint32_t bsize = 0;
	int64_t deadline = mono_ms() + 2000;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (ioctl(fd, BLKFLSBUF, 0) < 0)
		glog("BLKFLSBUF %s: %s", dev, strerror(errno));
	if (pread(fd, sb, sizeof(sb), EXT4SB_OFFSET) == (ssize_t)sizeof(sb) &&
	    ext4sb_parse(sb, sizeof(sb), &fs_blocks, &bsize) == 0) {
		while (ioctl(fd, BLKGETSIZE64, &bytes) == 0 && bytes / bsize < fs_blocks &&
		       mono_ms() < deadline)
			sleep_ms(1);
		if (bytes / bsize < fs_blocks)
			glog("%s: %llu bytes, smaller than its filesystem", dev, (unsigned long long)bytes);
	}
	close(fd);
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
 * filesystem online to the device. Best effort. The superblock (in the
 * page cache since the mount) says how large the filesystem is: the resize
 * ioctl runs only when the disk is larger (statfs's f_blocks would not do,
 * it leaves out the metadata). */
static void grow_ext4(const char *dev)
{
	struct statfs before, after;
	uint8_t sb[EXT4SB_SIZE];
	uint64_t bytes = 0, blocks, fs_blocks = 0;
	uint32_t bsize = 0;
	int64_t t0 = mono_ms();
	int bfd, dfd, ok;

	bfd = open(dev, O_RDONLY | O_CLOEXEC);
	if (bfd < 0)
		return;
	ok = ioctl(bfd, BLKGETSIZE64, &bytes) == 0 &&
	     pread(bfd, sb, sizeof(sb), EXT4SB_OFFSET) == (ssize_t)sizeof(sb) &&
	     ext4sb_parse(sb, sizeof(sb), &fs_blocks, &bsize) == 0;
	close(bfd);
	if (!ok || bytes / bsize <= fs_blocks)
		return;
	blocks = bytes / bsize;
	if (statfs(NEW_ROOT, &before) < 0)
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

/* Image-side setup after the switch; failures are logged, not fatal.
 * /etc/hosts and /etc/resolv.conf are SETUP's next step (net_write_etc). */
static void finish_root(void)
{
	struct stat st;

	if (lstat("/tmp", &st) < 0 && mkdir("/tmp", 01777) == 0)
		chmod("/tmp", 01777);
	/* /run is runtime state: a fresh tmpfs unless the image ships content. */
	if (lstat("/run", &st) < 0)
		mkdir("/run", 0755);
	if (dir_is_empty("/run") &&
	    mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		glog("mount tmpfs on /run: %s", strerror(errno));
}

int switch_to_root(const char *dev, const char *fstype, char *err, size_t errcap)
{
	static const char *const moves[] = { "/dev", "/proc", "/sys" };
	char target[64];
	int rc;

	root_read_ahead(dev);
	root_settle(dev);
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
	finish_root();
	return 0;
}

void fs_shutdown(void)
{
	sync();
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 && g_root_ready)
		glog("remount / read-only: %s", strerror(errno));
	sync();
}
