/* Building an image's ext4 root disk from its layers:
 *   1. unpack the layers in order into a directory tree, applying OCI
 *      whiteouts and refusing entries that would land outside the tree;
 *   2. mke2fs -d the tree into an ext4 file;
 *   3. rootless only: fix ownership, modes, device nodes and privileged
 *      xattrs in the image with one debugfs run.
 *
 * Privileged (euid 0): the tree carries the real owners, modes, devices,
 * xattrs and ACLs, and mke2fs copies them. Rootless: the tree holds what an
 * unprivileged user can create (own uid, files at least u+rw, dirs u+rwx,
 * no device nodes, only user.* xattrs); the tar metadata is recorded and
 * applied to the image afterwards. */
#ifndef BOXLITE_IMAGE_ROOTFS_H
#define BOXLITE_IMAGE_ROOTFS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Longest normalized entry path accepted (leaves room under PATH_MAX for the
 * tree's own location). */
#define BX_ROOTFS_PATH_MAX 3840

/* Headroom of the ext4 image over its content: size = content * 13/10 + 64 MiB. */
#define BX_ROOTFS_HEADROOM_NUM 13
#define BX_ROOTFS_HEADROOM_DEN 10
#define BX_ROOTFS_HEADROOM_MIB 64

enum bx_rootfs_flags {
	/* Use the rootless path (record metadata, debugfs fix-ups) even as root. */
	BX_ROOTFS_FORCE_ROOTLESS = 1 << 0,
};

struct bx_rootfs_stats {
	uint64_t entries;       /* objects in the tree (excluding the root) */
	uint64_t content_bytes; /* their data, in whole 4 KiB blocks */
	uint64_t image_bytes;   /* apparent size of the ext4 file */
	uint64_t inodes;        /* -N given to mke2fs */
	uint64_t fixups;        /* debugfs commands run (rootless) */
	int rootless;
	double unpack_s, mkfs_s, fixup_s;
};

struct bx_rootfs_meta; /* rootless metadata recorded during unpack */

/* Unpacks layers (tar, optionally gzip/zstd compressed; format detected)
 * in order into tree_dir, which must exist and be empty. On success and when
 * meta is not NULL, *meta receives the rootless metadata (NULL when running
 * privileged); free it with bx_rootfs_meta_free. Refuses (-EINVAL, naming the
 * layer and entry) names with ".." components, hardlinks to missing targets,
 * and entries reached through a symlink that points outside the tree. */
int bx_rootfs_unpack(const char *const *layers, size_t n_layers, const char *tree_dir, unsigned flags,
		     struct bx_rootfs_meta **meta, struct bx_error *err);
void bx_rootfs_meta_free(struct bx_rootfs_meta *meta);

/* Makes the ext4 image out_path (must not exist) from tree_dir, then applies
 * meta (may be NULL) with debugfs. work_dir holds debugfs's command file. */
int bx_rootfs_make_ext4(const char *tree_dir, const struct bx_rootfs_meta *meta, const char *work_dir,
			const char *out_path, struct bx_rootfs_stats *stats, struct bx_error *err);

/* Both steps: unpacks into work_dir/tree, makes out_path, removes the tree.
 * On failure nothing is left at out_path. stats may be NULL. */
int bx_rootfs_build_ext4(const char *const *layers, size_t n_layers, const char *work_dir, const char *out_path,
			 unsigned flags, struct bx_rootfs_stats *stats, struct bx_error *err);

#endif
