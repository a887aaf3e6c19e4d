/* FIFREEZE/FITHAW of the root filesystem (fsfreeze.h). Only the root is
 * frozen: it is the one disk a snapshot takes; volumes are 9p (no freeze)
 * and /tmp-like mounts are not on the disk. The agent itself lives in the
 * initramfs and never writes to the root, so it keeps serving while
 * writers in the box wait. */
#include "fsfreeze.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* <linux/fs.h>, which musl's headers do not carry: _IOWR('X', 119/120, int) */
#define FIFREEZE 0xC0045877
#define FITHAW 0xC0045878

#include "guest.h"
#include "port.h"
#include "protocol.h"

static int64_t g_frozen_until = -1;

static int root_ioctl(unsigned long req)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return errno;
	if (ioctl(fd, req, 0) < 0)
		rc = errno;
	close(fd);
	return rc;
}

void fsfreeze_thaw(void)
{
	int e;

	if (g_frozen_until < 0)
		return;
	e = root_ioctl(FITHAW);
	g_frozen_until = -1;
	if (e && e != EINVAL) /* EINVAL: it was not frozen */
		glog("thawing the root filesystem: %s", strerror(e));
}

void fsfreeze_frame(uint16_t type)
{
	uint8_t buf[512];
	struct bxp_writer w;
	int e = 0;

	if (type == BXP_FSFREEZE) {
		e = root_ioctl(FIFREEZE);
		if (e == EBUSY) /* already frozen: ours, from a request that timed out */
			e = 0;
		if (e == 0)
			g_frozen_until = mono_ms() + FSFREEZE_MAX_MS;
	} else {
		fsfreeze_thaw();
	}
	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_u32(&w, BXT_ERRNO, (uint32_t)e);
	if (e)
		bxp_put_str(&w, BXT_MESSAGE, strerror(e));
	outq_frame(0, type, 0, buf, w.len);
}

int64_t fsfreeze_deadline(void)
{
	return g_frozen_until;
}

void fsfreeze_tick(int64_t now)
{
	if (g_frozen_until >= 0 && now >= g_frozen_until) {
		glog("the host did not thaw the root filesystem in %d ms: thawing it", FSFREEZE_MAX_MS);
		fsfreeze_thaw();
	}
}
