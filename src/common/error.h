/* One error idiom for all host code (library, shim, CLI):
 *   int f(..., struct bx_error *err)  returns 0 or a negative errno, and on
 *   failure fills err with that code and a message, in one line:
 *       return bx_err(err, -ENOENT, "image %s not found", ref);
 * Only the top (CLI main, shim main, public API boundary) reports it. */
#ifndef BOXLITE_COMMON_ERROR_H
#define BOXLITE_COMMON_ERROR_H

#include <errno.h>

#define BX_ERR_MSG_MAX 1024

struct bx_error {
	int code; /* negative errno, 0 = no error */
	char msg[BX_ERR_MSG_MAX];
};

/* Sets err (when not NULL and not already set) and returns code. */
int bx_err(struct bx_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like bx_err but appends ": strerror(-code)". */
int bx_err_sys(struct bx_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes an existing message with context ("starting box abc: ..."). */
int bx_err_wrap(struct bx_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void bx_err_clear(struct bx_error *err);

#endif
