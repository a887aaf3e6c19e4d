/* NULL-terminated string arrays (argv, env). */
#ifndef BOXLITE_LIB_STRV_H
#define BOXLITE_LIB_STRV_H

#include <stddef.h>

#include <jansson.h>

size_t bx_strv_len(char *const *v);
void bx_strv_free(char **v);
char **bx_strv_dup(const char *const *v);
/* a followed by b, copied; either may be NULL. NULL only when out of memory. */
char **bx_strv_concat(const char *const *a, const char *const *b);
/* Returns a new env: base with every "K=V" of over replacing or adding K.
 * Either may be NULL. NULL only when out of memory. */
char **bx_env_merge(const char *const *base, const char *const *over);

/* v as a JSON array of strings (v NULL: empty). NULL only when out of memory. */
json_t *bx_strv_json(const char *const *v);
/* "K=V" strings as a JSON object {K: V} (entries without '=' skipped). */
json_t *bx_env_json(const char *const *env);

#endif
