/* Opening a remote runtime (boxlite_runtime_open_remote). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "remote.h"
#include "rest.h"

BX_EXPORT int boxlite_runtime_open_remote(const char *url, const char *api_key, const char *path_prefix,
					  boxlite_runtime **out, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	boxlite_runtime *rt;
	int rc;

	*out = NULL;
	if (!(rt = calloc(1, sizeof(*rt))))
		return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	pthread_mutex_init(&rt->lazy_mu, NULL);
	if ((rc = bx_rest_open(url, api_key, path_prefix, &rt->remote, &err)) < 0) {
		boxlite_runtime_close(rt);
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	}
	/* What a local runtime keeps in home, a remote one names by its URL. */
	snprintf(rt->home, sizeof(rt->home), "%s", bx_rest_url(rt->remote));
	*out = rt;
	return 0;
}

BX_EXPORT int boxlite_runtime_is_remote(const boxlite_runtime *rt)
{
	return rt && rt->remote != NULL;
}

BX_EXPORT int boxlite_runtime_whoami(boxlite_runtime *rt, char **json, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	json_t *me = NULL;
	int rc;

	*json = NULL;
	if (!rt || !rt->remote)
		return bx_error_export(bx_err(&err, -ENOTSUP, "whoami asks a server, and this runtime is local"), &err,
				       BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = bx_rest_json(rt->remote, "GET", "/me", NULL, &me, NULL, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	*json = json_dumps(me, JSON_INDENT(2));
	json_decref(me);
	return *json ? 0 : bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
}
