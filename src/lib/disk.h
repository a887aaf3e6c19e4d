/* Per-box disks (disk.c): a box's qcow2 overlay over its image's raw base,
 * the snapshot layers and clone bases beneath it. */
#ifndef BOXLITE_LIB_DISK_H
#define BOXLITE_LIB_DISK_H

#include <stdint.h>

#include "error.h"

/* An overlay of size bytes (0: the base's size; never smaller than it) over
 * the raw image base. */
int bx_disk_create_overlay(const char *base, const char *overlay, uint64_t size, struct bx_error *err);

/* Walks every layer a box directory's disks stand on: below its disk.qcow2
 * and below each snapshots/<id>/disk.qcow2, as bx_qcow2_walk (a nonzero
 * visit stops it and is returned; unreadable tops are skipped). */
int bx_disk_walk_box(const char *box_dir, int (*visit)(void *ud, const char *file, int is_qcow2), void *ud);

/* Visits every qcow2 file of a stopped box's directory: disk.qcow2, each
 * snapshots/<id>/disk.qcow2, each layers/<id>.qcow2 (a nonzero visit stops
 * it and is returned). */
int bx_disk_box_files(const char *box_dir, int (*visit)(void *ud, const char *file), void *ud);

/* Rebases image, a qcow2 layer, onto backing (qcow2 or raw, told by its
 * header) with qemu-img in safe mode: what the layers it leaves held is
 * copied in, and a crash midway leaves it on its old backing, nothing lost.
 * qemu: the engine binary, beside which qemu-img is looked for first. A
 * read-only image is made writable for the while. */
int bx_disk_rebase(const char *qemu, const char *image, const char *backing, struct bx_error *err);

/* Writes the chain under top as one standalone qcow2 image, out (created;
 * qemu-img convert). */
int bx_disk_flatten(const char *qemu, const char *top, const char *out, struct bx_error *err);

/* A box's top layer: the one its running QEMU writes (disk_live.c), else
 * <box_dir>/disk.qcow2. */
void bx_disk_top(const char *box_dir, char *out, size_t n);
/* For a box that is not running: its top back at disk.qcow2, the leftovers
 * of live switches gone. Cheap when there is nothing to do. */
void bx_disk_settle(const char *box_dir);

#endif
