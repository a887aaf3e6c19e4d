#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int err_vset(struct bx_error *err, int code, int with_errno, const char *fmt, va_list ap)
{
	if (!err || err->code)
		return code;
	err->code = code ? code : -EIO;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (with_errno) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(-err->code));
	}
	return code;
}

int bx_err(struct bx_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int bx_err_sys(struct bx_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, code, 1, fmt, ap);
	va_end(ap);
	return code;
}

int bx_err_wrap(struct bx_error *err, int code, const char *fmt, ...)
{
	char prefix[256], old[BX_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return code;
	if (!err->code) {
		va_start(ap, fmt);
		err_vset(err, code, 0, fmt, ap);
		va_end(ap);
		return code;
	}
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* prefix + ": " + old, truncated to fit (intentionally). */
	size_t np = strnlen(prefix, sizeof(prefix) - 1);
	memcpy(err->msg, prefix, np);
	memcpy(err->msg + np, ": ", 2);
	size_t room = sizeof(err->msg) - np - 3;
	size_t no = strnlen(old, room);
	memcpy(err->msg + np + 2, old, no);
	err->msg[np + 2 + no] = '\0';
	return err->code;
}

void bx_err_clear(struct bx_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
