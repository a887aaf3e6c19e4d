/* docker-archive and oci-archive files → the image store (boxlite load). */
#include "load_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "image_store.h"
#include "oci_layout.h"
#include "reference.h"
#include "strv.h"
#include "tar_path.h"
#include "work_dir.h"

#define ARCHIVE_ENTRIES_MAX 100000

/* Creates the directories of rel (a normalized path) under root. */
static int mkdirs_for(const char *root, const char *rel, struct bx_error *err)
{
	char path[PATH_MAX];
	char *slash;

	if (bx_path_fmt(path, sizeof(path), "%s/%s", root, rel) < 0)
		return bx_err(err, -ENAMETOOLONG, "archive entry %s: path too long", rel);
	slash = strrchr(path, '/');
	if (!slash || slash <= path + strlen(root))
		return 0;
	*slash = '\0';
	return bx_mkdir_p(path, 0755, err);
}

/* Unpacks regular files and directories of the tar at path into root. */
static int unpack(const char *path, const char *root, struct bx_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char rel[PATH_MAX], dst[PATH_MAX];
	size_t entries = 0;
	int rc = 0, ar;

	if (!a)
		return bx_err(err, -ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		rc = bx_err(err, access(path, R_OK) < 0 ? -errno : -EINVAL, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		mode_t type = archive_entry_filetype(e);
		_cleanup_close_ int fd = -1;
		const void *buf;
		size_t len;
		int64_t off;

		if (++entries > ARCHIVE_ENTRIES_MAX) {
			rc = bx_err(err, -EINVAL, "%s: too many entries for an image archive", path);
			goto out;
		}
		rc = bx_tarpath_normalize(archive_entry_pathname(e), rel, sizeof(rel), err);
		if (rc < 0) {
			bx_err_wrap(err, rc, "%s", path);
			goto out;
		}
		if (!rel[0] || (type != AE_IFREG && type != AE_IFDIR) || archive_entry_hardlink(e))
			continue; /* links (docker's legacy <id>/layer.tar) are not needed */
		rc = mkdirs_for(root, rel, err);
		if (rc < 0)
			goto out;
		bx_path_fmt(dst, sizeof(dst), "%s/%s", root, rel);
		if (type == AE_IFDIR) {
			if (mkdir(dst, 0755) < 0 && errno != EEXIST) {
				rc = bx_err_sys(err, -errno, "creating %s", dst);
				goto out;
			}
			continue;
		}
		fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			rc = bx_err_sys(err, -errno, "creating %s", dst);
			goto out;
		}
		while ((ar = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			if (pwrite(fd, buf, len, off) != (ssize_t)len) {
				rc = bx_err_sys(err, -errno, "writing %s", dst);
				goto out;
			}
		}
		if (ar != ARCHIVE_EOF) {
			rc = bx_err(err, -EINVAL, "%s: %s", path, archive_error_string(a));
			goto out;
		}
	}
	if (ar != ARCHIVE_EOF)
		rc = bx_err(err, -EINVAL, "%s: not a tar archive: %s", path, archive_error_string(a));
out:
	archive_read_free(a);
	return rc;
}

/* sha256 of the file open at fd. */
static int hash_file(int fd, char digest[BX_DIGEST_MAX], struct bx_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sum[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char buf[65536];
	ssize_t k;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return bx_err(err, -ENOMEM, "out of memory");
	}
	while ((k = read(fd, buf, sizeof(buf))) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			EVP_MD_CTX_free(md);
			return bx_err_sys(err, -errno, "reading an archive member");
		}
		EVP_DigestUpdate(md, buf, (size_t)k);
	}
	EVP_DigestFinal_ex(md, sum, &n);
	EVP_MD_CTX_free(md);
	memcpy(digest, "sha256:", 7);
	for (unsigned i = 0; i < 32 && i < n; i++)
		snprintf(digest + 7 + 2 * i, 3, "%02x", sum[i]);
	return 0;
}

/* Hashes root/rel and links it as layout/blobs/sha256/<hex>. */
static int add_blob(const char *root, const char *rel, const char *layout, char digest[BX_DIGEST_MAX], int64_t *size,
		    unsigned char magic[4], struct bx_error *err)
{
	char norm[PATH_MAX], file[PATH_MAX], dst[PATH_MAX];
	_cleanup_close_ int fd = -1;
	struct stat st;
	int rc;

	rc = bx_tarpath_normalize(rel, norm, sizeof(norm), err);
	if (rc < 0)
		return rc;
	bx_path_fmt(file, sizeof(file), "%s/%s", root, norm);
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return bx_err(err, -EINVAL, "the archive lists %s, which it does not hold as a file", rel);
	memset(magic, 0, 4);
	if (magic && pread(fd, magic, 4, 0) < 0)
		return bx_err_sys(err, -errno, "reading %s", rel);
	rc = hash_file(fd, digest, err);
	if (rc < 0)
		return rc;
	*size = st.st_size;
	bx_path_fmt(dst, sizeof(dst), "%s/blobs/sha256/%s", layout, digest + 7);
	if (link(file, dst) < 0 && errno != EEXIST)
		return bx_err_sys(err, -errno, "linking %s", rel);
	return 0;
}

static const char *layer_media_type(const unsigned char m[4])
{
	if (m[0] == 0x1f && m[1] == 0x8b)
		return "application/vnd.oci.image.layer.v1.tar+gzip";
	if (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	return "application/vnd.oci.image.layer.v1.tar";
}

static int write_text(const char *dir, const char *name, const char *text, struct bx_error *err)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return bx_err_sys(err, -errno, "opening %s", dir);
	return bx_write_file_atomic(dfd, name, text, strlen(text), 0644, err);
}

static int add_ref(char ***refs, const char *ref, struct bx_error *err)
{
	const char *one[] = { ref, NULL };
	char **n = bx_strv_concat((const char *const *)*refs, one);

	if (!n)
		return bx_err(err, -ENOMEM, "out of memory");
	bx_strv_free(*refs);
	*refs = n;
	return 0;
}

/* Canonical form of a name from an archive or the command line. */
static int canonical(const char *name, char *out, size_t size, struct bx_error *err)
{
	struct bx_image_ref r;
	int rc = bx_image_ref_parse(name, NULL, &r, err);

	if (rc < 0)
		return rc;
	return bx_image_ref_format(&r, out, size) < 0 ? bx_err(err, -EINVAL, "name too long: %s", name) : 0;
}

/* docker-archive: one OCI layout per manifest.json entry, imported under each name. */
static int load_docker(const char *home, const char *root, const char *work, const char *name, char ***refs,
		       struct bx_error *err)
{
	char path[PATH_MAX], layout[PATH_MAX], cdigest[BX_DIGEST_MAX], mdigest[BX_DIGEST_MAX],
		ref[BX_REF_STRING_MAX];
	json_error_t je;
	json_t *top;
	size_t i, j;
	int rc = 0;

	bx_path_fmt(path, sizeof(path), "%s/manifest.json", root);
	top = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_array(top) || json_array_size(top) == 0) {
		json_decref(top);
		return bx_err(err, -EINVAL, "docker-archive manifest.json is not a non-empty array");
	}
	for (i = 0; rc >= 0 && i < json_array_size(top); i++) {
		json_t *ent = json_array_get(top, i), *layers = json_object_get(ent, "Layers"),
		       *tags = json_object_get(ent, "RepoTags"), *mf = NULL, *ls = json_array();
		const char *cfg = json_string_value(json_object_get(ent, "Config"));
		unsigned char magic[4];
		int64_t csize;
		_cleanup_free_ char *mtext = NULL, *itext = NULL;

		if (!cfg || !json_is_array(layers) || json_array_size(layers) > BX_OCI_LAYERS_MAX || !ls) {
			json_decref(ls);
			rc = bx_err(err, -EINVAL, "docker-archive manifest.json entry %zu lacks Config or Layers", i);
			break;
		}
		bx_path_fmt(layout, sizeof(layout), "%s/layout%zu", work, i);
		bx_path_fmt(path, sizeof(path), "%s/blobs/sha256", layout);
		rc = bx_mkdir_p(path, 0755, err);
		if (rc >= 0)
			rc = add_blob(root, cfg, layout, cdigest, &csize, magic, err);
		for (j = 0; rc >= 0 && j < json_array_size(layers); j++) {
			const char *l = json_string_value(json_array_get(layers, j));
			char ldigest[BX_DIGEST_MAX];
			int64_t lsize;
			if (!l) {
				rc = bx_err(err, -EINVAL, "docker-archive: a layer name is not a string");
				break;
			}
			rc = add_blob(root, l, layout, ldigest, &lsize, magic, err);
			if (rc >= 0)
				json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType", layer_media_type(magic),
								    "digest", ldigest, "size", (json_int_t)lsize));
		}
		if (rc < 0) {
			json_decref(ls);
			break;
		}
		mf = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType", BX_MT_OCI_MANIFEST,
			       "config", "mediaType", BX_MT_OCI_CONFIG, "digest", cdigest, "size", (json_int_t)csize,
			       "layers", ls);
		mtext = mf ? json_dumps(mf, JSON_COMPACT) : NULL;
		json_decref(mf);
		if (!mtext) {
			rc = bx_err(err, -ENOMEM, "out of memory");
			break;
		}
		bx_sha256_digest(mtext, strlen(mtext), mdigest);
		bx_path_fmt(path, sizeof(path), "%s/blobs/sha256", layout);
		rc = write_text(path, mdigest + 7, mtext, err);
		if (rc < 0)
			break;
		if (asprintf(&itext,
			     "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
			     "\"annotations\":{\"org.opencontainers.image.ref.name\":\"load\"}}]}",
			     BX_MT_OCI_MANIFEST, mdigest, strlen(mtext)) < 0) {
			rc = bx_err(err, -ENOMEM, "out of memory");
			break;
		}
		rc = write_text(layout, "index.json", itext, err);
		if (rc >= 0)
			rc = write_text(layout, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", err);
		for (j = 0; rc >= 0 && j < (name ? 1 : json_array_size(tags) ? json_array_size(tags) : 1); j++) {
			const char *t = name ? name : json_string_value(json_array_get(tags, j));
			char fallback[64];
			struct bx_image img = { 0 };
			if (!t) {
				snprintf(fallback, sizeof(fallback), "localhost/loaded:%.12s", cdigest + 7);
				t = fallback;
			}
			rc = canonical(t, ref, sizeof(ref), err);
			if (rc >= 0)
				rc = bx_image_import_layout(home, layout, "load", ref, &img, err);
			bx_image_free(&img);
			if (rc >= 0)
				rc = add_ref(refs, ref, err);
		}
	}
	json_decref(top);
	return rc;
}

/* oci-archive: import each tagged manifest of the layout. */
static int load_oci(const char *home, const char *root, const char *stem, const char *name, char ***refs,
		    struct bx_error *err)
{
	char path[PATH_MAX], ref[BX_REF_STRING_MAX];
	json_t *top, *ms;
	size_t i, loaded = 0;
	int rc = 0;

	bx_path_fmt(path, sizeof(path), "%s/index.json", root);
	top = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	ms = json_object_get(top, "manifests");
	for (i = 0; rc >= 0 && i < json_array_size(ms); i++) {
		json_t *ann = json_object_get(json_array_get(ms, i), "annotations");
		const char *tag = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
		const char *full = json_string_value(json_object_get(ann, "io.containerd.image.name"));
		char want[BX_REF_STRING_MAX];
		struct bx_image img = { 0 };

		if (!tag)
			continue;
		if (name)
			snprintf(want, sizeof(want), "%s", name);
		else if (full)
			snprintf(want, sizeof(want), "%s", full);
		else if (strchr(tag, '/') || strchr(tag, '@'))
			snprintf(want, sizeof(want), "%s", tag);
		else
			snprintf(want, sizeof(want), "localhost/%s:%s", stem, tag);
		rc = canonical(want, ref, sizeof(ref), err);
		if (rc >= 0)
			rc = bx_image_import_layout(home, root, tag, ref, &img, err);
		bx_image_free(&img);
		if (rc >= 0)
			rc = add_ref(refs, ref, err);
		loaded++;
		if (name)
			break;
	}
	json_decref(top);
	if (rc >= 0 && loaded == 0)
		rc = bx_err(err, -EINVAL, "the OCI layout in the archive tags no image (no org.opencontainers.image.ref.name)");
	return rc;
}

int bx_image_load_archive(const char *home, const char *path, const char *name, char ***refs, struct bx_error *err)
{
	char images[PATH_MAX], work[PATH_MAX], root[PATH_MAX], stem[NAME_MAX + 1], probe[PATH_MAX];
	const char *base;
	int fd = -1, rc;

	*refs = NULL;
	if (access(path, R_OK) < 0)
		return bx_err_sys(err, -errno, "%s", path);
	if (home[0] == '/') {
		bx_path_fmt(images, sizeof(images), "%s/images", home);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return bx_err_sys(err, -errno, "resolving home %s", home);
		bx_path_fmt(images, sizeof(images), "%s/%s/images", cwd, home);
	}
	bx_path_fmt(work, sizeof(work), "%s/tmp", images);
	rc = bx_mkdir_p(work, 0755, err);
	if (rc < 0)
		return rc;
	fd = bx_image_work_dir(images, "load", work, sizeof(work), err);
	if (fd < 0)
		return fd;
	bx_path_fmt(root, sizeof(root), "%s/x", work);
	rc = bx_mkdir_p(root, 0755, err);
	if (rc >= 0)
		rc = unpack(path, root, err);
	if (rc < 0)
		goto out;
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	snprintf(stem, sizeof(stem), "%.*s", (int)strcspn(base, "."), base);
	for (char *c = stem; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			*c = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : '-';
	if (!stem[0] || stem[0] == '-' || stem[0] == '_')
		snprintf(stem, sizeof(stem), "loaded");
	bx_path_fmt(probe, sizeof(probe), "%s/manifest.json", root);
	if (access(probe, F_OK) == 0) {
		rc = load_docker(home, root, work, name, refs, err);
	} else {
		bx_path_fmt(probe, sizeof(probe), "%s/index.json", root);
		if (access(probe, F_OK) == 0)
			rc = load_oci(home, root, stem, name, refs, err);
		else
			rc = bx_err(err, -EINVAL, "%s is neither a docker-archive (manifest.json) nor an oci-archive (index.json)",
				    path);
	}
out:
	if (rc < 0) {
		bx_strv_free(*refs);
		*refs = NULL;
		bx_err_wrap(err, rc, "loading %s", path);
	}
	bx_image_work_dir_remove(work, fd);
	return rc;
}
