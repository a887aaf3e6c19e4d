/* A box's root disk from a prepared root filesystem directory (--rootfs,
 * boxlite_box_options_set_rootfs) instead of an image: the directory's tree
 * becomes an ext4 base (mke2fs -d, as for image layers), cached by its
 * content under <home>/images/bases/rootfs-<sha256>.ext4, so a second box
 * from the same tree reuses it and a changed tree gets its own. */
#ifndef BOXLITE_IMAGE_ROOTFS_DIR_H
#define BOXLITE_IMAGE_ROOTFS_DIR_H

#include "error.h"
#include "image_store.h"

/* The sha256 (64 hex) of the tree under dir: every entry's relative path,
 * type, mode, owner, size, link target, device number and file content, in
 * name order; symlinks are not followed. -ENOTDIR, -ELOOP (nested deeper
 * than 256), -EIO (unreadable entry, named). */
int bx_rootfs_dir_hash(const char *dir, char hex[65], struct bx_error *err);

/* Fills *out (free with bx_image_free) for a box whose root is the tree at
 * dir: base_path is the cached base (built first when missing), digest
 * "sha256:<the tree's hash>", env PATH only, no entrypoint, cmd, workdir or
 * user. -EINVAL for "/" or a relative path; -ENOENT, -ENOTDIR; -EIO when
 * mke2fs fails. */
int bx_rootfs_dir_image(const char *home, const char *dir, struct bx_image *out, struct bx_error *err);

#endif
