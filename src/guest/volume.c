/* Volumes: 9p over virtio, one mount tag each (volume.h). */
#include "volume.h"

#include "guest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int volume_parse(const char *spec, struct volume *v)
{
	const char *c1 = strchr(spec, ':'), *c2;
	size_t n;

	memset(v, 0, sizeof(*v));
	if (!c1 || c1 == spec || (size_t)(c1 - spec) >= sizeof(v->tag))
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (!c2)
		return -EINVAL;
	n = (size_t)(c2 - c1 - 1);
	if (n == 2 && !strncmp(c1 + 1, "ro", 2))
		v->read_only = 1;
	else if (!(n == 2 && !strncmp(c1 + 1, "rw", 2)))
		return -EINVAL;
	if (c2[1] != '/' || strlen(c2 + 1) >= sizeof(v->path) || !strcmp(c2 + 1, "/"))
		return -EINVAL;
	memcpy(v->tag, spec, (size_t)(c1 - spec));
	strcpy(v->path, c2 + 1);
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[1024];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int volume_mount(const struct volume *v, char *err, size_t errcap)
{
	unsigned long flags = MS_NOSUID | MS_NODEV | (v->read_only ? MS_RDONLY : 0);
	int rc = mkdir_p(v->path);

	if (rc < 0) {
		snprintf(err, errcap, "volume %s: create mount point %s: %s", v->tag, v->path, strerror(-rc));
		return rc;
	}
	/* cache=none (the default): the host's writes are seen at once, and the
	 * guest's reach the host before the syscall returns. */
	if (mount(v->tag, v->path, "9p", flags, "trans=virtio,version=9p2000.L,msize=262144") < 0) {
		rc = -errno;
		snprintf(err, errcap, "volume %s: mount 9p on %s: %s", v->tag, v->path, strerror(-rc));
		return rc;
	}
	return 0;
}
