/* Image routes (the spec's ImageInfo): list, pull, get and head by digest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"
#include "srv.h"

/* ImageInfo: "docker.io/library/alpine:3.19" → repository + tag. */
static json_t *image_json(const boxlite_image_info *im)
{
	const char *slash = strrchr(im->ref, '/'), *at = strchr(im->ref, '@');
	const char *colon = strrchr(slash ? slash : im->ref, ':');
	size_t repo_len = at ? (size_t)(at - im->ref) : colon ? (size_t)(colon - im->ref) : strlen(im->ref);
	char cached[32] = "";
	struct tm tm;
	time_t t = (time_t)im->created;

	if (gmtime_r(&t, &tm))
		strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s,s:s%,s:s,s:s,s:s,s:I}", "reference", im->ref, "repository", im->ref, repo_len, "tag",
			 !at && colon ? colon + 1 : "", "id", im->digest, "cached_at", cached, "size_bytes",
			 (json_int_t)im->size);
}

void h_images_list(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	boxlite_image_info *v = NULL;
	boxlite_error *e = NULL;
	size_t n = 0;
	json_t *arr;
	int rc = boxlite_image_list(s->rt, &v, &n, &e);

	if (rc < 0)
		return srv_error_lib(out, r, rc, e, SRV_CTX_IMAGE);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, image_json(&v[i]));
	boxlite_image_list_free(v, n);
	srv_json(out, 200, json_pack("{s:o}", "images", arr));
}

/* The image whose reference (or digest) is key, as JSON; NULL if none. */
static json_t *find_image(struct srv *s, const char *key, int *rc, boxlite_error **e)
{
	boxlite_image_info *v = NULL;
	size_t n = 0;
	json_t *j = NULL;

	if ((*rc = boxlite_image_list(s->rt, &v, &n, e)) < 0)
		return NULL;
	for (size_t i = 0; i < n && !j; i++)
		if (!strcmp(v[i].ref, key) || !strcmp(v[i].digest, key))
			j = image_json(&v[i]);
	boxlite_image_list_free(v, n);
	return j;
}

struct pulled {
	char ref[512];
};

static void on_pull(void *ud, const boxlite_pull_event *ev)
{
	if (ev->stage == BOXLITE_PULL_DONE)
		snprintf(((struct pulled *)ud)->ref, sizeof(((struct pulled *)ud)->ref), "%s", ev->ref);
}

void h_images_pull(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct pulled p = { "" };
	boxlite_pull_options po = { .struct_size = sizeof(po), .progress = on_pull, .user_data = &p };
	boxlite_error *e = NULL;
	const char *ref;
	json_t *q, *j;
	char msg[256];
	int rc = srv_parse_pull(r->body, r->body_len, &q, &ref, msg, sizeof(msg));

	if (rc)
		return srv_bad_request(out, r, rc, msg);
	rc = boxlite_image_pull(s->rt, ref, &po, &e);
	if (rc < 0) {
		srv_error_lib(out, r, rc, e, SRV_CTX_IMAGE);
	} else if (!(j = find_image(s, p.ref, &rc, &e))) {
		if (rc < 0)
			srv_error_lib(out, r, rc, e, SRV_CTX_IMAGE);
		else
			srv_error(out, r, 500, "InternalError", "internal", "pulled %s but cannot find it in the store", ref);
	} else
		srv_json(out, 200, j);
	srv_req_free(q);
}

void h_image_get(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	boxlite_error *e = NULL;
	int rc = 0;
	json_t *j = find_image(s, r->params[0], &rc, &e);

	if (rc < 0)
		return srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
	if (!j)
		return srv_error(out, r, 404, "NotFoundError", "not_found", "no image %s", r->params[0]);
	srv_json(out, 200, j);
}

void h_image_head(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	h_image_get(s, r, out);
	srv_empty(out, out->status == 200 ? 204 : out->status);
}
