/* Capabilities of started processes (caps.h). The capset ABI is spelled out
 * here (version 3: two 32-bit words per set) rather than taken from kernel
 * headers, which the musl build does not see. */
#include "caps.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CAP_VERSION_3 0x20080522
#define CAP_MAX 63

struct cap_header {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static int limited;
static uint64_t box_caps;

void caps_set(uint64_t mask)
{
	limited = 1;
	box_caps = mask;
}

int caps_limit_bounding(void)
{
	if (!limited)
		return 0;
	for (int c = 0; c <= CAP_MAX; c++) {
		if (box_caps & ((uint64_t)1 << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return -errno;
		}
	}
	return 0;
}

int caps_apply(uid_t uid)
{
	struct cap_header h = { CAP_VERSION_3, 0 };
	struct cap_data d[2] = { 0 };

	if (!limited)
		return 0;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (uid != 0)
		return 0; /* setuid away from root already emptied the sets */
	for (int i = 0; i < 2; i++)
		d[i].effective = d[i].permitted = d[i].inheritable = (uint32_t)(box_caps >> (32 * i));
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}
