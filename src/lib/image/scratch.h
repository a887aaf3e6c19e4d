/* Where the layers are unpacked before mke2fs -d copies them into the
 * image: creating thousands of files is far cheaper on tmpfs than on most
 * disk filesystems (Debian minbase: 7 s → 1 s here), so the tree goes to a
 * private directory in /dev/shm when it likely fits (4 × the layers' size
 * fits in /dev/shm's free space and in half the available memory) and
 * tmpfs takes the xattrs and ACLs the unpack may set. BOXLITE_UNPACK_TMPFS=0
 * turns it off. The directory is flocked while in use; the next build
 * removes the ones of processes that died. */
#ifndef BOXLITE_IMAGE_SCRATCH_H
#define BOXLITE_IMAGE_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Makes /dev/shm/boxlite-tree.XXXXXX (mode 0700, locked by *lock_fd) for
 * layers and writes its path to out. Returns false (nothing made) when
 * tmpfs does not fit or is off. */
bool bx_scratch_tmpfs_dir(const char *const *layers, size_t n_layers, bool privileged, char *out, size_t size,
			  int *lock_fd);

#endif
