/* Volumes from SETUP: virtio-9p shares mounted into the image after the
 * switch to its root. */
#ifndef BOXLITE_GUEST_VOLUME_H
#define BOXLITE_GUEST_VOLUME_H

#include <stddef.h>

#define VOLUME_MAX 64

struct volume {
	char tag[16];
	char path[1024];
	int read_only;
};

/* Parses "TAG:ro|rw:/guest/path". Returns 0 or -EINVAL. */
int volume_parse(const char *spec, struct volume *v);

/* Creates the mount point (like mkdir -p) and mounts the share there.
 * Returns 0 or -errno with a message in err. */
int volume_mount(const struct volume *v, char *err, size_t errcap);

#endif
