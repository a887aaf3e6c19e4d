/* The runtime a command works on (cli.h, cli_open_runtime): --home, --config
 * FILE (the reference CLI's JSON configuration) and --registry, layered as
 * the reference does: the file is the base, --home overrides its home_dir,
 * --registry hosts come first in the registry list. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "credentials.h"

/* One "image_registries" entry. The CLI page spells it {host, protocol,
 * search, username, password}, the registry guide {host, transport,
 * skip_verify, search, auth: {type: basic|bearer, username, password,
 * token}}: both are read. -1 with *why set when it is malformed. */
static int registry_from_json(json_t *e, boxlite_image_registry *r, const char **why)
{
	json_t *auth = json_object_get(e, "auth");
	const char *type = json_string_value(json_object_get(auth, "type"));
	json_t *search = json_object_get(e, "search"), *skip = json_object_get(e, "skip_verify");

	memset(r, 0, sizeof(*r));
	r->struct_size = sizeof(*r);
	r->host = json_string_value(json_object_get(e, "host"));
	r->transport = json_string_value(json_object_get(e, "transport"));
	if (!r->transport)
		r->transport = json_string_value(json_object_get(e, "protocol"));
	r->username = json_string_value(json_object_get(e, "username"));
	r->password = json_string_value(json_object_get(e, "password"));
	if ((search && !json_is_boolean(search)) || (skip && !json_is_boolean(skip))) {
		*why = "\"search\" and \"skip_verify\" are true or false";
		return -1;
	}
	r->search = json_is_true(search);
	r->skip_verify = json_is_true(skip);
	if (auth && !json_is_null(auth)) {
		if (!json_is_object(auth) || !type || (strcmp(type, "basic") && strcmp(type, "bearer"))) {
			*why = "\"auth\" is {\"type\": \"basic\", \"username\", \"password\"} or {\"type\": \"bearer\", \"token\"}";
			return -1;
		}
		if (!strcmp(type, "basic")) {
			r->username = json_string_value(json_object_get(auth, "username"));
			r->password = json_string_value(json_object_get(auth, "password"));
		} else {
			r->token = json_string_value(json_object_get(auth, "token"));
		}
	}
	if (!r->host) {
		*why = "every registry needs a \"host\"";
		return -1;
	}
	return 0;
}

struct runtime_setup {
	json_t *config;       /* owns the strings the registries point into */
	const char *home_dir; /* the config's, or NULL */
	boxlite_image_registry regs[CLI_MAX_REGISTRIES * 2];
	size_t n;
};

static int load_config(const char *path, struct runtime_setup *s)
{
	json_error_t je;
	json_t *regs;
	size_t i;

	s->config = json_load_file(path, 0, &je);
	if (!s->config) {
		if (je.line > 0)
			fprintf(stderr, "boxlite: --config %s: line %d: %s\n", path, je.line, je.text);
		else
			fprintf(stderr, "boxlite: --config %s: %s\n", path, je.text);
		return -1;
	}
	if (!json_is_object(s->config)) {
		fprintf(stderr, "boxlite: --config %s: not a JSON object\n", path);
		return -1;
	}
	s->home_dir = json_string_value(json_object_get(s->config, "home_dir"));
	regs = json_object_get(s->config, "image_registries");
	if (regs && !json_is_array(regs) && !json_is_null(regs)) {
		fprintf(stderr, "boxlite: --config %s: \"image_registries\" is a list\n", path);
		return -1;
	}
	for (i = 0; i < json_array_size(regs); i++) {
		const char *why = NULL;

		if (s->n >= CLI_MAX_REGISTRIES) {
			fprintf(stderr, "boxlite: --config %s: at most %d image registries\n", path, CLI_MAX_REGISTRIES);
			return -1;
		}
		if (registry_from_json(json_array_get(regs, i), &s->regs[s->n], &why) < 0) {
			fprintf(stderr, "boxlite: --config %s: image registry %zu: %s\n", path, i + 1, why);
			return -1;
		}
		s->n++;
	}
	return 0;
}

/* --registry hosts first, in order (a host the config describes keeps its
 * settings, with search on), then the config's other registries. */
static void layer_registries(const struct cli_globals *g, struct runtime_setup *s)
{
	boxlite_image_registry out[CLI_MAX_REGISTRIES * 2];
	int used[CLI_MAX_REGISTRIES] = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < g->n_registries; i++) {
		boxlite_image_registry r = { .struct_size = sizeof(r), .host = g->registries[i], .search = 1 };

		for (size_t k = 0; k < s->n; k++)
			if (!used[k] && !strcmp(s->regs[k].host, g->registries[i])) {
				r = s->regs[k];
				r.search = 1;
				used[k] = 1;
				break;
			}
		out[n++] = r;
	}
	for (size_t k = 0; k < s->n; k++)
		if (!used[k])
			out[n++] = s->regs[k];
	memcpy(s->regs, out, n * sizeof(out[0]));
	s->n = n;
}

static int open_local(const struct cli_globals *g, boxlite_runtime **rt);

int cli_remote_target(const struct cli_globals *g, struct cli_remote *r)
{
	const char *env_url = getenv("BOXLITE_REST_URL"), *env_key = getenv("BOXLITE_API_KEY");
	int stored;

	memset(r, 0, sizeof(*r));
	if ((stored = cred_load(CRED_DEFAULT_PROFILE, &r->profile)) < 0)
		return -1;
	/* The reference's precedence: --url > $BOXLITE_REST_URL > the login's
	 * URL; the key: $BOXLITE_API_KEY > the login's. Any of them makes the
	 * CLI remote. */
	r->url = g->url ? g->url : env_url && *env_url ? env_url : stored ? r->profile.url : NULL;
	r->key_from_env = env_key && *env_key;
	r->key = r->key_from_env ? env_key : stored ? r->profile.api_key : NULL;
	if (!r->url && r->key_from_env)
		r->url = CLI_DEFAULT_REST_URL;
	r->path_prefix = getenv("BOXLITE_REST_PATH_PREFIX");
	if (!r->path_prefix || !*r->path_prefix)
		r->path_prefix = stored ? r->profile.path_prefix : NULL;
	return r->url != NULL;
}

int cli_open_runtime(const struct cli_globals *g, boxlite_runtime **rt)
{
	struct cli_remote remote;
	int is_remote = cli_remote_target(g, &remote);

	if (is_remote < 0)
		return -1;
	if (is_remote) {
		boxlite_error *err = NULL;
		int rc = boxlite_runtime_open_remote(remote.url, remote.key, remote.path_prefix, rt, &err);
		if (rc < 0)
			cli_report(err);
		cred_profile_free(&remote.profile);
		return rc < 0 ? -1 : 0;
	}
	cred_profile_free(&remote.profile);
	return open_local(g, rt);
}

static int open_local(const struct cli_globals *g, boxlite_runtime **rt)
{
	struct runtime_setup s = { 0 };
	boxlite_error *err = NULL;
	const char *home = g->home, *lvl = getenv("BOXLITE_LOG");
	int rc = -1;

	*rt = NULL;
	if (g->config && load_config(g->config, &s) < 0)
		goto out;
	/* --home and $BOXLITE_HOME (the library reads it) over the file's. */
	if (!home && !getenv("BOXLITE_HOME"))
		home = s.home_dir;
	layer_registries(g, &s);
	if (boxlite_runtime_open(home, rt, &err) < 0) {
		cli_report(err);
		goto out;
	}
	if (s.n && boxlite_runtime_set_image_registries(*rt, s.regs, s.n, &err) < 0) {
		fprintf(stderr, "boxlite: %s%s: %s\n", g->config ? "--config " : "--registry",
			g->config ? g->config : "", boxlite_error_message(err));
		boxlite_error_free(err);
		boxlite_runtime_close(*rt);
		*rt = NULL;
		goto out;
	}
	/* --debug (or BOXLITE_LOG=debug): where things are; each box's shim
	 * logs at debug level into <home>/boxes/<id>/shim.stderr. */
	if (lvl && !strcmp(lvl, "debug")) {
		fprintf(stderr, "boxlite: debug: home %s, %zu registr%s set%s%s\n", boxlite_runtime_home(*rt), s.n,
			s.n == 1 ? "y" : "ies", g->config ? " from --config " : "", g->config ? g->config : "");
		if (*boxlite_runtime_recovery_report(*rt))
			fprintf(stderr, "boxlite: debug: recovery:\n%s", boxlite_runtime_recovery_report(*rt));
	}
	rc = 0;
out:
	json_decref(s.config);
	return rc;
}
