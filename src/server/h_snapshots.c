/* Snapshot routes (rest-api.md §4): create, list, get, delete, restore. */
#include <errno.h>
#include <string.h>

#include "request.h"
#include "srv.h"

/* The Snapshot schema (created_at in seconds, as the reference). */
static json_t *snapshot_json(const boxlite_snapshot_info *s)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "id", s->id, "box_id", s->box_id, "name", s->name, "created_at",
			 (json_int_t)s->created_at, "container_disk_bytes", (json_int_t)s->container_disk_bytes,
			 "size_bytes", (json_int_t)s->size_bytes);
}

/* The box's snapshot named name as JSON, or NULL with the error answered. */
static json_t *find(struct srv_box *b, const char *name, struct srv_req *r, struct srv_resp *out)
{
	boxlite_snapshot_info *v = NULL;
	boxlite_error *e = NULL;
	json_t *j = NULL;
	size_t n = 0;
	int rc = boxlite_box_snapshot_list(b->box, &v, &n, &e);

	if (rc < 0) {
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
		return NULL;
	}
	for (size_t i = 0; i < n && !j; i++)
		if (!strcmp(v[i].name, name))
			j = snapshot_json(&v[i]);
	boxlite_snapshot_info_list_free(v, n);
	if (!j)
		srv_error(out, r, 404, "NotFoundError", "not_found", "box %s has no snapshot named %s", b->id, name);
	return j;
}

void h_snapshot_create(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_box *b;
	boxlite_error *e = NULL;
	const char *name;
	json_t *q, *j;
	char msg[256];
	int rc = srv_parse_snapshot(r->body, r->body_len, &q, &name, msg, sizeof(msg));

	if (rc)
		return srv_bad_request(out, r, rc, msg);
	if ((b = srv_route_box(s, r, out))) {
		if ((rc = boxlite_box_snapshot_create(b->box, name, &e)) < 0)
			srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
		else if ((j = find(b, name, r, out)))
			srv_json(out, 201, j);
		srv_box_put(s, b);
	}
	srv_req_free(q);
}

void h_snapshot_list(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	boxlite_snapshot_info *v = NULL;
	boxlite_error *e = NULL;
	struct srv_box *b = srv_route_box(s, r, out);
	size_t n = 0;
	int rc;

	if (!b)
		return;
	if ((rc = boxlite_box_snapshot_list(b->box, &v, &n, &e)) < 0) {
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	} else {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, snapshot_json(&v[i]));
		boxlite_snapshot_info_list_free(v, n);
		srv_json(out, 200, json_pack("{s:o}", "snapshots", arr));
	}
	srv_box_put(s, b);
}

void h_snapshot_get(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_box *b = srv_route_box(s, r, out);
	json_t *j;

	if (!b)
		return;
	if ((j = find(b, r->params[1], r, out)))
		srv_json(out, 200, j);
	srv_box_put(s, b);
}

/* DELETE and restore: a call on the box by name, 204 when done. */
static void name_call(struct srv *s, struct srv_req *r, struct srv_resp *out,
		      int (*fn)(boxlite_box *, const char *, boxlite_error **))
{
	struct srv_box *b = srv_route_box(s, r, out);
	boxlite_error *e = NULL;
	int rc;

	if (!b)
		return;
	if ((rc = fn(b->box, r->params[1], &e)) < 0)
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	else
		srv_empty(out, 204);
	srv_box_put(s, b);
}

void h_snapshot_delete(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	name_call(s, r, out, boxlite_box_snapshot_remove);
}

void h_snapshot_restore(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	name_call(s, r, out, boxlite_box_snapshot_restore);
}
