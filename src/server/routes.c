/* The route table: every route of the API, in matching order (a static
 * segment before a {param} in the same place: /boxes/import before
 * /boxes/{box_id}). Paths are "/v1[/{prefix}]/PATTERN"; the prefix is the
 * reference's opaque routing slot, accepted and ignored (GET /v1/me
 * advertises none). */
#include <stdio.h>
#include <string.h>

#include "srv.h"

#define R(m, p, fn, fl) { m, p, fn, fl, NULL }

static const struct srv_route routes[] = {
	R("GET", "/config", h_config, SRV_ROUTE_PUBLIC | SRV_ROUTE_NO_PREFIX),
	R("GET", "/openapi.yaml", h_openapi, SRV_ROUTE_PUBLIC | SRV_ROUTE_NO_PREFIX),
	R("GET", "/me", h_me, SRV_ROUTE_NO_PREFIX),
	R("GET", "/metrics", h_runtime_metrics, 0),
	{ "POST", "/boxes/import", NULL, 0, &h_box_import }, /* untrusted: BOXLITE_IMPORT_UNTRUSTED */
	R("POST", "/boxes", h_box_create, 0),
	R("GET", "/boxes", h_box_list, 0),
	R("GET", "/boxes/{box_id}", h_box_get, 0),
	R("HEAD", "/boxes/{box_id}", h_box_head, 0),
	R("DELETE", "/boxes/{box_id}", h_box_delete, 0),
	R("POST", "/boxes/{box_id}/start", h_box_start, 0),
	R("POST", "/boxes/{box_id}/stop", h_box_stop, 0),
	R("POST", "/boxes/{box_id}/checkpoint", h_box_checkpoint, 0), /* boxlite's: docs/checkpoints.md */
	R("GET", "/boxes/{box_id}/metrics", h_box_metrics, 0),
	R("POST", "/boxes/{box_id}/exec", h_exec_start, 0),
	R("GET", "/boxes/{box_id}/attach", h_box_attach, 0),
	R("GET", "/boxes/{box_id}/executions/{exec_id}", h_exec_get, 0),
	R("DELETE", "/boxes/{box_id}/executions/{exec_id}", h_exec_kill, 0),
	R("GET", "/boxes/{box_id}/executions/{exec_id}/attach", h_exec_attach, 0),
	R("POST", "/boxes/{box_id}/executions/{exec_id}/signal", h_exec_signal, 0),
	R("POST", "/boxes/{box_id}/executions/{exec_id}/resize", h_exec_resize, 0),
	R("GET", "/boxes/{box_id}/files", h_files_get, 0),
	R("GET", "/boxes/{box_id}/logs", h_box_logs, 0), /* boxlite's: the main command's output */
	{ "PUT", "/boxes/{box_id}/files", NULL, 0, &h_files_put },
	R("GET", "/images", h_images_list, 0),
	R("POST", "/images/pull", h_images_pull, 0),
	R("GET", "/images/{image_id}", h_image_get, 0),
	R("HEAD", "/images/{image_id}", h_image_head, 0),
	/* Snapshots, clone, export (docs/snapshots.md). */
	R("POST", "/boxes/{box_id}/snapshots", h_snapshot_create, 0),
	R("GET", "/boxes/{box_id}/snapshots", h_snapshot_list, 0),
	R("GET", "/boxes/{box_id}/snapshots/{name}", h_snapshot_get, 0),
	R("DELETE", "/boxes/{box_id}/snapshots/{name}", h_snapshot_delete, 0),
	R("POST", "/boxes/{box_id}/snapshots/{name}/restore", h_snapshot_restore, 0),
	R("POST", "/boxes/{box_id}/clone", h_box_clone, 0),
	R("POST", "/boxes/{box_id}/export", h_box_export, 0),
	/* Volumes over REST: unsupported, as in the reference server. */
	R("POST", "/volumes", h_unsupported, 0),
	R("GET", "/volumes", h_unsupported, 0),
	R("GET", "/volumes/{volume_id}", h_unsupported, 0),
	R("DELETE", "/volumes/{volume_id}", h_unsupported, 0),
};

#define MAX_SEGS 24

/* Splits "/a/b/c" into segments (pointers into buf). */
static size_t split(char *buf, char **seg)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, "/", &save); t && n < MAX_SEGS; t = strtok_r(NULL, "/", &save))
		seg[n++] = t;
	return strtok_r(NULL, "/", &save) ? MAX_SEGS + 1 : n;
}

/* pattern against seg[0..n): literal segments equal, {x} any non-empty. */
static int match(const char *pattern, char **seg, size_t n, const char **params, const char *path,
		 const char *copy)
{
	char pbuf[128], *pseg[MAX_SEGS];
	size_t pn, np = 0;

	snprintf(pbuf, sizeof(pbuf), "%s", pattern);
	pn = split(pbuf, pseg);
	if (pn != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (pseg[i][0] == '{') {
			if (np < 4)
				params[np++] = path + (seg[i] - copy);
		} else if (strcmp(pseg[i], seg[i]))
			return 0;
	}
	return 1;
}

const struct srv_route *srv_route_find(const char *method, const char *path, struct srv_req *r,
				       int *path_known)
{
	static __thread char copy[4096], params_buf[4096];
	char *seg[MAX_SEGS];
	size_t n, plen = strlen(path);

	*path_known = 0;
	if (plen >= sizeof(copy) || strncmp(path, "/v1/", 4))
		return NULL;
	memcpy(copy, path, plen + 1);
	n = split(copy, seg);
	if (n == 0 || n > MAX_SEGS)
		return NULL;
	/* Params point into a second copy, NUL-split the same way. */
	memcpy(params_buf, copy, plen + 1);
	/* seg[0] is "v1"; try the shortest prefix first. */
	for (size_t skip = 1; skip < n; skip++) {
		for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
			const struct srv_route *rt = &routes[i];
			const char *params[4] = { 0 };
			if (skip > 1 && (rt->flags & SRV_ROUTE_NO_PREFIX))
				continue;
			if (!match(rt->pattern, seg + skip, n - skip, params, params_buf, copy))
				continue;
			*path_known = 1;
			if (strcmp(rt->method, method))
				continue;
			memcpy(r->params, params, sizeof(params));
			return rt;
		}
		if (*path_known)
			return NULL;
	}
	return NULL;
}

void bx_server_print_routes(FILE *f)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		fprintf(f, "%s /v1%s\n", routes[i].method, routes[i].pattern);
}
