/* Per-box disks: a qcow2 copy-on-write overlay over the image's ext4 base,
 * written natively (qcow2.c): box creation spawns no qemu-img. */
#include <errno.h>
#include <sys/stat.h>

#include "internal.h"
#include "qcow2.h"

int bx_disk_create_overlay(const char *base, const char *overlay, uint64_t size, struct bx_error *err)
{
	struct stat st;

	if (stat(base, &st) < 0)
		return bx_err_sys(err, -errno, "image base disk %s", base);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0)
		return bx_err(err, -EINVAL, "image base disk %s is not a regular, non-empty file", base);
	/* The guest grows the filesystem to the disk; it cannot shrink it. */
	if (size && size < (uint64_t)st.st_size)
		return bx_err(err, -EINVAL, "a disk of %llu MiB is smaller than the image's (%llu MiB)",
			      (unsigned long long)(size >> 20), (unsigned long long)((uint64_t)st.st_size >> 20));
	return bx_qcow2_create_overlay(overlay, base, "raw", size ? size : (uint64_t)st.st_size, err);
}
