/* The remote login of the CLI: ~/.boxlite/credentials.toml (or
 * $BOXLITE_HOME/credentials.toml when BOXLITE_HOME is absolute), the
 * reference CLI's file: [profiles.NAME] tables of url, api_key,
 * auth_method, path_prefix. Written 0600 in a 0700 directory; other
 * profiles and keys in the file are kept as they are. */
#ifndef BOXLITE_CLI_CREDENTIALS_H
#define BOXLITE_CLI_CREDENTIALS_H

#include <stddef.h>

#define CRED_DEFAULT_PROFILE "default"

struct cred_profile {
	char *url, *api_key, *path_prefix; /* NULL when absent */
};

/* The file's path (malloc'd), or NULL when there is no home directory. */
char *cred_path(void);

/* Parses text (a credentials file) and fills p from profile name.
 * Returns 1 when the profile is there, 0 when not, -1 with a message in
 * err (line number and what) when the text is not the file's TOML. */
int cred_parse(const char *text, size_t len, const char *name, struct cred_profile *p, char *err, size_t errlen);

/* Reads the file: 1 found, 0 no file or no such profile, -1 (reported). */
int cred_load(const char *name, struct cred_profile *p);
/* Writes p as profile name, keeping the rest of the file. 0 or -1 (reported). */
int cred_save(const char *name, const struct cred_profile *p);
/* Removes profile name (the file when it was the last). 1 removed, 0 was
 * not there, -1 (reported). */
int cred_delete(const char *name);
void cred_profile_free(struct cred_profile *p);

#endif
