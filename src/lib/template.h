/* Warm-start templates (docs/architecture.md, "Warm start"): a VM booted
 * once up to the agent's HELLO, saved as a QEMU migration stream (and a RAM
 * file clones map copy-on-write), which boxes' shims load instead of booting. On by default; BOXLITE_WARM_START=0 turns it off. */
#ifndef BOXLITE_LIB_TEMPLATE_H
#define BOXLITE_LIB_TEMPLATE_H

#include <limits.h>
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

/* A template's files: its migration stream (device state, and its RAM
 * unless ram is set) and its RAM file ("" when the stream carries the
 * RAM: QEMU < 8.2). Both absolute. */
struct bx_template {
	char state[PATH_MAX];
	char ram[PATH_MAX];
};

/* The template for this VM shape (engine, kernel, initramfs, shim,
 * accelerator, cpus, memory, network, volume count), made first if there
 * is none: <home>/templates/<key>/{state,ram}. Concurrent callers wait for
 * one maker (a lock); a template is renamed into place only when whole.
 * A failure leaves nothing behind; the caller then boots cold. */
int bx_template_get(boxlite_runtime *rt, unsigned cpus, unsigned memory_mib, int network, unsigned n_volumes,
		    struct bx_template *tpl, struct bx_error *err);

/* Finished templates in home and the bytes their files take on disk. */
void bx_template_usage(const char *home, uint32_t *count, uint64_t *bytes);

/* Removes the template whose state file is state (it failed to load). */
void bx_template_discard(const char *state);

#endif
