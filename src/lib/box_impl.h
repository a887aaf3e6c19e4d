/* Box lifecycle internals shared by box.c, box_state.c and box_attach.c.
 * The *_locked functions expect the caller to hold the box's lock. */
#ifndef BOXLITE_LIB_BOX_IMPL_H
#define BOXLITE_LIB_BOX_IMPL_H

#include "internal.h"

/* starting, running, paused or stopping: a shim should be alive. */
static inline int bx_state_active(enum boxlite_box_state s)
{
	return s == BOXLITE_BOX_STARTING || s == BOXLITE_BOX_RUNNING || s == BOXLITE_BOX_PAUSED ||
	       s == BOXLITE_BOX_STOPPING;
}

/* A handle with nothing in it yet (NULL: out of memory), and its end. */
boxlite_box *bx_box_alloc(boxlite_runtime *rt);
void bx_box_destroy(boxlite_box *box);
/* A new box with src's config (name: name, or none) whose disk is an empty
 * overlay of size bytes over base (clone.c). */
int bx_box_create_from(boxlite_runtime *rt, const struct bx_box_record *src, const char *name, const char *base,
		       uint64_t size, boxlite_box **out, struct bx_error *err);
/* The box's config document as stored (JSON text, malloc'd; NULL: ENOMEM). */
char *bx_box_config_json(const boxlite_box *box);
/* A config document from outside (an imported archive's box options):
 * read as a stored one and written back in our own form. untrusted: no
 * volumes (-ENOTSUP). NULL with err set on failure. */
char *bx_box_config_normalize(boxlite_runtime *rt, const char *text, int untrusted, struct bx_error *err);
/* hold: the shim starts the main command only when a client attaches. */
int bx_box_start_locked(boxlite_box *box, int hold, struct bx_error *err);
/* Before exec and copy: starts a stopped or never-started box that has no
 * command of its own; a job is refused (-ENOTCONN, saying why). */
int bx_box_wake(boxlite_box *box, const char *op, struct bx_error *err);
int bx_box_stop_locked(boxlite_box *box, uint32_t timeout_ms, struct bx_error *err);
int bx_box_remove_locked(boxlite_box *box, struct bx_error *err);
/* Re-reads the record and settles a dead shim's box (stopped or failed,
 * from the exit file). -ENOENT when the box was removed. */
int bx_box_reconcile_locked(boxlite_box *box, struct bx_error *err);

#endif
