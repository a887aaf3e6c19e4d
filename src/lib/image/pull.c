/* Registry → image store. */
#include "pull.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "gc_lock.h"
#include "registry.h"
#include "work_dir.h"

int bx_platform_parse(const char *s, char os[32], char arch[32], char variant[32], struct bx_error *err)
{
	char buf[100], *a, *v;

	if (!s || strlen(s) >= sizeof(buf))
		return bx_err(err, -EINVAL, "invalid platform '%.100s'", s ? s : "");
	strcpy(buf, s);
	a = strchr(buf, '/');
	if (!a)
		return bx_err(err, -EINVAL, "invalid platform '%s': want os/arch[/variant], e.g. linux/amd64", s);
	*a++ = '\0';
	v = strchr(a, '/');
	if (v)
		*v++ = '\0';
	if (!*buf || !*a || (v && (!*v || strchr(v, '/'))) || strlen(buf) >= 32 || strlen(a) >= 32 ||
	    (v && strlen(v) >= 32))
		return bx_err(err, -EINVAL, "invalid platform '%s': want os/arch[/variant], e.g. linux/amd64", s);
	strcpy(os, buf);
	strcpy(arch, a);
	strcpy(variant, v ? v : "");
	return 0;
}

static bool variant_matches(const char *arch, const char *want, const char *have)
{
	if (!*want)
		return true;
	if (!strcmp(arch, "arm64") && !strcmp(want, "v8") && !*have)
		return true;
	return !strcmp(want, have);
}

int bx_index_select_platform(const char *json, size_t len, const char *os, const char *arch, const char *variant,
			     struct bx_oci_descriptor *out, struct bx_error *err)
{
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *ms = json_object_get(root, "manifests");
	char offered[512] = "";
	size_t i, n;
	int rc = -ENOENT;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(ms)) {
		json_decref(root);
		return bx_err(err, -EINVAL, "image index has no \"manifests\" array");
	}
	n = json_array_size(ms);
	for (i = 0; i < n && i < BX_OCI_ARRAY_MAX; i++) {
		json_t *m = json_array_get(ms, i), *p = json_object_get(m, "platform");
		const char *mos = json_string_value(json_object_get(p, "os"));
		const char *march = json_string_value(json_object_get(p, "architecture"));
		const char *mvar = json_string_value(json_object_get(p, "variant"));
		const char *dg = json_string_value(json_object_get(m, "digest"));
		const char *mt = json_string_value(json_object_get(m, "mediaType"));
		json_t *sz = json_object_get(m, "size");

		if (!mos || !march)
			continue; /* attestations and other non-images */
		if (!strcmp(mos, "unknown"))
			continue;
		if (strlen(offered) < sizeof(offered) - 80)
			snprintf(offered + strlen(offered), sizeof(offered) - strlen(offered), "%s%.20s/%.20s%s%.10s",
				 offered[0] ? ", " : "", mos, march, mvar ? "/" : "", mvar ? mvar : "");
		if (strcmp(mos, os) || strcmp(march, arch) || !variant_matches(arch, variant, mvar ? mvar : ""))
			continue;
		if (!dg || bx_digest_parse(dg, NULL, NULL) < 0 || !json_is_integer(sz) || json_integer_value(sz) < 0) {
			rc = bx_err(err, -EINVAL, "image index: bad descriptor for %s/%s", os, arch);
			break;
		}
		snprintf(out->digest, sizeof(out->digest), "%s", dg);
		snprintf(out->media_type, sizeof(out->media_type), "%s", mt ? mt : "");
		out->size = json_integer_value(sz);
		rc = 0;
		break;
	}
	json_decref(root);
	if (rc == -ENOENT)
		return bx_err(err, -ENOENT, "no image for platform %s/%s%s%s in the index (it offers: %s)", os, arch,
			      *variant ? "/" : "", variant, offered[0] ? offered : "none");
	return rc;
}

/* ---- one pull ---- */

struct pull {
	const char *home;
	char ref[BX_REF_STRING_MAX];
	char images[PATH_MAX];
	int images_fd, blobs_fd, partial_fd;
	struct bx_registry *reg;
	struct bx_oci_manifest manifest;
	char manifest_digest[BX_DIGEST_MAX];
	const struct bx_pull_opts *opts;
	pthread_mutex_t lock; /* next_layer, first error, progress calls */
	size_t next_layer;
	int rc;
	struct bx_error err;
};

static void emit(struct pull *p, enum boxlite_pull_stage stage, const char *digest, size_t layer, uint64_t done,
		 uint64_t total)
{
	boxlite_pull_event ev = {
		.struct_size = sizeof(ev),
		.stage = stage,
		.ref = p->ref,
		.digest = digest,
		.layer = (uint32_t)layer,
		.n_layers = (uint32_t)p->manifest.n_layers,
		.done = done,
		.total = total,
	};

	if (p->opts && p->opts->progress)
		p->opts->progress(p->opts->user_data, &ev);
}

struct layer_job {
	struct pull *p;
	size_t index;
};

static void on_bytes(void *ud, uint64_t done, uint64_t total)
{
	struct layer_job *j = ud;

	pthread_mutex_lock(&j->p->lock);
	emit(j->p, BOXLITE_PULL_LAYER_PROGRESS, j->p->manifest.layers[j->index].digest, j->index, done, total);
	pthread_mutex_unlock(&j->p->lock);
}

/* Downloads layer i into blobs/ unless it is there. Partial downloads live
 * in images/partial/<hex>, locked while written, kept for resumption after
 * a transport failure and deleted after a digest mismatch. */
static int fetch_layer(struct pull *p, struct bx_registry *reg, size_t i, struct bx_error *err)
{
	const struct bx_oci_descriptor *d = &p->manifest.layers[i];
	const char *hex = d->digest + 7;
	struct layer_job job = { p, i };
	_cleanup_close_ int fd = -1;
	int rc;

	if (faccessat(p->blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		goto cached;
	fd = openat(p->partial_fd, hex, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return bx_err_sys(err, -errno, "creating images/partial/%s", hex);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return bx_err_sys(err, -errno, "locking images/partial/%s", hex);
	if (faccessat(p->blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		goto cached; /* another pull stored it while we waited */
	rc = bx_registry_fetch_blob(reg, d, fd, on_bytes, &job, err);
	if (rc == -EBADMSG || rc == -EPROTO) {
		unlinkat(p->partial_fd, hex, 0);
		return rc;
	}
	if (rc < 0)
		return rc;
	if (fsync(fd) < 0)
		return bx_err_sys(err, -errno, "syncing images/partial/%s", hex);
	if (renameat(p->partial_fd, hex, p->blobs_fd, hex) < 0)
		return bx_err_sys(err, -errno, "storing blob %s", d->digest);
	rc = bx_fsync_dir(p->blobs_fd, "images/blobs/sha256", err);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&p->lock);
	emit(p, BOXLITE_PULL_LAYER_DONE, d->digest, i, (uint64_t)d->size, (uint64_t)d->size);
	pthread_mutex_unlock(&p->lock);
	return 0;
cached:
	pthread_mutex_lock(&p->lock);
	emit(p, BOXLITE_PULL_LAYER_CACHED, d->digest, i, (uint64_t)d->size, (uint64_t)d->size);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void *layer_worker(void *arg)
{
	struct pull *p = arg;
	struct bx_registry *reg = bx_registry_clone(p->reg);

	for (;;) {
		struct bx_error err = { 0 };
		size_t i;
		int rc;

		pthread_mutex_lock(&p->lock);
		if (p->rc < 0 || p->next_layer >= p->manifest.n_layers) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		i = p->next_layer++;
		if (!reg) {
			p->rc = bx_err(&p->err, -ENOMEM, "out of memory");
			pthread_mutex_unlock(&p->lock);
			break;
		}
		pthread_mutex_unlock(&p->lock);
		rc = fetch_layer(p, reg, i, &err);
		if (rc < 0) {
			pthread_mutex_lock(&p->lock);
			if (p->rc == 0) {
				p->rc = rc;
				p->err = err;
			}
			pthread_mutex_unlock(&p->lock);
			break;
		}
	}
	bx_registry_free(reg);
	return NULL;
}

static int fetch_layers(struct pull *p, struct bx_error *err)
{
	pthread_t th[BX_PULL_MAX_PARALLEL];
	size_t n = p->manifest.n_layers < BX_PULL_MAX_PARALLEL ? p->manifest.n_layers : BX_PULL_MAX_PARALLEL;
	size_t started = 0;

	for (size_t i = 0; i < p->manifest.n_layers; i++)
		if (bx_digest_parse(p->manifest.layers[i].digest, NULL, err) < 0)
			return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&th[i], NULL, layer_worker, p) != 0)
			break;
		started++;
	}
	if (started == 0)
		layer_worker(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (p->rc < 0) {
		if (err) {
			err->code = 0;
			bx_err(err, p->rc, "%s", p->err.msg);
		}
		return p->rc;
	}
	return 0;
}

static int write_blob(int dirfd, const char *digest, const char *data, size_t len, struct bx_error *err)
{
	return bx_write_file_atomic(dirfd, digest + 7, data, len, 0644, err);
}

/* A one-image OCI layout in dir holding the verified manifest and config
 * (layers are already in the store), tagged "pull". */
static int write_layout(const char *dir, const char *manifest_digest, const char *mt, const char *manifest,
			size_t mlen, const char *config_digest, const char *config, size_t clen,
			struct bx_error *err)
{
	char path[PATH_MAX];
	_cleanup_close_ int dfd = -1, bfd = -1;
	_cleanup_free_ char *index = NULL;
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	int rc;

	bx_path_fmt(path, sizeof(path), "%s/blobs/sha256", dir);
	rc = bx_mkdir_p(path, 0755, err);
	if (rc < 0)
		return rc;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || bfd < 0)
		return bx_err_sys(err, -errno, "opening %s", path);
	if (asprintf(&index,
		     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
		     "\"annotations\":{\"org.opencontainers.image.ref.name\":\"pull\"}}]}",
		     mt, manifest_digest, mlen) < 0)
		return bx_err(err, -ENOMEM, "out of memory");
	if ((rc = write_blob(bfd, manifest_digest, manifest, mlen, err)) < 0 ||
	    (rc = write_blob(bfd, config_digest, config, clen, err)) < 0 ||
	    (rc = bx_write_file_atomic(dfd, "oci-layout", layout, strlen(layout), 0644, err)) < 0)
		return rc;
	return bx_write_file_atomic(dfd, "index.json", index, strlen(index), 0644, err);
}

/* Opens <home>/images/{blobs/sha256,partial,tmp}, creating them. */
static int open_store(struct pull *p, struct bx_error *err)
{
	char path[PATH_MAX];
	static const char *const dirs[] = { "blobs/sha256", "partial", "tmp", "refs", "bases" };
	int rc;

	if (p->home[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return bx_err_sys(err, -errno, "resolving home %s", p->home);
		rc = bx_path_fmt(p->images, sizeof(p->images) - 200, "%s/%s/images", cwd, p->home);
	} else {
		rc = bx_path_fmt(p->images, sizeof(p->images) - 200, "%s/images", p->home);
	}
	if (rc < 0)
		return bx_err(err, -ENAMETOOLONG, "home path too long");
	rc = bx_mkdir_p(p->home, 0700, err);
	for (size_t i = 0; rc >= 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		bx_path_fmt(path, sizeof(path), "%s/%s", p->images, dirs[i]);
		rc = bx_mkdir_p(path, 0755, err);
	}
	if (rc < 0)
		return rc;
	p->images_fd = open(p->images, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p->blobs_fd = openat(p->images_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p->partial_fd = openat(p->images_fd, "partial", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->images_fd < 0 || p->blobs_fd < 0 || p->partial_fd < 0)
		return bx_err_sys(err, -errno, "opening %s", p->images);
	return 0;
}

static bool is_index(const char *mt, const char *body, size_t len)
{
	if (!strcmp(mt, BX_MT_OCI_INDEX) || !strcmp(mt, BX_MT_DOCKER_LIST))
		return true;
	if (!strcmp(mt, BX_MT_OCI_MANIFEST) || !strcmp(mt, BX_MT_DOCKER_MANIFEST))
		return false;
	return bx_oci_kind_of(body, len) == BX_OCI_KIND_INDEX;
}

int bx_image_pull(const char *home, const struct bx_image_ref *ref, const struct bx_pull_opts *opts,
		  struct bx_image *out, struct bx_error *err)
{
	struct pull p = { .home = home, .opts = opts, .images_fd = -1, .blobs_fd = -1, .partial_fd = -1 };
	struct bx_oci_config cfg = { 0 };
	char os[32], arch[32], variant[32], mt[128], digest[BX_DIGEST_MAX], work[PATH_MAX] = "";
	_cleanup_free_ char *body = NULL, *config = NULL;
	size_t len = 0, clen = 0;
	int work_fd = -1, gc_fd = -1, rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_init(&p.lock, NULL);
	rc = bx_platform_parse(opts && opts->platform ? opts->platform : "linux/" BX_OCI_HOST_ARCH, os, arch, variant,
			       err);
	if (rc < 0)
		goto out;
	if (bx_image_ref_format(ref, p.ref, sizeof(p.ref)) < 0) {
		rc = bx_err(err, -EINVAL, "image reference too long");
		goto out;
	}
	rc = open_store(&p, err);
	if (rc < 0)
		goto out;
	/* blobs stored before the ref exists must not look unused to a prune */
	rc = gc_fd = bx_image_gc_lock(home, 0, err);
	if (rc < 0)
		goto out;
	rc = bx_registry_open(home, opts ? opts->regs : NULL, ref->domain, ref->path, &p.reg, err);
	if (rc < 0)
		goto out;

	rc = bx_registry_get_manifest(p.reg, ref->digest[0] ? ref->digest : ref->tag, &body, &len, mt, digest, err);
	if (rc < 0)
		goto out;
	if (is_index(mt, body, len)) {
		struct bx_oci_descriptor d;
		rc = bx_index_select_platform(body, len, os, arch, variant, &d, err);
		if (rc < 0)
			goto out;
		free(body);
		body = NULL;
		rc = bx_registry_get_manifest(p.reg, d.digest, &body, &len, mt, digest, err);
		if (rc < 0)
			goto out;
		if (is_index(mt, body, len)) {
			rc = bx_err(err, -ENOTSUP, "%s: nested image index", p.ref);
			goto out;
		}
	}
	snprintf(p.manifest_digest, sizeof(p.manifest_digest), "%s", digest);
	if (strcmp(os, "linux") || strcmp(arch, BX_OCI_HOST_ARCH)) {
		rc = bx_err(err, -ENOTSUP, "%s/%s images cannot run on this linux/%s host (boxes run images natively)", os,
			    arch, BX_OCI_HOST_ARCH);
		goto out;
	}
	rc = bx_oci_manifest_parse(body, len, &p.manifest, err);
	if (rc < 0)
		goto out;
	rc = bx_registry_get_blob(p.reg, &p.manifest.config, BX_OCI_CONFIG_MAX, &config, &clen, err);
	if (rc < 0)
		goto out;
	rc = bx_oci_config_parse(config, clen, &cfg, err);
	if (rc < 0)
		goto out;
	if ((cfg.os && strcmp(cfg.os, os)) || (cfg.architecture && strcmp(cfg.architecture, arch))) {
		rc = bx_err(err, -ENOENT, "%s is for %s/%s, not %s/%s (pick another with --platform)", p.ref,
			    cfg.os ? cfg.os : "?", cfg.architecture ? cfg.architecture : "?", os, arch);
		goto out;
	}
	emit(&p, BOXLITE_PULL_RESOLVED, p.manifest_digest, 0, 0, 0);

	rc = fetch_layers(&p, err);
	if (rc < 0)
		goto out;

	work_fd = bx_image_work_dir(p.images, "pull", work, sizeof(work), err);
	if (work_fd < 0) {
		rc = work_fd;
		goto out;
	}
	rc = write_layout(work, p.manifest_digest, mt[0] ? mt : BX_MT_OCI_MANIFEST, body, len,
			  p.manifest.config.digest, config, clen, err);
	if (rc < 0)
		goto out;
	emit(&p, BOXLITE_PULL_UNPACKING, p.manifest_digest, 0, 0, 0);
	rc = bx_image_import_layout(home, work, "pull", p.ref, out, err);
	if (rc < 0)
		goto out;
	emit(&p, BOXLITE_PULL_DONE, p.manifest_digest, 0, 0, 0);
out:
	if (rc < 0 && p.ref[0])
		bx_err_wrap(err, rc, "pulling %s", p.ref);
	if (work_fd >= 0)
		bx_image_work_dir_remove(work, work_fd);
	if (gc_fd >= 0)
		close(gc_fd);
	bx_oci_config_free(&cfg);
	bx_oci_manifest_free(&p.manifest);
	bx_registry_free(p.reg);
	if (p.images_fd >= 0)
		close(p.images_fd);
	if (p.blobs_fd >= 0)
		close(p.blobs_fd);
	if (p.partial_fd >= 0)
		close(p.partial_fd);
	pthread_mutex_destroy(&p.lock);
	return rc;
}
