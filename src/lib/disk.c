/* Per-box disks: a qcow2 copy-on-write overlay over the image's ext4 base. */
#include <errno.h>
#include <limits.h>

#include "internal.h"

int bx_disk_create_overlay(const char *base, const char *overlay, struct bx_error *err)
{
	char qemu_img[PATH_MAX], msg[512];
	int rc = bx_find_tool("qemu-img", qemu_img, sizeof(qemu_img), err);

	if (rc < 0)
		return bx_err_wrap(err, rc, "install the qemu-utils package");
	const char *const argv[] = { qemu_img, "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw",
				     overlay, NULL };
	rc = bx_run_tool(argv, msg, sizeof(msg), err);
	return rc < 0 ? bx_err_wrap(err, rc, "creating the box disk %s", overlay) : 0;
}
