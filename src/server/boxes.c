/* The server's box handles. A handle is one thread's at a time, so each
 * cached box has its own lock, held for the length of a call on it; calls
 * on different boxes run in parallel. A handle this server created stays
 * cached for the server's life: freeing it is what stops a non-detached
 * box when the server stops. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv.h"

static struct srv_box *find_locked(struct srv *s, const char *id)
{
	for (struct srv_box *b = s->boxes; b; b = b->next)
		if (!b->gone && !strcmp(b->id, id))
			return b;
	return NULL;
}

static struct srv_box *insert_locked(struct srv *s, boxlite_box *box)
{
	struct srv_box *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	snprintf(b->id, sizeof(b->id), "%s", boxlite_box_id(box));
	b->box = box;
	pthread_mutex_init(&b->mu, NULL);
	b->next = s->boxes;
	s->boxes = b;
	return b;
}

/* Takes a reference (s->mu held), then the box's own lock (not held). */
static struct srv_box *lock_ref(struct srv *s, struct srv_box *b)
{
	b->refs++;
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&b->mu);
	return b;
}

int srv_box_get(struct srv *s, const char *key, struct srv_box **out, boxlite_error **err)
{
	struct srv_box *b;
	boxlite_box *h = NULL;
	int rc;

	*out = NULL;
	pthread_mutex_lock(&s->mu);
	b = find_locked(s, key);
	if (b) {
		*out = lock_ref(s, b);
	} else {
		pthread_mutex_unlock(&s->mu);
		/* By name or id prefix: the store resolves it. */
		if ((rc = boxlite_box_get(s->rt, key, &h, err)) < 0)
			return rc;
		pthread_mutex_lock(&s->mu);
		b = find_locked(s, boxlite_box_id(h));
		if (b)
			boxlite_box_free(h); /* a get handle: freeing it never stops the box */
		else if (!(b = insert_locked(s, h))) {
			pthread_mutex_unlock(&s->mu);
			boxlite_box_free(h);
			return -ENOMEM;
		}
		*out = lock_ref(s, b);
	}
	if ((*out)->gone) { /* removed while we waited for its lock */
		srv_box_put(s, *out);
		*out = NULL;
		return -ENOENT;
	}
	return 0;
}

struct srv_box *srv_route_box(struct srv *s, struct srv_req *r, struct srv_resp *out)
{
	struct srv_box *b = NULL;
	boxlite_error *e = NULL;
	int rc = srv_box_get(s, r->params[0], &b, &e);

	if (rc < 0) {
		srv_error_lib(out, r, rc, e, SRV_CTX_BOX);
		return NULL;
	}
	return b;
}

struct srv_box *srv_box_adopt(struct srv *s, boxlite_box *box)
{
	struct srv_box *b;
	pthread_mutex_lock(&s->mu);
	if (!(b = insert_locked(s, box))) {
		pthread_mutex_unlock(&s->mu);
		return NULL;
	}
	return lock_ref(s, b);
}

void srv_box_ref(struct srv *s, struct srv_box *b)
{
	pthread_mutex_lock(&s->mu);
	b->refs++;
	pthread_mutex_unlock(&s->mu);
}

void srv_box_put(struct srv *s, struct srv_box *b)
{
	if (!b)
		return;
	pthread_mutex_unlock(&b->mu);
	srv_box_unref(s, b);
}

void srv_box_unref(struct srv *s, struct srv_box *b)
{
	pthread_mutex_lock(&s->mu);
	if (--b->refs == 0 && b->gone) {
		for (struct srv_box **p = &s->boxes; *p; p = &(*p)->next)
			if (*p == b) {
				*p = b->next;
				break;
			}
		pthread_mutex_destroy(&b->mu);
		free(b);
	}
	pthread_mutex_unlock(&s->mu);
}

void srv_box_forget(struct srv *s, struct srv_box *b)
{
	pthread_mutex_lock(&s->mu);
	b->gone = 1;
	b->box = NULL;
	pthread_mutex_unlock(&s->mu);
}

void srv_boxes_free(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	while (s->boxes) {
		struct srv_box *b = s->boxes;
		s->boxes = b->next;
		boxlite_box_free(b->box);
		pthread_mutex_destroy(&b->mu);
		free(b);
	}
	pthread_mutex_unlock(&s->mu);
}

static json_t *rfc3339(uint64_t ns)
{
	char buf[40];
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm))
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%06lluZ",
		 (unsigned long long)(ns % 1000000000ull / 1000));
	return json_string(buf);
}

/* The API's status names (no "starting": a booting box is running, as the
 * reference's state machine goes straight there). */
static const char *status_name(enum boxlite_box_state st)
{
	switch (st) {
	case BOXLITE_BOX_CONFIGURED: return "configured";
	case BOXLITE_BOX_STARTING:
	case BOXLITE_BOX_RUNNING: return "running";
	case BOXLITE_BOX_PAUSED: return "paused";
	case BOXLITE_BOX_STOPPING: return "stopping";
	case BOXLITE_BOX_STOPPED: return "stopped";
	case BOXLITE_BOX_FAILED: return "failed";
	}
	return "unknown";
}

json_t *srv_box_json(const boxlite_box_info *in)
{
	uint64_t updated = in->created_at;
	json_t *j;

	if (in->started_at > updated)
		updated = in->started_at;
	if (in->finished_at > updated)
		updated = in->finished_at;
	j = json_pack("{s:s,s:o,s:s,s:o,s:o,s:o,s:s,s:i,s:i,s:o,s:i,s:i,s:b,s:b}", "box_id", in->id, "name",
		      in->name[0] ? json_string(in->name) : json_null(), "status", status_name(in->state),
		      "created_at", rfc3339(in->created_at), "updated_at", rfc3339(updated), "pid",
		      in->shim_pid > 0 ? json_integer(in->shim_pid) : json_null(), "image", in->image, "cpus",
		      (int)in->cpus, "memory_mib", (int)in->memory_mib, "labels", json_object(), "auto_pause", 0,
		      "auto_delete", 0, "auto_resume", 1, "detach", in->detached);
	if (j && in->exit_code >= 0 && (in->state == BOXLITE_BOX_STOPPED || in->state == BOXLITE_BOX_FAILED))
		json_object_set_new(j, "exit_code", json_integer(in->exit_code));
	if (j && in->reason[0])
		json_object_set_new(j, "reason", json_string(in->reason));
	return j;
}
