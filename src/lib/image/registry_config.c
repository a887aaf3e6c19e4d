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

int bx_registry_conf_load(const char *home, struct bx_registry_conf *out, struct bx_error *err)
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
	if (!out->insecure || !out->search) {
		bx_registry_conf_free(out);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	return 0;
}

bool bx_registry_conf_plain_http(const struct bx_registry_conf *c, const char *domain)
{
	if (bx_image_ref_domain_is_loopback(domain))
		return true;
	for (size_t i = 0; c && c->insecure && c->insecure[i]; i++)
		if (!strcmp(c->insecure[i], domain))
			return true;
	return false;
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
