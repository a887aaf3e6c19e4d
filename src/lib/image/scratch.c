/* A tmpfs scratch directory for unpacking layers (scratch.h). */
#include "scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsutil.h"

#define SHM "/dev/shm"
#define PREFIX "boxlite-tree."
#define TMPFS_MAGIC_ 0x01021994

static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

/* Removes our scratch dirs whose lock is free (their process died). */
static void sweep(void)
{
	DIR *d = opendir(SHM);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		int fd;

		if (strncmp(de->d_name, PREFIX, strlen(PREFIX)))
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && flock(fd, LOCK_EX | LOCK_NB) == 0)
			bx_rm_rf_at(dirfd(d), de->d_name, NULL);
		close(fd);
	}
	closedir(d);
}

/* The xattrs the unpack may set must work here (tmpfs before Linux 6.6 has
 * no user.* xattrs; POSIX ACLs need CONFIG_TMPFS_POSIX_ACL). */
static bool xattrs_work(int fd, bool privileged)
{
	/* version 2; USER_OBJ rwx, GROUP_OBJ r-x, OTHER --- */
	static const unsigned char acl[] = { 2, 0, 0, 0, 1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
					     4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, 0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };

	if (fsetxattr(fd, "user.boxlite", "1", 1, 0) < 0)
		return false;
	fremovexattr(fd, "user.boxlite");
	if (privileged) {
		if (fsetxattr(fd, "trusted.boxlite", "1", 1, 0) < 0)
			return false;
		fremovexattr(fd, "trusted.boxlite");
	}
	if (fsetxattr(fd, "system.posix_acl_access", acl, sizeof(acl), 0) < 0)
		return false;
	fremovexattr(fd, "system.posix_acl_access");
	return fchmod(fd, 0700) == 0;
}

bool bx_scratch_tmpfs_dir(const char *const *layers, size_t n_layers, bool privileged, char *out, size_t size,
			  int *lock_fd)
{
	const char *env = getenv("BOXLITE_UNPACK_TMPFS");
	uint64_t need = 64ull << 20;
	struct statfs sfs;
	char tmpl[] = SHM "/" PREFIX "XXXXXX";
	int fd;

	*lock_fd = -1;
	if (env && !strcmp(env, "0"))
		return false;
	if (statfs(SHM, &sfs) < 0 || (unsigned long)sfs.f_type != TMPFS_MAGIC_)
		return false;
	for (size_t i = 0; i < n_layers; i++) {
		struct stat st;
		if (stat(layers[i], &st) < 0)
			return false;
		need += (uint64_t)st.st_size * 4;
	}
	if (need > (uint64_t)sfs.f_bavail * (uint64_t)sfs.f_bsize || need > mem_available() / 2)
		return false;
	sweep();
	if (!mkdtemp(tmpl))
		return false;
	fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0 || !xattrs_work(fd, privileged) ||
	    snprintf(out, size, "%s", tmpl) >= (int)size) {
		if (fd >= 0)
			close(fd);
		rmdir(tmpl);
		return false;
	}
	*lock_fd = fd;
	return true;
}
