/* registries.json, auth.json and docker's config.json. */
#include "registry_config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "reference.h"

static char **strv_from_json(json_t *arr, const char *fallback)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0, k = 0;
	char **v = calloc(n + 2, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s && *s && !(v[k++] = strdup(s)))
			goto oom;
	}
	if (k == 0 && fallback && !(v[k++] = strdup(fallback)))
		goto oom;
	return v;
oom:
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void bx_registries_free(struct bx_registries *r)
{
	for (size_t i = 0; r && i < r->n; i++) {
		struct bx_registry_entry *e = &r->v[i];

		if (e->pass)
			explicit_bzero(e->pass, strlen(e->pass));
		if (e->token)
			explicit_bzero(e->token, strlen(e->token));
		free(e->host);
		free(e->user);
		free(e->pass);
		free(e->token);
	}
	if (r) {
		free(r->v);
		r->v = NULL;
		r->n = 0;
	}
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	return !s || (*out = strdup(s)) ? 0 : -ENOMEM;
}

int bx_registries_set(struct bx_registries *out, const boxlite_image_registry *regs, size_t n,
		      struct bx_error *err)
{
	struct bx_registries r = { .v = calloc(n ? n : 1, sizeof(*r.v)), .n = 0 };

	if (!r.v)
		return bx_err(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const boxlite_image_registry *g = &regs[i];
		struct bx_registry_entry *e = &r.v[r.n];
		const char *t = g->transport;

		if (g->struct_size < sizeof(*g) || !g->host || !*g->host || strlen(g->host) >= BX_REF_DOMAIN_MAX ||
		    strpbrk(g->host, "/ @") ) {
			bx_registries_free(&r);
			return bx_err(err, -EINVAL, "image registry %zu: host must be HOST[:PORT] (no scheme or path)",
				      i + 1);
		}
		if (t && *t && strcmp(t, "https") && strcmp(t, "http")) {
			bx_registries_free(&r);
			return bx_err(err, -EINVAL, "image registry %s: transport must be \"https\" or \"http\", not \"%s\"",
				      g->host, t);
		}
		if ((g->username && !g->password) || (!g->username && g->password) || (g->token && g->username)) {
			bx_registries_free(&r);
			return bx_err(err, -EINVAL,
				      "image registry %s: give a username with a password, or a token, not both", g->host);
		}
		r.n++;
		e->plain_http = t && !strcmp(t, "http");
		e->skip_verify = g->skip_verify != 0;
		e->search = g->search != 0;
		if (dup_opt(g->host, &e->host) < 0 || dup_opt(g->username, &e->user) < 0 ||
		    dup_opt(g->password, &e->pass) < 0 || dup_opt(g->token, &e->token) < 0) {
			bx_registries_free(&r);
			return bx_err(err, -ENOMEM, "out of memory");
		}
	}
	bx_registries_free(out);
	*out = r;
	return 0;
}

const struct bx_registry_entry *bx_registries_find(const struct bx_registries *r, const char *domain)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (!strcasecmp(r->v[i].host, domain))
			return &r->v[i];
	return NULL;
}

void bx_registry_conf_free(struct bx_registry_conf *c)
{
	strv_free(c->insecure);
	strv_free(c->search);
	c->insecure = c->search = NULL;
}

/* Loads a JSON object file; a missing file gives an empty object. */
static int load_json(const char *path, json_t **out, struct bx_error *err)
{
	json_error_t je;

	if (access(path, F_OK) < 0 && errno == ENOENT) {
		*out = json_object();
		return *out ? 0 : bx_err(err, -ENOMEM, "out of memory");
	}
	*out = json_load_file(path, 0, &je);
	if (!*out)
		return bx_err(err, -EINVAL, "%s: line %d: %s", path, je.line, je.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return bx_err(err, -EINVAL, "%s: not a JSON object", path);
	}
	return 0;
}

int bx_registry_conf_load(const char *home, const struct bx_registries *regs, struct bx_registry_conf *out,
			  struct bx_error *err)
{
	char path[PATH_MAX];
	json_t *root = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	bx_path_fmt(path, sizeof(path), "%s/registries.json", home);
	r = load_json(path, &root, err);
	if (r < 0)
		return r;
	out->insecure = strv_from_json(json_object_get(root, "insecure"), NULL);
	out->search = strv_from_json(json_object_get(root, "search"), BX_REF_DEFAULT_DOMAIN);
	json_decref(root);
	out->regs = regs;
	if (out->search && regs) { /* the runtime's search hosts, in order, replace the file's */
		size_t k = 0;

		for (size_t i = 0; i < regs->n; i++)
			k += regs->v[i].search;
		if (k) {
			char **v = calloc(k + 1, sizeof(*v));

			for (size_t i = 0, j = 0; v && i < regs->n; i++)
				if (regs->v[i].search && !(v[j++] = strdup(regs->v[i].host))) {
					strv_free(v);
					v = NULL;
				}
			strv_free(out->search);
			out->search = v;
		}
	}
	if (!out->insecure || !out->search) {
		bx_registry_conf_free(out);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

bool bx_registry_conf_plain_http(const struct bx_registry_conf *c, const char *domain)
{
	const struct bx_registry_entry *e = c ? bx_registries_find(c->regs, domain) : NULL;

	if (e && e->plain_http)
		return true;
	if (bx_image_ref_domain_is_loopback(domain))
		return true;
	for (size_t i = 0; c && c->insecure && c->insecure[i]; i++)
		if (!strcmp(c->insecure[i], domain))
			return true;
	return false;
}

bool bx_registry_conf_skip_verify(const struct bx_registry_conf *c, const char *domain)
{
	const struct bx_registry_entry *e = c ? bx_registries_find(c->regs, domain) : NULL;

	return e && e->skip_verify;
}

/* Decodes base64("user:pass"). */
static int decode_auth(const char *b64, char **user, char **pass)
{
	size_t n = strlen(b64);
	_cleanup_free_ unsigned char *buf = malloc(n + 4);
	int len;
	char *colon;

	if (!buf || n == 0 || n > 8192)
		return -EINVAL;
	len = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return -EINVAL;
	while (len > 0 && n > 0 && b64[n - 1] == '=') /* DecodeBlock counts the padding */
		len--, n--;
	buf[len] = '\0';
	if (strlen((char *)buf) != (size_t)len || !(colon = strchr((char *)buf, ':')))
		return -EINVAL;
	*colon = '\0';
	*user = strdup((char *)buf);
	*pass = strdup(colon + 1);
	if (!*user || !*pass) {
		free(*user);
		free(*pass);
		return -ENOMEM;
	}
	return 1;
}

static int creds_from_file(const char *path, const char *domain, char **user, char **pass, struct bx_error *err)
{
	char keys[4][BX_REF_DOMAIN_MAX + 40];
	json_t *root = NULL, *auths, *e = NULL;
	int r, nkeys = 3;

	r = load_json(path, &root, err);
	if (r < 0)
		return r;
	auths = json_object_get(root, "auths");
	snprintf(keys[0], sizeof(keys[0]), "%s", domain);
	snprintf(keys[1], sizeof(keys[1]), "https://%s", domain);
	snprintf(keys[2], sizeof(keys[2]), "http://%s", domain);
	if (!strcmp(domain, "docker.io"))
		snprintf(keys[nkeys++], sizeof(keys[0]), "https://index.docker.io/v1/");
	for (int i = 0; i < nkeys && !e; i++)
		e = json_object_get(auths, keys[i]);
	r = 0;
	if (json_is_object(e)) {
		const char *a = json_string_value(json_object_get(e, "auth"));
		const char *u = json_string_value(json_object_get(e, "username"));
		const char *p = json_string_value(json_object_get(e, "password"));
		if (a && *a) {
			r = decode_auth(a, user, pass);
			if (r < 0)
				r = bx_err(err, r, "%s: the \"auth\" entry of %s is not base64 of user:password", path, domain);
		} else if (u && p) {
			*user = strdup(u);
			*pass = strdup(p);
			r = *user && *pass ? 1 : bx_err(err, -ENOMEM, "out of memory");
		}
	}
	json_decref(root);
	return r;
}

int bx_registry_creds_find(const char *home, const char *domain, char **user, char **pass, struct bx_error *err)
{
	char path[PATH_MAX];
	const char *dc = getenv("DOCKER_CONFIG"), *h = getenv("HOME");
	int r;

	*user = *pass = NULL;
	bx_path_fmt(path, sizeof(path), "%s/auth.json", home);
	r = creds_from_file(path, domain, user, pass, err);
	if (r != 0)
		return r;
	if (dc && *dc)
		bx_path_fmt(path, sizeof(path), "%s/config.json", dc);
	else if (h && *h)
		bx_path_fmt(path, sizeof(path), "%s/.docker/config.json", h);
	else
		return 0;
	return creds_from_file(path, domain, user, pass, err);
}

int bx_registry_creds_store(const char *home, const char *domain, const char *user, const char *pass,
			    struct bx_error *err)
{
	char path[PATH_MAX];
	json_t *root = NULL, *auths;
	_cleanup_free_ char *plain = NULL, *text = NULL;
	_cleanup_free_ unsigned char *b64 = NULL;
	_cleanup_close_ int dfd = -1;
	int r;

	bx_path_fmt(path, sizeof(path), "%s/auth.json", home);
	r = bx_mkdir_p(home, 0700, err);
	if (r < 0)
		return r;
	r = load_json(path, &root, err);
	if (r < 0)
		return r;
	auths = json_object_get(root, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(root, "auths", auths);
	}
	if (!pass) {
		if (json_object_del(auths, domain) < 0) {
			json_decref(root);
			return bx_err(err, -ENOENT, "not logged in to %s", domain);
		}
	} else {
		size_t n;
		if (asprintf(&plain, "%s:%s", user, pass) < 0 || !(b64 = malloc(4 * ((n = strlen(plain)) / 3 + 1) + 1))) {
			json_decref(root);
			return bx_err(err, -ENOMEM, "out of memory");
		}
		EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
		json_object_set_new(auths, domain, json_pack("{s:s}", "auth", (char *)b64));
		explicit_bzero(plain, n);
	}
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	if (!text)
		return bx_err(err, -ENOMEM, "out of memory");
	dfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return bx_err_sys(err, -errno, "opening %s", home);
	r = bx_write_file_atomic(dfd, "auth.json", text, strlen(text), 0600, err);
	explicit_bzero(text, strlen(text));
	return r;
}
