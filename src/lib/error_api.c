/* The public error object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int bx_error_export(int rc, struct bx_error *e, enum boxlite_error_origin origin, boxlite_error **out)
{
	boxlite_error *pub;

	if (!out)
		return rc;
	*out = NULL;
	if (rc >= 0)
		return rc; /* success: no error object */
	pub = calloc(1, sizeof(*pub));
	if (!pub)
		return rc;
	pub->code = rc;
	pub->origin = origin;
	if (e && e->code)
		memcpy(pub->msg, e->msg, sizeof(pub->msg));
	else
		snprintf(pub->msg, sizeof(pub->msg), "%s", strerror(-rc));
	*out = pub;
	return rc;
}

BX_EXPORT int boxlite_error_code(const boxlite_error *err)
{
	return err ? err->code : 0;
}

BX_EXPORT const char *boxlite_error_message(const boxlite_error *err)
{
	return err ? err->msg : "";
}

BX_EXPORT enum boxlite_error_origin boxlite_error_origin(const boxlite_error *err)
{
	return err ? err->origin : BOXLITE_ORIGIN_RUNTIME;
}

BX_EXPORT void boxlite_error_free(boxlite_error *err)
{
	free(err);
}
