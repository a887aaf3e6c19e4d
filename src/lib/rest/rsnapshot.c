/* Snapshots of a remote box: the API's snapshot routes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "remote.h"
#include "rest.h"

/* "/boxes/ID/snapshots[/NAME][rest]", NAME escaped. */
static char *path_of(boxlite_box *box, const char *name, const char *rest)
{
	char *esc = name ? curl_easy_escape(NULL, name, 0) : NULL, *p = NULL;
	if (name && !esc)
		return NULL;
	if (asprintf(&p, "/boxes/%s/snapshots%s%s%s", bx_remote_box_id(box), name ? "/" : "", name ? esc : "",
		     rest ? rest : "") < 0)
		p = NULL;
	curl_free(esc);
	return p;
}

static int call(boxlite_box *box, const char *method, const char *name, const char *rest, json_t *body,
		json_t **resp, struct bx_error *err)
{
	char *p = path_of(box, name, rest);
	int rc = p ? bx_rest_json(box->rt->remote, method, p, body, resp, NULL, err) : bx_err(err, -ENOMEM, "out of memory");
	free(p);
	json_decref(body);
	return rc;
}

int bx_remote_snapshot_create(boxlite_box *box, const char *name, struct bx_error *err)
{
	return call(box, "POST", NULL, NULL, json_pack("{s:s}", "name", name), NULL, err);
}

int bx_remote_snapshot_list(boxlite_box *box, boxlite_snapshot_info **out, size_t *count, struct bx_error *err)
{
	json_t *resp = NULL, *arr, *s;
	boxlite_snapshot_info *v;
	size_t i;
	int rc = call(box, "GET", NULL, NULL, NULL, &resp, err);

	if (rc < 0)
		return rc;
	arr = json_object_get(resp, "snapshots");
	if (!(v = calloc(json_array_size(arr) + 1, sizeof(*v)))) {
		json_decref(resp);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	json_array_foreach(arr, i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		const char *bid = json_string_value(json_object_get(s, "box_id"));
		const char *name = json_string_value(json_object_get(s, "name"));
		v[i].struct_size = sizeof(v[i]);
		v[i].id = strdup(id ? id : "");
		v[i].box_id = strdup(bid ? bid : "");
		v[i].name = strdup(name ? name : "");
		v[i].created_at = json_integer_value(json_object_get(s, "created_at"));
		v[i].container_disk_bytes = (uint64_t)json_integer_value(json_object_get(s, "container_disk_bytes"));
		v[i].size_bytes = (uint64_t)json_integer_value(json_object_get(s, "size_bytes"));
	}
	*out = v;
	*count = json_array_size(arr);
	json_decref(resp);
	return 0;
}

int bx_remote_snapshot_restore(boxlite_box *box, const char *name, struct bx_error *err)
{
	return call(box, "POST", name, "/restore", NULL, NULL, err);
}

int bx_remote_snapshot_remove(boxlite_box *box, const char *name, struct bx_error *err)
{
	return call(box, "DELETE", name, NULL, NULL, NULL, err);
}

int bx_remote_export(boxlite_box *box, int fd, struct bx_error *err)
{
	char *path = NULL;
	int rc;

	if (asprintf(&path, "/boxes/%s/export", bx_remote_box_id(box)) < 0)
		return bx_err(err, -ENOMEM, "out of memory");
	rc = bx_rest_post_to_fd(box->rt->remote, path, fd, err);
	free(path);
	return rc;
}

int bx_remote_import(boxlite_runtime *rt, int fd, const char *name, boxlite_box **out, struct bx_error *err)
{
	char *esc = name ? curl_easy_escape(NULL, name, 0) : NULL, *path = NULL;
	json_t *resp = NULL;
	int rc;

	if ((name && !esc) || asprintf(&path, "/boxes/import%s%s", esc ? "?name=" : "", esc ? esc : "") < 0) {
		curl_free(esc);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	curl_free(esc);
	rc = bx_rest_post_fd(rt->remote, path, "application/octet-stream", fd, &resp, err);
	free(path);
	return rc < 0 ? rc : bx_remote_box_from_json(rt, resp, out, err); /* takes resp */
}
