#include "strv.h"

#include <stdlib.h>
#include <string.h>

size_t bx_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void bx_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

char **bx_strv_dup(const char *const *v)
{
	size_t n = bx_strv_len((char *const *)v);
	char **out = calloc(n + 1, sizeof(char *));

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!(out[i] = strdup(v[i]))) {
			bx_strv_free(out);
			return NULL;
		}
	}
	return out;
}

char **bx_strv_concat(const char *const *a, const char *const *b)
{
	size_t na = bx_strv_len((char *const *)a), nb = bx_strv_len((char *const *)b);
	char **out = calloc(na + nb + 1, sizeof(char *));

	if (!out)
		return NULL;
	for (size_t i = 0; i < na + nb; i++) {
		if (!(out[i] = strdup(i < na ? a[i] : b[i - na]))) {
			bx_strv_free(out);
			return NULL;
		}
	}
	return out;
}

static int same_key(const char *a, const char *b)
{
	size_t ka = strcspn(a, "="), kb = strcspn(b, "=");
	return ka == kb && !strncmp(a, b, ka);
}

char **bx_env_merge(const char *const *base, const char *const *over)
{
	size_t nb = bx_strv_len((char *const *)base), no = bx_strv_len((char *const *)over), n = 0;
	char **out = calloc(nb + no + 1, sizeof(char *));

	if (!out)
		return NULL;
	for (size_t i = 0; i < nb + no; i++) {
		const char *kv = i < nb ? base[i] : over[i - nb];
		size_t j;
		for (j = 0; j < n && !same_key(out[j], kv); j++)
			;
		char *copy = strdup(kv);
		if (!copy) {
			bx_strv_free(out);
			return NULL;
		}
		if (j < n) {
			free(out[j]);
			out[j] = copy;
		} else {
			out[n++] = copy;
		}
	}
	return out;
}

json_t *bx_strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v && v[i]; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *bx_env_json(const char *const *env)
{
	json_t *o = json_object();

	for (size_t i = 0; o && env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		char *k = eq ? strndup(env[i], (size_t)(eq - env[i])) : NULL;
		if (k)
			json_object_set_new(o, k, json_string(eq + 1));
		free(k);
	}
	return o;
}
