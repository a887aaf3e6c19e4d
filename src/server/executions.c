/* Executions: commands started through the API, kept by id so a client can
 * attach, detach and attach again, signal, resize or kill them. Output is
 * not copied into a server-side backlog: it stays in the exec handle's
 * flow-controlled streams until a client reads it, so a reattaching client
 * gets every byte the previous one did not, and a command nobody reads
 * simply waits (as behind a full pipe) until the reaper gives up on it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "srv.h"

uint64_t srv_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void srv_uuid(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		memset(b, 0, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

struct srv_exec *srv_exec_add(struct srv *s, struct srv_box *b, boxlite_exec *h, int main_session, int tty,
			      uint32_t timeout_ms)
{
	struct srv_exec *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	srv_uuid(x->id);
	snprintf(x->box_id, sizeof(x->box_id), "%s", b->id);
	x->h = h;
	x->box = b;
	x->main_session = main_session;
	x->tty = tty;
	x->timeout_ms = timeout_ms;
	x->started_ns = x->idle_since_ns = srv_now_ns();
	pthread_mutex_init(&x->mu, NULL);
	srv_box_ref(s, b);
	pthread_mutex_lock(&s->mu);
	x->refs = 2; /* the map's and the caller's */
	b->execs++;
	s->execs_alive++;
	x->next = s->execs;
	s->execs = x;
	pthread_mutex_unlock(&s->mu);
	return x;
}

struct srv_exec *srv_exec_find(struct srv *s, const char *id)
{
	struct srv_exec *x;
	pthread_mutex_lock(&s->mu);
	for (x = s->execs; x && strcmp(x->id, id); x = x->next)
		;
	if (x)
		x->refs++;
	pthread_mutex_unlock(&s->mu);
	return x;
}

struct srv_exec *srv_exec_find_main(struct srv *s, const char *box_id)
{
	struct srv_exec *x;
	pthread_mutex_lock(&s->mu);
	for (x = s->execs; x && !(x->main_session && !strcmp(x->box_id, box_id)); x = x->next)
		;
	if (x)
		x->refs++;
	pthread_mutex_unlock(&s->mu);
	return x;
}

static void unlink_locked(struct srv *s, struct srv_exec *x)
{
	for (struct srv_exec **p = &s->execs; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	x->evicted = 1;
}

void srv_exec_put(struct srv *s, struct srv_exec *x)
{
	int last;
	if (!x)
		return;
	pthread_mutex_lock(&s->mu);
	last = --x->refs == 0;
	if (last && !x->evicted)
		unlink_locked(s, x); /* cannot happen: the map holds a reference */
	pthread_mutex_unlock(&s->mu);
	if (!last)
		return;
	boxlite_exec_free(x->h); /* kills the command if it still runs */
	pthread_mutex_lock(&s->mu);
	x->box->execs--;
	s->execs_alive--;
	pthread_cond_broadcast(&s->exec_gone);
	pthread_mutex_unlock(&s->mu);
	srv_box_unref(s, x->box);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

void srv_exec_evict(struct srv *s, struct srv_exec *x)
{
	int drop = 0;
	pthread_mutex_lock(&s->mu);
	if (!x->evicted) {
		unlink_locked(s, x);
		drop = 1; /* the map's reference */
	}
	pthread_mutex_unlock(&s->mu);
	if (drop)
		srv_exec_put(s, x);
}

int srv_exec_poll_locked(struct srv_exec *x, int timeout_ms)
{
	if (!x->done) {
		int rc = boxlite_exec_wait(x->h, timeout_ms, &x->st, NULL);
		if (rc != -ETIMEDOUT) {
			x->done = 1;
			x->wait_rc = rc;
			x->done_ns = srv_now_ns();
		}
	}
	return x->done;
}

void srv_exec_release_locked(struct srv_exec *x)
{
	if (x->h && x->done && !x->attached && !x->stdin_busy) {
		boxlite_exec_free(x->h);
		x->h = NULL;
	}
}

void srv_execs_drop(struct srv *s, struct srv_box *b)
{
	struct timespec until;

	for (;;) {
		struct srv_exec *x;
		pthread_mutex_lock(&s->mu);
		for (x = s->execs; x && b && x->box != b; x = x->next)
			;
		if (x)
			x->refs++;
		pthread_mutex_unlock(&s->mu);
		if (!x)
			break;
		pthread_mutex_lock(&x->mu);
		if (!x->done)
			boxlite_exec_signal(x->h, SIGKILL);
		x->killed = 1;
		pthread_mutex_unlock(&x->mu);
		srv_exec_evict(s, x);
		srv_exec_put(s, x);
	}
	/* Attached clients hold references until their session ends. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&s->mu);
	while ((b ? b->execs : s->execs_alive) > 0)
		if (pthread_cond_timedwait(&s->exec_gone, &s->mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->mu);
}

/* "30s", "5m", "24h" or seconds; def when unset or malformed. */
static uint64_t env_duration(const char *name, uint64_t def_s)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return def_s * 1000000000ull;
	n = strtoull(v, &end, 10);
	if (end == v || (*end && end[1]) || (*end && !strchr("smh", *end))) {
		fprintf(stderr, "boxlite serve: %s=%s is not a duration (Ns, Nm or Nh); using %llus\n", name, v,
			(unsigned long long)def_s);
		return def_s * 1000000000ull;
	}
	n *= *end == 'h' ? 3600 : *end == 'm' ? 60 : 1;
	return n * 1000000000ull;
}

void *srv_reaper_main(void *arg)
{
	struct srv *s = arg;

	s->reconnect_grace = env_duration("BOXLITE_RECONNECT_GRACE", 300);
	s->shutdown_grace = env_duration("BOXLITE_SHUTDOWN_GRACE", 30);
	s->max_lifetime = env_duration("BOXLITE_MAX_SESSION_LIFETIME", 24 * 3600);
	s->retention = env_duration("BOXLITE_EXEC_RETENTION", 300);
	for (;;) {
		struct srv_exec *batch[64];
		size_t n = 0;
		uint64_t now;

		sleep(1);
		pthread_mutex_lock(&s->mu);
		if (s->stopping) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		for (struct srv_exec *x = s->execs; x && n < 64; x = x->next) {
			x->refs++;
			batch[n++] = x;
		}
		pthread_mutex_unlock(&s->mu);
		now = srv_now_ns();
		for (size_t i = 0; i < n; i++) {
			struct srv_exec *x = batch[i];
			int evict = 0, sig = 0;

			pthread_mutex_lock(&x->mu);
			if (!x->attached && srv_exec_poll_locked(x, 0)) {
				evict = now - x->done_ns > s->retention;
				/* Output nobody came for in a minute is not kept. */
				if (now - x->done_ns > 60ull * 1000000000ull)
					srv_exec_release_locked(x);
			} else if (now - x->started_ns > s->max_lifetime) {
				sig = SIGKILL;
				evict = 1;
			} else if (!x->attached && !x->done) {
				uint64_t idle = now - x->idle_since_ns;
				if (!x->hup_sent && idle > s->reconnect_grace) {
					sig = SIGHUP;
					x->hup_sent = 1;
					x->idle_since_ns = now;
				} else if (x->hup_sent && !x->term_sent && idle > s->shutdown_grace) {
					sig = SIGTERM;
					x->term_sent = 1;
					x->idle_since_ns = now;
				} else if (x->term_sent && idle > s->shutdown_grace) {
					sig = SIGKILL;
					evict = 1;
				}
			}
			if (sig) {
				boxlite_exec_signal(x->h, sig);
				if (sig == SIGKILL)
					x->killed = 1;
			}
			pthread_mutex_unlock(&x->mu);
			if (evict)
				srv_exec_evict(s, x);
			srv_exec_put(s, x);
		}
	}
}
