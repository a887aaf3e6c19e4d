/* A native writer of fresh qcow2 overlays (docs/interop/qcow2.txt in QEMU):
 * no qemu-img process on the box-creation path. */
#ifndef BOXLITE_QCOW2_H
#define BOXLITE_QCOW2_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define BX_QCOW2_CLUSTER_BITS 16u            /* 64 KiB, qemu-img's default */
#define BX_QCOW2_MAX_SIZE (1ull << 50)        /* 1 PiB: far below the format's limit */
#define BX_QCOW2_BACKING_NAME_MAX 1023u       /* the spec's limit */

/* Creates path (O_EXCL, mode 0644 & umask) as an empty qcow2 v3 image of
 * size bytes (rounded up to 512) over backing, a file of format backing_fmt
 * ("raw", "qcow2"), named as given. The file is synced before returning. */
int bx_qcow2_create_overlay(const char *path, const char *backing, const char *backing_fmt, uint64_t size,
			    struct bx_error *err);

/* Reads path's qcow2 header: its virtual size and its backing file's name
 * ("" when none). Returns 0; -EINVAL when it is not a qcow2 image; -errno. */
int bx_qcow2_read_header(const char *path, uint64_t *size, char *backing, size_t backing_size, struct bx_error *err);

/* The longest chain of layers followed (the jail follows as many). */
#define BX_QCOW2_MAX_CHAIN 64

/* Walks the layers below top, a qcow2 image: calls visit(ud, file, is_qcow2)
 * for each backing file in turn, the last being the raw base (is_qcow2 0),
 * until visit returns nonzero, which is then returned. 0 at the chain's
 * end; -errno when top cannot be read as qcow2. */
int bx_qcow2_walk(const char *top, int (*visit)(void *ud, const char *file, int is_qcow2), void *ud,
		  struct bx_error *err);

#endif
