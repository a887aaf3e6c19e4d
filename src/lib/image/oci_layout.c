/* OCI image layouts: JSON parsers (index, manifest, config) and verified blob reads. */
#include "oci_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

/* json_decrefp comes with jansson >= 2.9 (json_auto_t). */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

static inline void evp_md_ctx_freep(EVP_MD_CTX **c)
{
	if (*c)
		EVP_MD_CTX_free(*c);
}
#define _cleanup_md_ctx_ __attribute__((cleanup(evp_md_ctx_freep)))

/* ---- digests ---- */

int bx_digest_parse(const char *s, char hex[BX_DIGEST_HEX_LEN + 1], struct bx_error *err)
{
	const char *colon;
	size_t i;

	if (!s)
		return bx_err(err, -EINVAL, "missing digest");
	colon = strchr(s, ':');
	if (!colon || colon == s)
		return bx_err(err, -EINVAL, "malformed digest '%.80s'", s);
	if ((size_t)(colon - s) != 6 || strncmp(s, "sha256", 6) != 0)
		return bx_err(err, -ENOTSUP, "unsupported digest algorithm in '%.80s' (only sha256)", s);
	if (strlen(colon + 1) != BX_DIGEST_HEX_LEN)
		return bx_err(err, -EINVAL, "malformed digest '%.80s': want 64 hex digits", s);
	for (i = 0; i < BX_DIGEST_HEX_LEN; i++) {
		char c = colon[1 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return bx_err(err, -EINVAL, "malformed digest '%.80s': not lowercase hex", s);
	}
	if (hex)
		memcpy(hex, colon + 1, BX_DIGEST_HEX_LEN + 1);
	return 0;
}

static void hex_format(const unsigned char *md, char out[BX_DIGEST_MAX])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = digits[md[i] >> 4];
		out[7 + 2 * i + 1] = digits[md[i] & 15];
	}
	out[7 + 64] = '\0';
}

void bx_sha256_digest(const void *data, size_t len, char out[BX_DIGEST_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	hex_format(md, out);
}

/* ---- JSON helpers ---- */

static int json_parse(const char *json, size_t len, const char *what, json_t **out, struct bx_error *err)
{
	json_error_t jerr;
	json_t *root;

	*out = NULL;
	if (!json)
		return bx_err(err, -EINVAL, "%s: no data", what);
	/* Duplicate keys are refused: two parsers must never disagree on a document. */
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return bx_err(err, -EINVAL, "%s: invalid JSON at line %d: %s", what, jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return bx_err(err, -EINVAL, "%s: not a JSON object", what);
	}
	*out = root;
	return 0;
}

/* Returns the string member key (NULL if absent or JSON null), or fails when
 * it has another type. */
static int get_opt_string(json_t *obj, const char *key, const char **out, const char *what, struct bx_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bx_err(err, -EINVAL, "%s: \"%s\" is not a string", what, key);
	*out = json_string_value(v);
	return 0;
}

static int parse_descriptor(json_t *obj, struct bx_oci_descriptor *d, const char *what, struct bx_error *err)
{
	const char *mt = NULL, *digest = NULL;
	json_t *size;
	int r;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(obj))
		return bx_err(err, -EINVAL, "%s: descriptor is not an object", what);
	r = get_opt_string(obj, "mediaType", &mt, what, err);
	if (r < 0)
		return r;
	if (mt) {
		if (strlen(mt) >= sizeof(d->media_type))
			return bx_err(err, -EINVAL, "%s: mediaType too long", what);
		strcpy(d->media_type, mt);
	}
	r = get_opt_string(obj, "digest", &digest, what, err);
	if (r < 0)
		return r;
	if (!digest)
		return bx_err(err, -EINVAL, "%s: descriptor has no digest", what);
	r = bx_digest_parse(digest, NULL, err);
	if (r < 0)
		return bx_err_wrap(err, r, "%s", what);
	strcpy(d->digest, digest);
	size = json_object_get(obj, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return bx_err(err, -EINVAL, "%s: descriptor %s has no valid size", what, digest);
	d->size = json_integer_value(size);
	return 0;
}

static bool platform_matches(json_t *desc)
{
	json_t *p = json_object_get(desc, "platform");
	const char *os, *arch;

	if (!json_is_object(p))
		return false;
	os = json_string_value(json_object_get(p, "os"));
	arch = json_string_value(json_object_get(p, "architecture"));
	return os && arch && strcmp(os, "linux") == 0 && strcmp(arch, BX_OCI_HOST_ARCH) == 0;
}

static int get_manifests(json_t *root, json_t **out, const char *what, struct bx_error *err)
{
	json_t *schema = json_object_get(root, "schemaVersion");
	json_t *m = json_object_get(root, "manifests");

	if (!json_is_integer(schema) || json_integer_value(schema) != 2)
		return bx_err(err, -EINVAL, "%s: schemaVersion is not 2", what);
	if (!json_is_array(m))
		return bx_err(err, -EINVAL, "%s: no \"manifests\" array", what);
	if (json_array_size(m) > BX_OCI_ARRAY_MAX)
		return bx_err(err, -E2BIG, "%s: too many manifests", what);
	*out = m;
	return 0;
}

/* ---- pure parsers ---- */

enum bx_oci_kind bx_oci_kind_of(const char *json, size_t len)
{
	_cleanup_json_ json_t *root = NULL;
	const char *mt;

	if (json_parse(json, len, "document", &root, NULL) < 0)
		return BX_OCI_KIND_UNKNOWN;
	mt = json_string_value(json_object_get(root, "mediaType"));
	if (mt) {
		if (!strcmp(mt, BX_MT_OCI_INDEX) || !strcmp(mt, BX_MT_DOCKER_LIST))
			return BX_OCI_KIND_INDEX;
		if (!strcmp(mt, BX_MT_OCI_MANIFEST) || !strcmp(mt, BX_MT_DOCKER_MANIFEST))
			return BX_OCI_KIND_MANIFEST;
		return BX_OCI_KIND_UNKNOWN;
	}
	if (json_is_array(json_object_get(root, "manifests")))
		return BX_OCI_KIND_INDEX;
	if (json_is_object(json_object_get(root, "config")) || json_is_array(json_object_get(root, "layers")))
		return BX_OCI_KIND_MANIFEST;
	return BX_OCI_KIND_UNKNOWN;
}

int bx_oci_index_find_tag(const char *json, size_t len, const char *tag, struct bx_oci_descriptor *out,
			  struct bx_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	json_t *manifests, *m, *first = NULL, *unplatformed = NULL, *native = NULL;
	size_t i, n = 0;
	int r;

	r = json_parse(json, len, "index.json", &root, err);
	if (r < 0)
		return r;
	if (!tag || !*tag)
		return bx_err(err, -EINVAL, "index.json: empty tag");
	r = get_manifests(root, &manifests, "index.json", err);
	if (r < 0)
		return r;
	json_array_foreach(manifests, i, m) {
		const char *name;

		if (!json_is_object(m))
			return bx_err(err, -EINVAL, "index.json: manifests[%zu] is not an object", i);
		name = json_string_value(json_object_get(json_object_get(m, "annotations"), REF_NAME_ANNOTATION));
		if (!name || strcmp(name, tag) != 0)
			continue;
		n++;
		if (!first)
			first = m;
		if (!native && platform_matches(m))
			native = m;
		if (!unplatformed && !json_object_get(m, "platform"))
			unplatformed = m;
	}
	if (n == 0)
		return bx_err(err, -ENOENT, "index.json: no image tagged '%s'", tag);
	m = n == 1 ? first : native ? native : unplatformed;
	if (!m)
		return bx_err(err, -ENOENT, "index.json: tag '%s' has no linux/%s image", tag, BX_OCI_HOST_ARCH);
	r = parse_descriptor(m, out, "index.json", err);
	return r < 0 ? r : 0;
}

int bx_oci_index_find_platform(const char *json, size_t len, struct bx_oci_descriptor *out, struct bx_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	json_t *manifests, *m;
	const char *mt = NULL;
	size_t i;
	int r;

	r = json_parse(json, len, "image index", &root, err);
	if (r < 0)
		return r;
	r = get_opt_string(root, "mediaType", &mt, "image index", err);
	if (r < 0)
		return r;
	if (mt && strcmp(mt, BX_MT_OCI_INDEX) != 0 && strcmp(mt, BX_MT_DOCKER_LIST) != 0)
		return bx_err(err, -EINVAL, "image index: unexpected mediaType '%.100s'", mt);
	r = get_manifests(root, &manifests, "image index", err);
	if (r < 0)
		return r;
	json_array_foreach(manifests, i, m) {
		if (!json_is_object(m))
			return bx_err(err, -EINVAL, "image index: manifests[%zu] is not an object", i);
		if (platform_matches(m))
			return parse_descriptor(m, out, "image index", err);
	}
	return bx_err(err, -ENOENT, "image index has no linux/%s manifest", BX_OCI_HOST_ARCH);
}

int bx_oci_layer_compression(const char *mt, enum bx_layer_compression *out, struct bx_error *err)
{
	static const struct {
		const char *type;
		enum bx_layer_compression c;
	} known[] = {
		{ "application/vnd.oci.image.layer.v1.tar", BX_LAYER_TAR },
		{ "application/vnd.oci.image.layer.v1.tar+gzip", BX_LAYER_GZIP },
		{ "application/vnd.oci.image.layer.v1.tar+zstd", BX_LAYER_ZSTD },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar", BX_LAYER_TAR },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", BX_LAYER_GZIP },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", BX_LAYER_ZSTD },
		{ "application/vnd.docker.image.rootfs.diff.tar", BX_LAYER_TAR },
		{ "application/vnd.docker.image.rootfs.diff.tar.gzip", BX_LAYER_GZIP },
		{ "application/vnd.docker.image.rootfs.diff.tar.zstd", BX_LAYER_ZSTD },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", BX_LAYER_GZIP },
	};
	size_t i;

	for (i = 0; mt && i < sizeof(known) / sizeof(known[0]); i++) {
		if (!strcmp(mt, known[i].type)) {
			*out = known[i].c;
			return 0;
		}
	}
	return bx_err(err, -ENOTSUP, "unsupported layer media type '%.100s'", mt && *mt ? mt : "(none)");
}

void bx_oci_manifest_free(struct bx_oci_manifest *m)
{
	if (!m)
		return;
	free(m->layers);
	free(m->compression);
	memset(m, 0, sizeof(*m));
}

int bx_oci_manifest_parse(const char *json, size_t len, struct bx_oci_manifest *out, struct bx_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct bx_oci_manifest m = { 0 };
	json_t *schema, *layers, *l;
	const char *mt = NULL;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	r = json_parse(json, len, "manifest", &root, err);
	if (r < 0)
		return r;
	schema = json_object_get(root, "schemaVersion");
	if (!json_is_integer(schema) || json_integer_value(schema) != 2)
		return bx_err(err, -EINVAL, "manifest: schemaVersion is not 2");
	r = get_opt_string(root, "mediaType", &mt, "manifest", err);
	if (r < 0)
		return r;
	if (mt && strcmp(mt, BX_MT_OCI_MANIFEST) != 0 && strcmp(mt, BX_MT_DOCKER_MANIFEST) != 0)
		return bx_err(err, -EINVAL, "manifest: unexpected mediaType '%.100s'", mt);
	r = parse_descriptor(json_object_get(root, "config"), &m.config, "manifest config", err);
	if (r < 0)
		return r;
	if (m.config.media_type[0] && strcmp(m.config.media_type, BX_MT_OCI_CONFIG) != 0 &&
	    strcmp(m.config.media_type, BX_MT_DOCKER_CONFIG) != 0)
		return bx_err(err, -ENOTSUP, "manifest: config media type '%s' is not a container image",
			      m.config.media_type);
	layers = json_object_get(root, "layers");
	if (!json_is_array(layers))
		return bx_err(err, -EINVAL, "manifest: no \"layers\" array");
	if (json_array_size(layers) > BX_OCI_LAYERS_MAX)
		return bx_err(err, -E2BIG, "manifest: %zu layers (at most %d)", json_array_size(layers),
			      BX_OCI_LAYERS_MAX);
	m.n_layers = json_array_size(layers);
	m.layers = calloc(m.n_layers + 1, sizeof(*m.layers));
	m.compression = calloc(m.n_layers + 1, sizeof(*m.compression));
	if (!m.layers || !m.compression) {
		bx_oci_manifest_free(&m);
		return bx_err(err, -ENOMEM, "manifest: out of memory");
	}
	json_array_foreach(layers, i, l) {
		r = parse_descriptor(l, &m.layers[i], "manifest layer", err);
		if (r >= 0)
			r = bx_oci_layer_compression(m.layers[i].media_type, &m.compression[i], err);
		if (r < 0) {
			bx_oci_manifest_free(&m);
			return bx_err_wrap(err, r, "manifest layer %zu", i);
		}
	}
	*out = m;
	return 0;
}

void bx_oci_strv_free(char **v)
{
	char **p;

	if (!v)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

/* Copies a JSON array of strings (or null/absent → *out = NULL). */
static int get_opt_strv(json_t *obj, const char *key, char ***out, struct bx_error *err)
{
	json_t *a = json_object_get(obj, key), *s;
	char **v;
	size_t i;

	*out = NULL;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return bx_err(err, -EINVAL, "config: %s is not an array", key);
	if (json_array_size(a) > BX_OCI_ARRAY_MAX)
		return bx_err(err, -E2BIG, "config: %s has too many entries", key);
	v = calloc(json_array_size(a) + 1, sizeof(*v));
	if (!v)
		return bx_err(err, -ENOMEM, "config: out of memory");
	json_array_foreach(a, i, s) {
		if (!json_is_string(s)) {
			bx_oci_strv_free(v);
			return bx_err(err, -EINVAL, "config: %s[%zu] is not a string", key, i);
		}
		v[i] = strdup(json_string_value(s));
		if (!v[i]) {
			bx_oci_strv_free(v);
			return bx_err(err, -ENOMEM, "config: out of memory");
		}
	}
	*out = v;
	return 0;
}

static int dup_opt_string(json_t *obj, const char *key, char **out, struct bx_error *err)
{
	const char *s;
	int r = get_opt_string(obj, key, &s, "config", err);

	*out = NULL;
	if (r < 0)
		return r;
	if (s && *s && !(*out = strdup(s)))
		return bx_err(err, -ENOMEM, "config: out of memory");
	return 0;
}

void bx_oci_config_free(struct bx_oci_config *c)
{
	if (!c)
		return;
	bx_oci_strv_free(c->env);
	bx_oci_strv_free(c->entrypoint);
	bx_oci_strv_free(c->cmd);
	free(c->workdir);
	free(c->user);
	free(c->architecture);
	free(c->os);
	memset(c, 0, sizeof(*c));
}

int bx_oci_config_parse(const char *json, size_t len, struct bx_oci_config *out, struct bx_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	struct bx_oci_config c = { 0 };
	json_t *cfg, *rootfs;
	int r;

	memset(out, 0, sizeof(*out));
	r = json_parse(json, len, "image config", &root, err);
	if (r < 0)
		return r;
	cfg = json_object_get(root, "config");
	if (cfg && !json_is_null(cfg) && !json_is_object(cfg))
		return bx_err(err, -EINVAL, "image config: \"config\" is not an object");
	r = dup_opt_string(root, "architecture", &c.architecture, err);
	if (r >= 0)
		r = dup_opt_string(root, "os", &c.os, err);
	if (r >= 0 && json_is_object(cfg)) {
		r = get_opt_strv(cfg, "Env", &c.env, err);
		if (r >= 0)
			r = get_opt_strv(cfg, "Entrypoint", &c.entrypoint, err);
		if (r >= 0)
			r = get_opt_strv(cfg, "Cmd", &c.cmd, err);
		if (r >= 0)
			r = dup_opt_string(cfg, "WorkingDir", &c.workdir, err);
		if (r >= 0)
			r = dup_opt_string(cfg, "User", &c.user, err);
	}
	rootfs = json_object_get(root, "rootfs");
	if (r >= 0 && rootfs && !json_is_null(rootfs)) {
		json_t *ids = json_object_get(rootfs, "diff_ids"), *id;
		size_t i;

		if (!json_is_object(rootfs) || !json_is_array(ids))
			r = bx_err(err, -EINVAL, "image config: rootfs has no diff_ids array");
		else if (json_array_size(ids) > BX_OCI_LAYERS_MAX)
			r = bx_err(err, -E2BIG, "image config: too many diff_ids");
		else
			json_array_foreach(ids, i, id) {
				r = bx_digest_parse(json_string_value(id), NULL, err);
				if (r < 0) {
					bx_err_wrap(err, r, "image config: diff_ids[%zu]", i);
					break;
				}
			}
		c.n_diff_ids = json_array_size(ids);
	}
	if (r >= 0 && !c.env && !(c.env = calloc(1, sizeof(*c.env))))
		r = bx_err(err, -ENOMEM, "config: out of memory");
	if (r < 0) {
		bx_oci_config_free(&c);
		return r;
	}
	*out = c;
	return 0;
}

/* ---- blobs on disk ---- */

int bx_oci_blob_open(int layout_fd, const char *layout_name, const struct bx_oci_descriptor *d,
		     struct bx_error *err)
{
	char hex[BX_DIGEST_HEX_LEN + 1], rel[96];
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	r = bx_digest_parse(d->digest, hex, err);
	if (r < 0)
		return r;
	snprintf(rel, sizeof(rel), "blobs/sha256/%s", hex);
	/* O_NONBLOCK: a FIFO planted in the layout must not hang us. */
	fd = openat(layout_fd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return bx_err_sys(err, -errno, "%s: blob %s", layout_name, d->digest);
	if (fstat(fd, &st) < 0)
		return bx_err_sys(err, -errno, "%s: blob %s", layout_name, d->digest);
	if (!S_ISREG(st.st_mode))
		return bx_err(err, -EINVAL, "%s: blob %s is not a regular file", layout_name, d->digest);
	if (st.st_size != d->size)
		return bx_err(err, -EBADMSG, "%s: blob %s is corrupt: size %lld, descriptor says %lld", layout_name,
			      d->digest, (long long)st.st_size, (long long)d->size);
	if (fcntl(fd, F_SETFL, 0) < 0)
		return bx_err_sys(err, -errno, "%s: blob %s", layout_name, d->digest);
	return TAKE_FD(fd);
}

int bx_oci_blob_read(int layout_fd, const char *layout_name, const struct bx_oci_descriptor *d, size_t max,
		     char **data, size_t *len, struct bx_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char got[BX_DIGEST_MAX];
	size_t off = 0;

	*data = NULL;
	*len = 0;
	if (d->size < 0 || (uint64_t)d->size > max)
		return bx_err(err, -EFBIG, "%s: blob %s is too large (%lld bytes, at most %zu)", layout_name,
			      d->digest, (long long)d->size, max);
	fd = bx_oci_blob_open(layout_fd, layout_name, d, err);
	if (fd < 0)
		return fd;
	buf = malloc((size_t)d->size + 1);
	if (!buf)
		return bx_err(err, -ENOMEM, "%s: blob %s: out of memory", layout_name, d->digest);
	while (off < (size_t)d->size) {
		ssize_t n = read(fd, buf + off, (size_t)d->size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bx_err_sys(err, -errno, "%s: reading blob %s", layout_name, d->digest);
		if (n == 0)
			return bx_err(err, -EBADMSG, "%s: blob %s is corrupt: truncated", layout_name, d->digest);
		off += (size_t)n;
	}
	buf[off] = '\0';
	bx_sha256_digest(buf, off, got);
	if (strcmp(got, d->digest) != 0)
		return bx_err(err, -EBADMSG, "%s: blob %s is corrupt: digest mismatch (content hashes to %s)",
			      layout_name, d->digest, got);
	*len = off;
	*data = TAKE_PTR(buf);
	return 0;
}

int bx_oci_blob_copy_verified(int src_fd, int dst_fd, const struct bx_oci_descriptor *d, const char *what,
			      struct bx_error *err)
{
	_cleanup_md_ctx_ EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_free_ char *buf = malloc(1 << 20);
	unsigned char md[EVP_MAX_MD_SIZE];
	char got[BX_DIGEST_MAX];
	uint64_t left = (uint64_t)d->size;
	unsigned int mdlen = 0;

	if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		return bx_err(err, -ENOMEM, "%s: out of memory", what);
	while (left) {
		ssize_t n = read(src_fd, buf, left < (1 << 20) ? (size_t)left : (1 << 20));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bx_err_sys(err, -errno, "%s: reading blob %s", what, d->digest);
		if (n == 0)
			return bx_err(err, -EBADMSG, "%s: blob %s is corrupt: truncated", what, d->digest);
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		left -= (uint64_t)n;
		for (ssize_t off = 0; dst_fd >= 0 && off < n;) {
			ssize_t w = write(dst_fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return bx_err_sys(err, -errno, "%s: storing blob %s", what, d->digest);
			off += w;
		}
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hex_format(md, got);
	if (strcmp(got, d->digest) != 0)
		return bx_err(err, -EBADMSG, "%s: blob %s is corrupt: digest mismatch (content hashes to %s)", what,
			      d->digest, got);
	return 0;
}

/* Reads a small non-blob file of the layout (index.json, oci-layout). */
static int read_layout_file(int dirfd, const char *dir, const char *name, size_t max, char **data, size_t *len,
			    struct bx_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t off = 0;
	struct stat st;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return bx_err(err, -ENOENT, "%s is not an OCI image layout (no %s)", dir, name);
	if (fd < 0 || fstat(fd, &st) < 0)
		return bx_err_sys(err, -errno, "%s/%s", dir, name);
	if (!S_ISREG(st.st_mode))
		return bx_err(err, -EINVAL, "%s/%s is not a regular file", dir, name);
	if ((uint64_t)st.st_size > max)
		return bx_err(err, -EFBIG, "%s/%s is too large (%lld bytes)", dir, name, (long long)st.st_size);
	buf = malloc(max + 1);
	if (!buf)
		return bx_err(err, -ENOMEM, "%s/%s: out of memory", dir, name);
	for (;;) {
		ssize_t n = pread(fd, buf + off, max + 1 - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bx_err_sys(err, -errno, "reading %s/%s", dir, name);
		if (n == 0)
			break;
		off += (size_t)n;
		if (off > max)
			return bx_err(err, -EFBIG, "%s/%s is too large", dir, name);
	}
	buf[off] = '\0';
	*len = off;
	*data = TAKE_PTR(buf);
	return 0;
}

void bx_oci_image_free(struct bx_oci_image *img)
{
	if (!img)
		return;
	free(img->manifest_json);
	free(img->config_json);
	free(img->index_json);
	bx_oci_manifest_free(&img->manifest);
	bx_oci_config_free(&img->config);
	memset(img, 0, sizeof(*img));
}

static int check_oci_layout_file(int dirfd, const char *dir, struct bx_error *err)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_json_ json_t *root = NULL;
	size_t len;
	int r;

	r = read_layout_file(dirfd, dir, "oci-layout", 4096, &data, &len, err);
	if (r < 0)
		return r;
	r = json_parse(data, len, "oci-layout", &root, err);
	if (r < 0)
		return bx_err_wrap(err, r, "%s", dir);
	if (!json_is_string(json_object_get(root, "imageLayoutVersion")))
		return bx_err(err, -EINVAL, "%s/oci-layout has no imageLayoutVersion", dir);
	return 0;
}

int bx_oci_layout_open_image(const char *dir, const char *tag, struct bx_oci_image *out, struct bx_error *err)
{
	struct bx_oci_image img = { 0 };
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ char *index = NULL;
	struct bx_oci_descriptor d;
	size_t index_len, hop;
	int r;

	memset(out, 0, sizeof(*out));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return bx_err_sys(err, -errno, "opening image layout %s", dir);
	r = check_oci_layout_file(dirfd, dir, err);
	if (r < 0)
		return r;
	r = read_layout_file(dirfd, dir, "index.json", BX_OCI_INDEX_MAX, &index, &index_len, err);
	if (r < 0)
		return r;
	r = bx_oci_index_find_tag(index, index_len, tag, &d, err);
	if (r < 0)
		return bx_err_wrap(err, r, "%s", dir);

	/* The tag names a manifest, or an image index naming one (one hop). */
	for (hop = 0;; hop++) {
		_cleanup_free_ char *blob = NULL;
		enum bx_oci_kind kind;
		size_t len;

		r = bx_oci_blob_read(dirfd, dir, &d, BX_OCI_MANIFEST_MAX, &blob, &len, err);
		if (r < 0)
			goto fail;
		if (!strcmp(d.media_type, BX_MT_OCI_INDEX) || !strcmp(d.media_type, BX_MT_DOCKER_LIST))
			kind = BX_OCI_KIND_INDEX;
		else if (!strcmp(d.media_type, BX_MT_OCI_MANIFEST) || !strcmp(d.media_type, BX_MT_DOCKER_MANIFEST))
			kind = BX_OCI_KIND_MANIFEST;
		else
			kind = bx_oci_kind_of(blob, len);
		if (kind == BX_OCI_KIND_MANIFEST) {
			r = bx_oci_manifest_parse(blob, len, &img.manifest, err);
			if (r < 0) {
				bx_err_wrap(err, r, "%s: %s", dir, d.digest);
				goto fail;
			}
			strcpy(img.manifest_digest, d.digest);
			img.manifest_json = TAKE_PTR(blob);
			img.manifest_len = len;
			break;
		}
		if (kind != BX_OCI_KIND_INDEX || hop > 0) {
			r = bx_err(err, -ENOTSUP, "%s: %s is not an image manifest (media type '%s')", dir, d.digest,
				   d.media_type);
			goto fail;
		}
		strcpy(img.index_digest, d.digest);
		r = bx_oci_index_find_platform(blob, len, &d, err);
		if (r < 0) {
			bx_err_wrap(err, r, "%s: tag '%s'", dir, tag);
			goto fail;
		}
		img.index_json = TAKE_PTR(blob);
		img.index_len = len;
	}

	r = bx_oci_blob_read(dirfd, dir, &img.manifest.config, BX_OCI_CONFIG_MAX, &img.config_json, &img.config_len,
			     err);
	if (r < 0)
		goto fail;
	r = bx_oci_config_parse(img.config_json, img.config_len, &img.config, err);
	if (r < 0) {
		bx_err_wrap(err, r, "%s: config %s", dir, img.manifest.config.digest);
		goto fail;
	}
	if (img.config.os && strcmp(img.config.os, "linux") != 0) {
		r = bx_err(err, -ENOTSUP, "%s: image is for os '%s', not linux", dir, img.config.os);
		goto fail;
	}
	if (img.config.architecture && strcmp(img.config.architecture, BX_OCI_HOST_ARCH) != 0) {
		r = bx_err(err, -ENOTSUP, "%s: image is for %s, this host runs %s", dir, img.config.architecture,
			   BX_OCI_HOST_ARCH);
		goto fail;
	}
	if (img.config.n_diff_ids && img.config.n_diff_ids != img.manifest.n_layers) {
		r = bx_err(err, -EINVAL, "%s: config lists %zu diff_ids but the manifest has %zu layers", dir,
			   img.config.n_diff_ids, img.manifest.n_layers);
		goto fail;
	}
	*out = img;
	return 0;
fail:
	bx_oci_image_free(&img);
	return r;
}
