/* Filesystems of the agent: the initramfs phase, the switch into the
 * image's root disk, and the read-only remount at shutdown. */
#ifndef BOXLITE_GUEST_MOUNT_H
#define BOXLITE_GUEST_MOUNT_H

#include <stddef.h>

#define NEW_ROOT "/mnt/root"

/* devtmpfs on /dev (+ /dev/pts, /dev/shm, the /dev/fd links), proc, sysfs.
 * Failures are logged, never fatal: the agent must reach the host. */
void mount_early(void);
/* Makes sure fds 0, 1 and 2 are open (the console, else /dev/null). */
void console_fds(void);

/* Mounts dev (fstype) on NEW_ROOT, grows an ext4 to its device, moves /dev,
 * /proc and /sys into it and switches root to it (the agent stays PID 1).
 * Returns 0, or -errno with a message in err; on failure the agent is still
 * in the initramfs and SETUP may be retried. */
int switch_to_root(const char *dev, const char *fstype, char *err, size_t errcap);

/* sync(), then remount / read-only (best effort, logged). */
void fs_shutdown(void);

#endif
