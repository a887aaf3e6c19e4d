/* Warm-start templates (docs/architecture.md, "Warm start"): a VM booted
 * once up to the agent's HELLO, saved as a QEMU migration stream, which
 * boxes' shims load instead of booting. On by default; BOXLITE_WARM_START=0 turns it off. */
#ifndef BOXLITE_LIB_TEMPLATE_H
#define BOXLITE_LIB_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "internal.h"

/* What a jailed shim's error says when cloning the template failed
 * (src/shim/vm.c): the library then starts the box again, cold. */
#define BX_WARM_FAILED "warm start failed"

/* 0 when BOXLITE_WARM_START=0, else 1 (read at every start). */
int bx_template_enabled(void);

/* Boxes with more volumes than this boot cold (a template per count). */
#define BX_TEMPLATE_VOLUMES_MAX 8

/* The state file of the template for this VM shape (engine, kernel,
 * initramfs, shim, accelerator, cpus, memory, network, volume count), made first if
 * there is none: <home>/templates/<key>/state. Concurrent callers wait
 * for one maker (a lock); a template is renamed into place only when whole.
 * A failure leaves nothing behind; the caller then boots cold. */
int bx_template_get(boxlite_runtime *rt, unsigned cpus, unsigned memory_mib, int network, unsigned n_volumes,
		    char *state, size_t cap, struct bx_error *err);

/* Finished templates in home and the bytes of their state files. */
void bx_template_usage(const char *home, uint32_t *count, uint64_t *bytes);

/* Removes the template whose state file is state (it failed to load). */
void bx_template_discard(const char *state);

#endif
