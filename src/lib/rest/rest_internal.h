/* Between the REST client's files (rest/). */
#ifndef BOXLITE_LIB_REST_INTERNAL_H
#define BOXLITE_LIB_REST_INTERNAL_H

#include <pthread.h>

#include <curl/curl.h>

#include "rest.h"

struct bx_rest {
	char *url;        /* "http://host:8100[/base]", no trailing "/" */
	char *auth;       /* "Authorization: Bearer KEY", or NULL */
	char *prefix;     /* the {prefix} slot, or NULL */
	char *hostport;   /* for the WebSocket handshake's Host */
	char *base_path;  /* the URL's path ("" or "/api") */
	CURLSH *share;    /* connections and DNS, shared by calls */
#define BX_REST_LOCKS 8
	pthread_mutex_t share_mu[BX_REST_LOCKS]; /* by curl_lock_data */
	int locks;        /* share_mu initialized */
};

/* "/v1[/prefix]PATH" after the URL (full) or after its base path. */
char *bx_rest_path(const struct bx_rest *r, const char *path, int full);
/* A curl handle for METHOD PATH with the key and our headers in *hdrs. */
CURL *bx_rest_handle(struct bx_rest *r, const char *method, const char *path, struct curl_slist **hdrs);
int bx_rest_error(long status, const char *body, size_t len, struct bx_error *err);
int bx_rest_curl_error(const struct bx_rest *r, CURLcode c, struct bx_error *err);

#endif
