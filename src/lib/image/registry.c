/* Distribution API v2 client on libcurl. */
#include "registry.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "reference.h"
#include "registry_config.h"
#include "www_auth.h"

#define MAX_ATTEMPTS 5
#define MAX_AUTH_ROUNDS 3
#define TOKEN_MAX (64u << 10)
#ifndef BOXLITE_VERSION_STRING
#define BOXLITE_VERSION_STRING "dev"
#endif

struct bx_registry {
	char domain[BX_REF_DOMAIN_MAX];
	char repo[BX_REF_PATH_MAX];
	char base[BX_REF_DOMAIN_MAX + 16]; /* "https://host:port" */
	char *user, *pass;                 /* NULL: anonymous */
	char *bearer;                      /* token from the realm, or NULL */
	bool use_basic;                    /* the registry asked for Basic */
	bool in_token;                     /* talking to the token server */
	bool skip_verify;                  /* TLS without verification (the runtime's skip_verify) */
	CURL *curl;
};

/* One HTTP response's interesting headers (reset at each status line, so
 * after redirects they are the final response's). */
struct resp {
	long status;
	char content_type[128];
	char www_auth[2048];
	int64_t range_start; /* from Content-Range, -1 when absent */
	char errbody[2048];
	size_t errlen;
};

enum sink_kind { SINK_MEM, SINK_FD };

struct sink {
	enum sink_kind kind;
	/* SINK_MEM */
	char *buf;
	size_t len, cap, max;
	/* SINK_FD */
	int fd;
	EVP_MD_CTX *md;
	uint64_t off, total;
	bx_registry_progress_fn progress;
	void *ud;
	/* both */
	int werr; /* -errno that stopped the transfer from a callback */
	struct resp *resp;
	CURL *curl;
	bool body_checked;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void copy_header_value(char *dst, size_t size, const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	struct resp *r = s->resp;
	size_t n = size * nmemb;
	const char *colon;

	if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
		memset(r, 0, sizeof(*r));
		r->range_start = -1;
		s->body_checked = false;
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon)
		return n;
	size_t name_len = (size_t)(colon - data);
	const char *v = colon + 1;
	size_t vlen = n - name_len - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	if (name_len == 12 && !strncasecmp(data, "Content-Type", 12)) {
		copy_header_value(r->content_type, sizeof(r->content_type), v, vlen);
		r->content_type[strcspn(r->content_type, ";")] = '\0';
	} else if (name_len == 16 && !strncasecmp(data, "WWW-Authenticate", 16) && !r->www_auth[0]) {
		copy_header_value(r->www_auth, sizeof(r->www_auth), v, vlen);
	} else if (name_len == 13 && !strncasecmp(data, "Content-Range", 13)) {
		char tmp[128];
		unsigned long long start;
		copy_header_value(tmp, sizeof(tmp), v, vlen);
		if (sscanf(tmp, "bytes %llu-", &start) == 1)
			r->range_start = (int64_t)start;
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (!s->body_checked) {
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->resp->status);
		s->body_checked = true;
		if (s->kind == SINK_FD && s->resp->status == 200 && s->off > 0) {
			/* The server ignored our Range: start over. */
			if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0 ||
			    !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL)) {
				s->werr = -errno ?: -EIO;
				return 0;
			}
			s->off = 0;
		}
		if (s->kind == SINK_FD && s->resp->status == 206 && s->resp->range_start != (int64_t)s->off) {
			s->werr = -EPROTO;
			return 0;
		}
	}
	if (s->resp->status != 200 && s->resp->status != 206) {
		size_t room = sizeof(s->resp->errbody) - 1 - s->resp->errlen;
		size_t k = n < room ? n : room;
		memcpy(s->resp->errbody + s->resp->errlen, data, k);
		s->resp->errlen += k;
		s->resp->errbody[s->resp->errlen] = '\0';
		return n;
	}
	if (s->kind == SINK_MEM) {
		if (s->len + n > s->max) {
			s->werr = -EFBIG;
			return 0;
		}
		if (s->len + n + 1 > s->cap) {
			size_t cap = s->cap ? s->cap : 16384;
			while (cap < s->len + n + 1)
				cap *= 2;
			char *nb = realloc(s->buf, cap);
			if (!nb) {
				s->werr = -ENOMEM;
				return 0;
			}
			s->buf = nb;
			s->cap = cap;
		}
		memcpy(s->buf + s->len, data, n);
		s->len += n;
		s->buf[s->len] = '\0';
		return n;
	}
	if (s->off + n > s->total) {
		s->werr = -EBADMSG; /* more bytes than the descriptor says */
		return 0;
	}
	for (size_t done = 0; done < n;) {
		ssize_t w = write(s->fd, data + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			s->werr = -errno;
			return 0;
		}
		done += (size_t)w;
	}
	EVP_DigestUpdate(s->md, data, n);
	s->off += n;
	if (s->progress)
		s->progress(s->ud, s->off, s->total);
	return n;
}

static bool transient(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void backoff(int attempt)
{
	struct timespec ts = { 0, 0 };
	long ms = 200L << attempt; /* 200, 400, 800, 1600 ms */

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* "code: message" from a registry's JSON error body, else its first line. */
static void describe_error_body(const struct resp *resp, char *out, size_t size)
{
	json_t *root = json_loadb(resp->errbody, resp->errlen, 0, NULL);
	json_t *e0 = json_array_get(json_object_get(root, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));

	if (code || msg)
		snprintf(out, size, "%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
	else
		snprintf(out, size, "%.*s", (int)strcspn(resp->errbody, "\r\n"), resp->errbody);
	json_decref(root);
}

static int fetch_token(struct bx_registry *r, const struct bx_auth_challenge *ch, struct bx_error *err);

/* Performs one GET with retries and authentication rounds. Returns the
 * final HTTP status (> 0) or -errno. */
static int http_get(struct bx_registry *r, const char *url, const char *accept, struct sink *s, struct resp *resp,
		    bool authenticate, struct bx_error *err)
{
	int auth_rounds = 0;

	for (int attempt = 0;;) {
		struct curl_slist *hdrs = NULL;
		char line[TOKEN_MAX + 64];
		CURLcode c;
		int rc;

		memset(resp, 0, sizeof(*resp));
		resp->range_start = -1;
		s->resp = resp;
		s->curl = r->curl;
		s->werr = 0;
		s->body_checked = false;
		if (s->kind == SINK_MEM)
			s->len = 0;
		curl_easy_reset(r->curl);
		curl_easy_setopt(r->curl, CURLOPT_URL, url);
		curl_easy_setopt(r->curl, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(r->curl, CURLOPT_MAXREDIRS, 8L);
		curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(r->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT, 20L);
		curl_easy_setopt(r->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(r->curl, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "boxlite/" BOXLITE_VERSION_STRING);
		curl_easy_setopt(r->curl, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(r->curl, CURLOPT_HEADERDATA, s);
		curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(r->curl, CURLOPT_ACCEPT_ENCODING, NULL);
		if (r->skip_verify) {
			curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		if (accept) {
			snprintf(line, sizeof(line), "Accept: %s", accept);
			hdrs = curl_slist_append(hdrs, line);
		}
		if (authenticate && r->bearer) {
			snprintf(line, sizeof(line), "Authorization: Bearer %s", r->bearer);
			hdrs = curl_slist_append(hdrs, line);
		} else if (authenticate && r->use_basic && r->user) {
			curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(r->curl, CURLOPT_USERNAME, r->user);
			curl_easy_setopt(r->curl, CURLOPT_PASSWORD, r->pass);
		}
		if (s->kind == SINK_FD && s->off > 0) {
			snprintf(line, sizeof(line), "Range: bytes=%" PRIu64 "-", s->off);
			hdrs = curl_slist_append(hdrs, line);
		}
		curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdrs);
		c = curl_easy_perform(r->curl);
		curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(hdrs);
		explicit_bzero(line, sizeof(line));
		if (c == CURLE_WRITE_ERROR && s->werr) {
			if (s->werr == -EFBIG)
				return bx_err(err, -EFBIG, "%s: response larger than %zu bytes", url, s->max);
			if (s->werr == -EBADMSG)
				return bx_err(err, -EBADMSG, "%s: more bytes than the descriptor's size %" PRIu64, url,
					      s->total);
			if (s->werr == -EPROTO)
				return bx_err(err, -EPROTO, "%s: the registry answered a different byte range", url);
			return bx_err_sys(err, s->werr, "%s: writing the download", url);
		}
		if (c != CURLE_OK) {
			if (transient(c) && ++attempt < MAX_ATTEMPTS) {
				backoff(attempt - 1);
				continue;
			}
			return bx_err(err, c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ? -EHOSTUNREACH : -EIO,
				      "%s: %s", url, curl_easy_strerror(c));
		}
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		if (resp->status == 401 && authenticate && auth_rounds++ < MAX_AUTH_ROUNDS) {
			struct bx_auth_challenge ch;
			if (!resp->www_auth[0])
				return bx_err(err, -EACCES, "%s: 401 Unauthorized without a challenge", r->domain);
			rc = bx_www_auth_parse(resp->www_auth, strlen(resp->www_auth), &ch, err);
			if (rc < 0)
				return bx_err_wrap(err, rc == -ENOTSUP ? -EACCES : rc, "%s", r->domain);
			if (ch.scheme == BX_AUTH_BASIC) {
				if (!r->user)
					return bx_err(err, -EACCES,
						      "%s: authentication required (run 'boxlite login %s')", r->domain,
						      r->domain);
				if (r->use_basic)
					return bx_err(err, -EACCES, "%s: the registry refused the credentials for user %s",
						      r->domain, r->user);
				r->use_basic = true;
				continue;
			}
			if (r->in_token)
				return bx_err(err, -EACCES, "%s: the token server asks for a token itself", r->domain);
			if (auth_rounds > 1 && !strcmp(ch.error, "insufficient_scope"))
				return bx_err(err, -EACCES, "%s: access to %s denied (%s)", r->domain, r->repo, ch.error);
			rc = fetch_token(r, &ch, err);
			if (rc < 0)
				return rc;
			continue;
		}
		if ((resp->status == 429 || resp->status >= 500) && ++attempt < MAX_ATTEMPTS) {
			backoff(attempt - 1);
			continue;
		}
		if (resp->status == 416 && s->kind == SINK_FD && s->off > 0) {
			/* Our prefix is as long as the blob or longer: start over. */
			if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
				return bx_err_sys(err, -errno, "%s: restarting the download", url);
			EVP_DigestInit_ex(s->md, EVP_sha256(), NULL);
			s->off = 0;
			continue;
		}
		return (int)resp->status;
	}
}

static char *url_escape(CURL *c, const char *s)
{
	return curl_easy_escape(c, s, 0);
}

static int fetch_token(struct bx_registry *r, const struct bx_auth_challenge *ch, struct bx_error *err)
{
	struct sink s = { .kind = SINK_MEM, .max = TOKEN_MAX };
	struct resp resp;
	_cleanup_free_ char *url = NULL, *scope_default = NULL;
	char *svc = NULL, *scope = NULL;
	json_t *root;
	const char *tok;
	bool had_basic = r->use_basic;
	int st;

	if (strncmp(ch->realm, "http://", 7) && strncmp(ch->realm, "https://", 8))
		return bx_err(err, -EACCES, "%s: token realm '%.200s' is not an http(s) URL", r->domain, ch->realm);
	if (asprintf(&scope_default, "repository:%s:pull", r->repo) < 0)
		return bx_err(err, -ENOMEM, "out of memory");
	svc = url_escape(r->curl, ch->service);
	/* No repository (login): a token without scope proves the credentials. */
	scope = url_escape(r->curl, ch->scope[0] ? ch->scope : r->repo[0] ? scope_default : "");
	if (!svc || !scope || asprintf(&url, "%s%cservice=%s%s%s", ch->realm, strchr(ch->realm, '?') ? '&' : '?',
				       svc, scope[0] ? "&scope=" : "", scope) < 0) {
		curl_free(svc);
		curl_free(scope);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	curl_free(svc);
	curl_free(scope);
	/* The token server gets the credentials as Basic (the realm is the
	 * registry's choice, as in docker); never the old token. */
	free(r->bearer);
	r->bearer = NULL;
	r->use_basic = r->user != NULL;
	r->in_token = true;
	st = http_get(r, url, "application/json", &s, &resp, true, err);
	r->in_token = false;
	r->use_basic = had_basic;
	if (st < 0) {
		free(s.buf);
		return bx_err_wrap(err, st, "%s: getting a token", r->domain);
	}
	if (st != 200) {
		char why[512];
		describe_error_body(&resp, why, sizeof(why));
		free(s.buf);
		if (st == 401 || st == 403)
			return bx_err(err, -EACCES, "%s: the token server refused %s (HTTP %d)%s%s", r->domain,
				      r->user ? "the credentials" : "anonymous access", st,
				      r->user ? "" : "; run 'boxlite login' first", "");
		return bx_err(err, -EACCES, "%s: token server answered HTTP %d: %s", r->domain, st, why);
	}
	root = json_loadb(s.buf ? s.buf : "", s.len, 0, NULL);
	free(s.buf);
	tok = json_string_value(json_object_get(root, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(root, "access_token"));
	if (!tok || !*tok || strlen(tok) > TOKEN_MAX - 1 || strpbrk(tok, "\r\n")) {
		json_decref(root);
		return bx_err(err, -EACCES, "%s: the token server's answer holds no usable token", r->domain);
	}
	r->bearer = strdup(tok);
	json_decref(root);
	return r->bearer ? 0 : bx_err(err, -ENOMEM, "out of memory");
}

static int registry_new(const char *home, const struct bx_registries *regs, const char *domain, const char *repo,
			struct bx_registry **out, struct bx_error *err)
{
	struct bx_registry_conf conf;
	struct bx_registry *r;
	bool plain, skip_verify;
	int rc;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return bx_err(err, -EIO, "initializing libcurl: %s", curl_easy_strerror(curl_init_rc));
	rc = bx_registry_conf_load(home, regs, &conf, err);
	if (rc < 0)
		return rc;
	plain = bx_registry_conf_plain_http(&conf, domain);
	skip_verify = bx_registry_conf_skip_verify(&conf, domain);
	bx_registry_conf_free(&conf);
	r = calloc(1, sizeof(*r));
	if (!r || !(r->curl = curl_easy_init())) {
		free(r);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	r->skip_verify = skip_verify;
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	snprintf(r->repo, sizeof(r->repo), "%s", repo);
	/* docker.io's API lives on registry-1.docker.io. */
	snprintf(r->base, sizeof(r->base), "%s://%s", plain ? "http" : "https",
		 strcmp(domain, "docker.io") ? domain : "registry-1.docker.io");
	*out = r;
	return 0;
}

int bx_registry_open_creds(const char *home, const struct bx_registries *regs, const char *domain,
			   const char *repo, const char *user, const char *pass, struct bx_registry **out,
			   struct bx_error *err)
{
	int rc = registry_new(home, regs, domain, repo, out, err);

	if (rc < 0 || !user)
		return rc;
	(*out)->user = strdup(user);
	(*out)->pass = strdup(pass ? pass : "");
	if (!(*out)->user || !(*out)->pass) {
		bx_registry_free(*out);
		*out = NULL;
		return bx_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

int bx_registry_open(const char *home, const struct bx_registries *regs, const char *domain, const char *repo,
		     struct bx_registry **out, struct bx_error *err)
{
	const struct bx_registry_entry *e = bx_registries_find(regs, domain);
	int rc = registry_new(home, regs, domain, repo, out, err);

	if (rc < 0)
		return rc;
	/* The runtime's credentials for this host come first: a basic login,
	 * or a bearer token sent as is. */
	if (e && (e->user || e->token)) {
		if ((e->user && (!((*out)->user = strdup(e->user)) || !((*out)->pass = strdup(e->pass)))) ||
		    (e->token && !((*out)->bearer = strdup(e->token)))) {
			bx_registry_free(*out);
			*out = NULL;
			return bx_err(err, -ENOMEM, "out of memory");
		}
		return 0;
	}
	rc = bx_registry_creds_find(home, domain, &(*out)->user, &(*out)->pass, err);
	if (rc < 0) {
		bx_registry_free(*out);
		*out = NULL;
		return rc;
	}
	return 0;
}

struct bx_registry *bx_registry_clone(const struct bx_registry *r)
{
	struct bx_registry *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	memcpy(c->domain, r->domain, sizeof(c->domain));
	memcpy(c->repo, r->repo, sizeof(c->repo));
	memcpy(c->base, r->base, sizeof(c->base));
	c->use_basic = r->use_basic;
	c->skip_verify = r->skip_verify;
	c->curl = curl_easy_init();
	if (!c->curl || (r->user && !(c->user = strdup(r->user))) || (r->pass && !(c->pass = strdup(r->pass))) ||
	    (r->bearer && !(c->bearer = strdup(r->bearer)))) {
		bx_registry_free(c);
		return NULL;
	}
	return c;
}

void bx_registry_free(struct bx_registry *r)
{
	if (!r)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	if (r->pass)
		explicit_bzero(r->pass, strlen(r->pass));
	if (r->bearer)
		explicit_bzero(r->bearer, strlen(r->bearer));
	free(r->user);
	free(r->pass);
	free(r->bearer);
	free(r);
}

static int status_error(struct bx_registry *r, int st, const struct resp *resp, const char *what,
			struct bx_error *err)
{
	char why[512];

	describe_error_body(resp, why, sizeof(why));
	if (st == 404)
		return bx_err(err, -ENOENT, "%s/%s: %s not found%s%s", r->domain, r->repo, what, why[0] ? ": " : "", why);
	if (st == 401 || st == 403)
		return bx_err(err, -EACCES, "%s/%s: access to %s denied (HTTP %d)%s%s%s", r->domain, r->repo, what, st,
			      why[0] ? ": " : "", why, r->user ? "" : "; run 'boxlite login' if it is private");
	return bx_err(err, -EIO, "%s/%s: %s: HTTP %d%s%s", r->domain, r->repo, what, st, why[0] ? ": " : "", why);
}

int bx_registry_ping(struct bx_registry *r, struct bx_error *err)
{
	struct sink s = { .kind = SINK_MEM, .max = 1u << 20 };
	struct resp resp;
	char url[sizeof(r->base) + 8];
	int st;

	snprintf(url, sizeof(url), "%s/v2/", r->base);
	st = http_get(r, url, "application/json", &s, &resp, true, err);
	free(s.buf);
	if (st < 0)
		return st;
	if (st != 200)
		return status_error(r, st, &resp, "the API root /v2/", err);
	return 0;
}

int bx_registry_get_manifest(struct bx_registry *r, const char *reference, char **body, size_t *len,
			     char media_type[128], char digest[BX_DIGEST_MAX], struct bx_error *err)
{
	struct sink s = { .kind = SINK_MEM, .max = BX_OCI_MANIFEST_MAX };
	struct resp resp;
	_cleanup_free_ char *url = NULL;
	json_t *root;
	const char *mt;
	int st;

	*body = NULL;
	*len = 0;
	if (asprintf(&url, "%s/v2/%s/manifests/%s", r->base, r->repo, reference) < 0)
		return bx_err(err, -ENOMEM, "out of memory");
	st = http_get(r, url, BX_REGISTRY_MANIFEST_ACCEPT, &s, &resp, true, err);
	if (st != 200) {
		free(s.buf);
		return st < 0 ? st : status_error(r, st, &resp, reference, err);
	}
	if (!s.buf) {
		s.buf = strdup("");
		if (!s.buf)
			return bx_err(err, -ENOMEM, "out of memory");
	}
	bx_sha256_digest(s.buf, s.len, digest);
	if (!strncmp(reference, "sha256:", 7) && strcmp(reference, digest) != 0) {
		free(s.buf);
		return bx_err(err, -EBADMSG, "%s/%s: manifest %s is corrupt: digest mismatch (got %s)", r->domain,
			      r->repo, reference, digest);
	}
	root = json_loadb(s.buf, s.len, 0, NULL);
	mt = json_string_value(json_object_get(root, "mediaType"));
	snprintf(media_type, 128, "%s", mt ? mt : resp.content_type);
	json_decref(root);
	*body = s.buf;
	*len = s.len;
	return 0;
}

static int blob_url(struct bx_registry *r, const struct bx_oci_descriptor *d, char **url, struct bx_error *err)
{
	int rc = bx_digest_parse(d->digest, NULL, err);

	if (rc < 0)
		return rc;
	if (asprintf(url, "%s/v2/%s/blobs/%s", r->base, r->repo, d->digest) < 0)
		return bx_err(err, -ENOMEM, "out of memory");
	return 0;
}

int bx_registry_get_blob(struct bx_registry *r, const struct bx_oci_descriptor *d, size_t max, char **body,
			 size_t *len, struct bx_error *err)
{
	struct sink s = { .kind = SINK_MEM, .max = max };
	struct resp resp;
	_cleanup_free_ char *url = NULL;
	char got[BX_DIGEST_MAX];
	int st;

	*body = NULL;
	*len = 0;
	if (d->size < 0 || (uint64_t)d->size > max)
		return bx_err(err, -EFBIG, "blob %s: size %" PRId64 " over the limit of %zu bytes", d->digest, d->size,
			      max);
	st = blob_url(r, d, &url, err);
	if (st < 0)
		return st;
	st = http_get(r, url, NULL, &s, &resp, true, err);
	if (st != 200) {
		free(s.buf);
		return st < 0 ? st : status_error(r, st, &resp, d->digest, err);
	}
	if (!s.buf && !(s.buf = strdup("")))
		return bx_err(err, -ENOMEM, "out of memory");
	bx_sha256_digest(s.buf, s.len, got);
	if ((int64_t)s.len != d->size || strcmp(got, d->digest) != 0) {
		free(s.buf);
		return bx_err(err, -EBADMSG, "%s/%s: blob %s is corrupt: digest mismatch (got %s, %zu bytes)", r->domain,
			      r->repo, d->digest, got, s.len);
	}
	*body = s.buf;
	*len = s.len;
	return 0;
}

/* Hashes the first n bytes of fd (a resumed download's prefix). */
static int hash_prefix(int fd, uint64_t n, EVP_MD_CTX *md)
{
	char buf[65536];
	uint64_t done = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	while (done < n) {
		ssize_t k = read(fd, buf, n - done < sizeof(buf) ? (size_t)(n - done) : sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		EVP_DigestUpdate(md, buf, (size_t)k);
		done += (uint64_t)k;
	}
	return 0;
}

int bx_registry_fetch_blob(struct bx_registry *r, const struct bx_oci_descriptor *d, int fd,
			   bx_registry_progress_fn progress, void *ud, struct bx_error *err)
{
	struct sink s = { .kind = SINK_FD, .fd = fd, .progress = progress, .ud = ud };
	struct resp resp;
	_cleanup_free_ char *url = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	char got[BX_DIGEST_MAX];
	unsigned md_len = 0;
	struct stat st;
	int rc;

	if (d->size < 0)
		return bx_err(err, -EINVAL, "blob %s: negative size", d->digest);
	rc = blob_url(r, d, &url, err);
	if (rc < 0)
		return rc;
	if (fstat(fd, &st) < 0)
		return bx_err_sys(err, -errno, "blob %s: partial download", d->digest);
	s.total = (uint64_t)d->size;
	s.md = EVP_MD_CTX_new();
	if (!s.md || !EVP_DigestInit_ex(s.md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(s.md);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	if ((uint64_t)st.st_size <= s.total && st.st_size > 0) {
		rc = hash_prefix(fd, (uint64_t)st.st_size, s.md);
		if (rc < 0) {
			EVP_MD_CTX_free(s.md);
			return bx_err_sys(err, rc, "blob %s: reading the partial download", d->digest);
		}
		s.off = (uint64_t)st.st_size;
	} else if (ftruncate(fd, 0) < 0) {
		EVP_MD_CTX_free(s.md);
		return bx_err_sys(err, -errno, "blob %s: partial download", d->digest);
	}
	if (lseek(fd, (off_t)s.off, SEEK_SET) < 0) {
		EVP_MD_CTX_free(s.md);
		return bx_err_sys(err, -errno, "blob %s: partial download", d->digest);
	}
	if (progress)
		progress(ud, s.off, s.total);
	if (s.off < s.total) {
		rc = http_get(r, url, NULL, &s, &resp, true, err);
		if (rc != 200 && rc != 206) {
			EVP_MD_CTX_free(s.md);
			return rc < 0 ? rc : status_error(r, rc, &resp, d->digest, err);
		}
	}
	EVP_DigestFinal_ex(s.md, md, &md_len);
	EVP_MD_CTX_free(s.md);
	memcpy(got, "sha256:", 7);
	for (unsigned i = 0; i < md_len && i < 32; i++)
		snprintf(got + 7 + 2 * i, 3, "%02x", md[i]);
	if (s.off != s.total)
		return bx_err(err, -EBADMSG, "%s/%s: blob %s is truncated: got %" PRIu64 " of %" PRIu64 " bytes",
			      r->domain, r->repo, d->digest, s.off, s.total);
	if (strcmp(got, d->digest) != 0)
		return bx_err(err, -EBADMSG, "%s/%s: blob %s is corrupt: digest mismatch (got %s)", r->domain, r->repo,
			      d->digest, got);
	return 0;
}
