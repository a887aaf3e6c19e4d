/* Image references → images in the home, and the public images API.
 *
 * Resolution order: the store (under the normalized reference; an
 * unqualified name tries each registry of the search list), then the
 * built-in images (localhost/NAME:TAG ship as OCI image layouts in
 * share/boxlite/images/NAME, imported on first use), then a pull. */
#include "images.h"
#include "remote.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_prune.h"
#include "image_refs.h"
#include "image_store.h"
#include "load_archive.h"
#include "pull.h"
#include "reference.h"
#include "registry.h"
#include "registry_config.h"
#include "strv.h"

#define BUILTIN_DOMAIN "localhost"

int bx_pull_policy_parse(const char *s, enum bx_pull_policy *out, struct bx_error *err)
{
	if (!strcmp(s, "missing"))
		*out = BX_PULL_MISSING;
	else if (!strcmp(s, "always"))
		*out = BX_PULL_ALWAYS;
	else if (!strcmp(s, "never"))
		*out = BX_PULL_NEVER;
	else
		return bx_err(err, -EINVAL, "invalid pull policy '%s' (missing, always or never)", s);
	return 0;
}

/* The built-in layout for localhost/NAME:TAG, imported into the store. */
static int try_builtin(boxlite_runtime *rt, const struct bx_image_ref *r, const char *canonical, struct bx_image *out,
		       struct bx_error *err)
{
	char layout[PATH_MAX + 300];
	int rc;

	if (strcmp(r->domain, BUILTIN_DOMAIN) || strchr(r->path, '/') || r->digest[0])
		return -ENOENT;
	snprintf(layout, sizeof(layout), "%s/images/%s", rt->share_dir, r->path);
	if (access(layout, R_OK) < 0)
		return -ENOENT;
	rc = bx_image_import_layout(rt->home, layout, r->tag, canonical, out, err);
	if (rc == -ENOENT) {
		bx_err_clear(err);
		return -ENOENT;
	}
	return rc < 0 ? bx_err_wrap(err, rc, "importing built-in image %s", canonical) : rc;
}

#define CANDIDATES_MAX 8

/* The references ref may name: itself when qualified, else ref under each
 * search registry in order (the first must parse). Their count, or -errno. */
static int candidates(const char *ref, const struct bx_registry_conf *conf, struct bx_image_ref *cand,
		      struct bx_error *err)
{
	int rc = bx_image_ref_parse(ref, conf->search[0], &cand[0], err), n = 1;

	if (rc < 0)
		return rc;
	for (size_t i = 1; !cand[0].qualified && conf->search[i] && n < CANDIDATES_MAX; i++)
		if (bx_image_ref_parse(ref, conf->search[i], &cand[n], NULL) == 0)
			n++;
	return n;
}

/* Pulls the first of cand[0..n) a registry has: the next is tried only when
 * one does not have it, refuses it, or cannot be reached. */
static int pull_first(boxlite_runtime *rt, const struct bx_image_ref *cand, size_t n, const struct bx_pull_opts *po,
		      struct bx_image *out, struct bx_error *err)
{
	int rc = -ENOENT;

	for (size_t i = 0; i < n; i++) {
		bx_err_clear(err);
		rc = bx_image_pull(rt->home, &cand[i], po, out, err);
		if (rc != -ENOENT && rc != -EACCES && rc != -EHOSTUNREACH)
			break;
	}
	return rc;
}

int bx_images_resolve_policy(boxlite_runtime *rt, const char *ref, enum bx_pull_policy policy,
			     struct bx_image *out, struct bx_error *err)
{
	struct bx_registry_conf conf;
	struct bx_image_ref cand[CANDIDATES_MAX];
	char canonical[CANDIDATES_MAX][BX_REF_STRING_MAX];
	size_t n, i;
	int rc;

	/* An exact stored name (also what older homes recorded). */
	if (policy != BX_PULL_ALWAYS) {
		rc = bx_image_lookup(rt->home, ref, out, err);
		if (rc != -ENOENT && rc != -EINVAL)
			return rc;
		bx_err_clear(err);
	}
	rc = bx_registry_conf_load(rt->home, &rt->registries, &conf, err);
	if (rc < 0)
		return rc;
	if ((rc = candidates(ref, &conf, cand, err)) < 0)
		goto out;
	n = (size_t)rc;
	for (i = 0; i < n; i++)
		if (bx_image_ref_format(&cand[i], canonical[i], sizeof(canonical[i])) < 0) {
			rc = bx_err(err, -EINVAL, "invalid reference '%.200s': too long", ref);
			goto out;
		}
	if (policy != BX_PULL_ALWAYS) {
		for (i = 0; i < n; i++) {
			rc = bx_image_lookup(rt->home, canonical[i], out, err);
			if (rc != -ENOENT)
				goto out;
			bx_err_clear(err);
		}
	}
	for (i = 0; i < n; i++) {
		rc = try_builtin(rt, &cand[i], canonical[i], out, err);
		if (rc != -ENOENT)
			goto out;
	}
	if (policy == BX_PULL_NEVER) {
		rc = bx_err(err, -ENOENT, "image %s not found in the home (not pulled: pull policy is never)",
			    canonical[0]);
		goto out;
	}
	if (!strcmp(cand[0].domain, BUILTIN_DOMAIN)) {
		/* "localhost/" (no port) is the built-in namespace, not a registry. */
		rc = bx_err(err, -ENOENT,
			    "image %s not found (built-in images: localhost/busybox:latest, localhost/python:3.11)",
			    canonical[0]);
		goto out;
	}
	rc = pull_first(rt, cand, n, &(struct bx_pull_opts){ .regs = &rt->registries }, out, err);
out:
	bx_registry_conf_free(&conf);
	return rc;
}

int bx_images_resolve(boxlite_runtime *rt, const char *ref, struct bx_image *out, struct bx_error *err)
{
	return bx_images_resolve_policy(rt, ref, BX_PULL_MISSING, out, err);
}

/* ---- public API ---- */

BX_EXPORT int boxlite_image_pull(boxlite_runtime *rt, const char *ref, const boxlite_pull_options *opts,
				 boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "pulling images"));
	struct bx_error err = { 0 };
	struct bx_registry_conf conf = { 0 };
	struct bx_image_ref cand[CANDIDATES_MAX];
	struct bx_pull_opts po = { 0 };
	struct bx_image img = { 0 };
	int rc;

	if (!rt || !ref)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	if (opts && opts->struct_size >= offsetof(boxlite_pull_options, user_data) + sizeof(void *)) {
		po.platform = opts->platform;
		po.progress = opts->progress;
		po.user_data = opts->user_data;
	}
	po.regs = &rt->registries;
	/* An unqualified name: each search registry in turn, the first that
	 * has it wins. */
	rc = bx_registry_conf_load(rt->home, &rt->registries, &conf, &err);
	if (rc >= 0 && (rc = candidates(ref, &conf, cand, &err)) > 0)
		rc = pull_first(rt, cand, (size_t)rc, &po, &img, &err);
	bx_registry_conf_free(&conf);
	bx_image_free(&img);
	return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
}

BX_EXPORT int boxlite_image_list(boxlite_runtime *rt, boxlite_image_info **images, size_t *count,
				 boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "listing images"));
	struct bx_error err = { 0 };
	struct bx_image_ref_entry *e = NULL;
	boxlite_image_info *v;
	size_t n = 0;
	int rc;

	if (!rt || !images || !count)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	*images = NULL;
	*count = 0;
	rc = bx_image_refs_list(rt->home, &e, &n, &err);
	if (rc < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		bx_image_refs_free(e, n);
		return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	}
	for (size_t i = 0; i < n; i++) {
		v[i].ref = e[i].ref;
		e[i].ref = NULL;
		v[i].digest = strdup(e[i].digest);
		v[i].size = e[i].size;
		v[i].created = e[i].created;
		if (!v[i].digest) {
			bx_image_refs_free(e, n);
			boxlite_image_list_free(v, n);
			return bx_error_export(-ENOMEM, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
		}
	}
	bx_image_refs_free(e, n);
	*images = v;
	*count = n;
	return 0;
}

BX_EXPORT void boxlite_image_list_free(boxlite_image_info *images, size_t count)
{
	for (size_t i = 0; images && i < count; i++) {
		free(images[i].ref);
		free(images[i].digest);
	}
	free(images);
}

BX_EXPORT int boxlite_image_remove(boxlite_runtime *rt, const char *ref, boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "removing images"));
	struct bx_error err = { 0 };
	struct bx_registry_conf conf = { 0 };
	struct bx_image_ref r;
	char canonical[BX_REF_STRING_MAX];
	int rc;

	if (!rt || !ref)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	/* The exact stored name first, then its normalized forms. */
	rc = bx_image_refs_remove(rt->home, ref, &err);
	if (rc != -ENOENT && rc != -EINVAL)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	bx_err_clear(&err);
	rc = bx_registry_conf_load(rt->home, &rt->registries, &conf, &err);
	for (size_t i = 0; rc >= 0 && conf.search[i]; i++) {
		rc = bx_image_ref_parse(ref, conf.search[i], &r, &err);
		if (rc < 0)
			break;
		bx_image_ref_format(&r, canonical, sizeof(canonical));
		bx_err_clear(&err);
		rc = bx_image_refs_remove(rt->home, canonical, &err);
		if (rc != -ENOENT || r.qualified)
			break;
	}
	bx_registry_conf_free(&conf);
	return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
}

/* "https://index.docker.io/v1/" → "docker.io"; "http://h:5000/" → "h:5000". */
static int registry_domain(const char *in, char *out, size_t size, struct bx_error *err)
{
	struct bx_image_ref r;
	char probe[BX_REF_STRING_MAX];
	const char *s = in;
	size_t n;

	if (!strncmp(s, "https://", 8))
		s += 8;
	else if (!strncmp(s, "http://", 7))
		s += 7;
	n = strcspn(s, "/");
	if (n == 0 || n >= BX_REF_DOMAIN_MAX)
		return bx_err(err, -EINVAL, "invalid registry '%s'", in);
	snprintf(probe, sizeof(probe), "%.*s/x", (int)n, s);
	if (bx_image_ref_parse(probe, NULL, &r, NULL) < 0 || !r.qualified)
		return bx_err(err, -EINVAL, "invalid registry '%s' (want host[:port])", in);
	if (!strcmp(r.domain, "registry-1.docker.io"))
		strcpy(r.domain, "docker.io");
	snprintf(out, size, "%s", r.domain);
	return 0;
}

BX_EXPORT int boxlite_registry_login(boxlite_runtime *rt, const char *registry, const char *user,
				     const char *password, boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "registry login"));
	struct bx_error err = { 0 };
	struct bx_registry *reg = NULL;
	char domain[BX_REF_DOMAIN_MAX];
	int rc;

	if (!rt || !registry || !user || !*user || !password)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	rc = registry_domain(registry, domain, sizeof(domain), &err);
	if (rc >= 0)
		rc = bx_registry_open_creds(rt->home, &rt->registries, domain, "", user, password, &reg, &err);
	if (rc >= 0)
		rc = bx_registry_ping(reg, &err);
	if (rc >= 0)
		rc = bx_registry_creds_store(rt->home, domain, user, password, &err);
	bx_registry_free(reg);
	if (rc < 0)
		bx_err_wrap(&err, rc, "login to %s", registry);
	return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
}

BX_EXPORT int boxlite_registry_logout(boxlite_runtime *rt, const char *registry, boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "registry logout"));
	struct bx_error err = { 0 };
	char domain[BX_REF_DOMAIN_MAX];
	int rc;

	if (!rt || !registry)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	rc = registry_domain(registry, domain, sizeof(domain), &err);
	if (rc >= 0)
		rc = bx_registry_creds_store(rt->home, domain, NULL, NULL, &err);
	return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
}

BX_EXPORT int boxlite_image_load(boxlite_runtime *rt, const char *path, const char *name, char ***refs,
				 boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "loading images"));
	struct bx_error err = { 0 };
	char **got = NULL;
	int rc;

	if (refs)
		*refs = NULL;
	if (!rt || !path)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	rc = bx_image_load_archive(rt->home, path, name, &got, &err);
	if (rc >= 0 && refs)
		*refs = got;
	else
		bx_strv_free(got);
	return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
}

BX_EXPORT int boxlite_image_prune(boxlite_runtime *rt, char ***removed, uint64_t *reclaimed,
				  boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "pruning images"));
	struct bx_error err = { 0 };
	char **got = NULL;
	uint64_t bytes = 0;
	int rc;

	if (removed)
		*removed = NULL;
	if (reclaimed)
		*reclaimed = 0;
	if (!rt)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	rc = bx_image_prune(rt->home, &got, &bytes, &err);
	if (rc >= 0 && removed) {
		*removed = got;
		got = NULL;
	}
	bx_strv_free(got);
	if (rc >= 0 && reclaimed)
		*reclaimed = bytes;
	return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
}

BX_EXPORT int boxlite_image_import(boxlite_runtime *rt, const char *dir, const char *tag, const char *name,
				   char *ref, size_t ref_size, boxlite_error **errp)
{
	BX_REMOTE(rt && rt->remote, bx_remote_unsupported(&e_, "importing images"));
	struct bx_error err = { 0 };
	struct bx_registry_conf conf = { 0 };
	struct bx_image_ref r;
	struct bx_image img = { 0 };
	char canonical[BX_REF_STRING_MAX];
	int rc;

	if (!rt || !dir || !name)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	rc = bx_registry_conf_load(rt->home, &rt->registries, &conf, &err);
	if (rc >= 0)
		rc = bx_image_ref_parse(name, conf.search[0], &r, &err);
	if (rc >= 0 && r.digest[0])
		rc = bx_err(&err, -EINVAL, "'%s': an imported image is named by a tag, not a digest", name);
	if (rc >= 0 && bx_image_ref_format(&r, canonical, sizeof(canonical)) < 0)
		rc = bx_err(&err, -EINVAL, "invalid reference '%.200s': too long", name);
	if (rc >= 0)
		rc = bx_image_import_layout(rt->home, dir, tag && *tag ? tag : "latest", canonical, &img, &err);
	if (rc >= 0 && ref && ref_size)
		snprintf(ref, ref_size, "%s", canonical);
	bx_image_free(&img);
	bx_registry_conf_free(&conf);
	return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
}

BX_EXPORT void boxlite_image_refs_free(char **refs)
{
	bx_strv_free(refs);
}
