/* Export and import of boxes as .boxlite archives (box_archive.h,
 * docs/snapshots.md "Export and import").
 *
 * Export flattens the box's disk chain into one standalone qcow2 (qemu-img
 * convert) in a staging directory under <home>/tmp and writes the archive
 * (hashing the disk as it goes) to an unnamed file in the destination's directory that gets
 * its name only once whole: a kill -9 leaves no partial archive. A running
 * box is not stopped: its disk as it is now becomes a read-only base (the
 * live switch a clone makes, the guest's root frozen for the moment) and
 * that base is flattened while the box runs on.
 *
 * Import reads the archive as untrusted (box_archive.c) into a staging
 * directory, turns the manifest's box options into a config of ours, moves
 * the disk to <home>/bases/<id>.qcow2 and makes a new box over it, as a
 * clone is made. Staging directories carry their process's pid; those of
 * dead processes are removed at the next runtime open (bx_tmp_sweep). */
#include <archive.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "box_archive.h"
#include "box_impl.h"
#include "checkpoint.h"
#include "clone.h"
#include "disk.h"
#include "export.h"
#include "fsutil.h"
#include "lock.h"
#include "qcow2.h"
#include "remote.h"
#include "snapshot.h"

/* A fresh staging directory <home>/tmp/<what>.<pid>.XXXXXX. */
static int staging_dir(boxlite_runtime *rt, const char *what, char out[PATH_MAX], struct bx_error *err)
{
	snprintf(out, PATH_MAX, "%s/tmp", rt->home);
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return bx_err_sys(err, -errno, "%s", out);
	snprintf(out, PATH_MAX, "%s/tmp/%s.%d.XXXXXX", rt->home, what, (int)getpid());
	if (!mkdtemp(out))
		return bx_err_sys(err, -errno, "creating a staging directory in %s/tmp", rt->home);
	return 0;
}

void bx_tmp_sweep(boxlite_runtime *rt)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tmp", rt->home);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		const char *dot = strchr(de->d_name, '.');
		long pid = dot ? strtol(dot + 1, NULL, 10) : 0;
		if (de->d_name[0] != '.' && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			bx_rm_rf_at(dirfd(d), de->d_name, NULL);
	}
	closedir(d);
}

/* The image's digest, from the raw base at the bottom of the chain
 * (<home>/images/bases/<hex>.ext4). */
static int find_digest(void *ud, const char *file, int is_qcow2)
{
	const char *slash = strrchr(file, '/'), *dot;
	if (is_qcow2 || !slash || !(dot = strstr(slash, ".ext4")) || dot - slash - 1 != 64)
		return 0;
	snprintf(ud, 80, "sha256:%.64s", slash + 1);
	return 1;
}

struct manifest_ctx {
	const boxlite_box *box;
	const char *disk;
};

static char *manifest_json(void *ud, const char *sum, const char *state_sum)
{
	const boxlite_box *box = ((struct manifest_ctx *)ud)->box;
	const char *disk = ((struct manifest_ctx *)ud)->disk;
	json_t *opts = json_loads(box->rec->config, 0, NULL), *m;
	char digest[80] = "", when[32];
	time_t now = time(NULL);
	struct tm tm;
	char *text;

	bx_qcow2_walk(disk, find_digest, digest, NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	m = json_pack("{s:i, s:s?, s:s, s:s?, s:o?, s:s+, s:s, s:s+}", "version", BX_ARCHIVE_VERSION, "box_name",
		      box->name, "image", box->image, "image_digest", digest[0] ? digest : NULL, "box_options", opts,
		      "container_disk_checksum", "sha256:", sum, "exported_at", when, "exported_by", "boxlite ",
		      boxlite_version());
	if (m && state_sum && json_object_set_new(m, "checkpoint_checksum", json_pack("s+", "sha256:", state_sum)) < 0) {
		json_decref(m);
		m = NULL;
	}
	text = m ? json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(m);
	return text;
}

/* Writes out through fill(fd), and out appears whole or not at all. */
static int write_atomic(const char *out, int (*fill)(void *ud, int fd, struct bx_error *err), void *ud,
			struct bx_error *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32], proc[64];
	const char *slash = strrchr(out, '/');
	int fd, rc, named = 0;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - out) : 1, slash ? (slash == out ? "/" : out) : ".");
	snprintf(tmp, sizeof(tmp), "%s.partial.%d", out, (int)getpid());
	/* Unnamed until whole (O_TMPFILE); where the filesystem cannot, a
	 * .partial file that a kill -9 would leave. */
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0) {
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
			return bx_err_sys(err, -errno, "cannot write in %s", dir);
		named = 1;
	}
	if ((rc = fill(ud, fd, err)) == 0 && fsync(fd) < 0)
		rc = bx_err_sys(err, -errno, "writing %s", out);
	if (rc == 0 && !named) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		unlink(tmp);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0)
			rc = bx_err_sys(err, -errno, "naming %s", out);
		else
			named = 1;
	}
	close(fd);
	if (rc == 0 && rename(tmp, out) < 0)
		rc = bx_err_sys(err, -errno, "naming %s", out);
	if (rc < 0 && named)
		unlink(tmp);
	return rc;
}

static int out_path(const boxlite_box *box, const char *dest, char out[PATH_MAX], struct bx_error *err)
{
	struct stat st;

	if (!dest || !dest[0])
		return bx_err(err, -EINVAL, "no destination for the export");
	if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(out, PATH_MAX, "%s/%s.boxlite", dest, box->name ? box->name : "box");
	else
		snprintf(out, PATH_MAX, "%s", dest);
	return 0;
}

/* The archive of a local box, written to fd as it is made; with_state:
 * with its checkpoint (the box is stopped with one). */
static int export_local(boxlite_box *box, int fd, int with_state, struct bx_error *err)
{
	char stage[PATH_MAX] = "", flat[PATH_MAX + 16], src[PATH_MAX], id[9], state[PATH_MAX + 32];
	struct manifest_ctx mc = { box, src };
	int lock = -1, live, rc;

	if (bx_box_has_anonymous_volume(box))
		return bx_err(err, -ENOTSUP, "box %s has an anonymous volume: its data cannot be exported yet", box->id);
	if ((rc = bx_box_lock_for_disk(box, "export it", !with_state, &live, &lock, err)) < 0)
		return rc;
	bx_checkpoint_path(box, state, sizeof(state));
	if (with_state && !bx_checkpoint_exists(box)) {
		rc = bx_err(err, -ENOENT, "box %s has no checkpoint to export with it", box->id);
		goto out;
	}
	if ((rc = staging_dir(box->rt, "export", stage, err)) < 0)
		goto out;
	snprintf(flat, sizeof(flat), "%s/" BX_ARCHIVE_DISK, stage);
	if (live) { /* its disk as it is now, frozen into a base the box runs on over */
		if ((rc = bx_clone_make_base(box, 1, 0, id, src, err)) < 0)
			goto out;
		bx_clone_unmark(box->dir);
		bx_unlock(&lock);
	} else {
		bx_disk_top(box->dir, src, sizeof(src));
	}
	/* A stopped box stays locked (not started) while its disk is read. */
	rc = bx_disk_flatten(box->rt->qemu, src, flat, err);
	bx_unlock(&lock);
	if (rc == 0)
		rc = bx_archive_write(fd, flat, with_state ? state : NULL, manifest_json, &mc, err);
out:
	bx_unlock(&lock);
	if (stage[0])
		bx_rm_rf_at(AT_FDCWD, stage, NULL);
	return rc;
}

struct export_req {
	boxlite_box *box;
	int with_state;
};

static int export_fill(void *ud, int fd, struct bx_error *err)
{
	struct export_req *q = ud;
	return q->box->remote ? bx_remote_export(q->box, fd, err) : export_local(q->box, fd, q->with_state, err);
}

BX_EXPORT int boxlite_box_export_ex(boxlite_box *box, const char *dest, unsigned flags, char **written,
				    boxlite_error **errp)
{
	struct export_req q = { box, !!(flags & BOXLITE_EXPORT_WITH_STATE) };
	struct bx_error err = { 0 };
	boxlite_error *e = NULL;
	char out[PATH_MAX];
	int rc;

	if (written)
		*written = NULL;
	if (!box || (flags & ~BOXLITE_EXPORT_WITH_STATE) || (q.with_state && box->remote))
		return bx_error_export(box && box->remote ? -ENOTSUP : -EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((rc = out_path(box, dest, out, &err)) < 0)
		return bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp);
	/* With its state: a running box is checkpointed (and so stopped) first. */
	if (q.with_state && (rc = boxlite_box_checkpoint(box, &e)) < 0 && rc != -ENOTCONN) {
		if (errp)
			*errp = e;
		else
			boxlite_error_free(e);
		return rc;
	}
	boxlite_error_free(e);
	if ((rc = write_atomic(out, export_fill, &q, &err)) == 0 && written && !(*written = strdup(out)))
		rc = bx_err(&err, -ENOMEM, "out of memory");
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_box_export(boxlite_box *box, const char *dest, char **written, boxlite_error **errp)
{
	return boxlite_box_export_ex(box, dest, 0, written, errp);
}

BX_EXPORT int boxlite_box_export_fd(boxlite_box *box, int fd, boxlite_error **errp)
{
	struct export_req q = { box, 0 };
	struct bx_error err = { 0 };
	int rc = box && fd >= 0 ? export_fill(&q, fd, &err) : -EINVAL;
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

/* The new box's config: the manifest's box options in our form, or (v1/v2
 * archives) the defaults for its image. */
static char *import_config(boxlite_runtime *rt, const struct bx_archive_manifest *m, int untrusted,
			   struct bx_error *err)
{
	json_t *o = m->box_options ? json_deep_copy(m->box_options)
				   : json_pack("{s:s, s:i, s:i, s:i, s:b, s:b, s:b, s:[], s:s, s:[]}", "image", m->image,
					       "cpus", 1, "memory_mib", 512, "disk_size_gb", 0, "network", 1, "detach", 0,
					       "auto_remove", 0, "env", "workdir", "/", "command");
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL, *config;

	json_decref(o);
	if (!text) {
		bx_err(err, -ENOMEM, "out of memory");
		return NULL;
	}
	config = bx_box_config_normalize(rt, text, untrusted, err);
	free(text);
	return config;
}

static int import_local(boxlite_runtime *rt, int fd, const char *name, unsigned flags, boxlite_box **out,
			struct bx_error *err)
{
	struct bx_archive_manifest m = { 0 };
	struct bx_box_record rec = { 0 };
	char stage[PATH_MAX] = "", disk[PATH_MAX + 16], bases[PATH_MAX], base[PATH_MAX], id[9];
	struct archive *a = NULL;
	uint64_t size = 0;
	int dirfd = -1, rc;
	json_t *img;

	if ((rc = staging_dir(rt, "import", stage, err)) < 0)
		goto out;
	if ((dirfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = bx_err_sys(err, -errno, "%s", stage);
		goto out;
	}
	if (!(a = bx_archive_reader_new()) || archive_read_open_fd(a, fd, 256 * 1024) != ARCHIVE_OK) {
		rc = bx_err(err, -EINVAL, "not a .boxlite archive%s%s", a ? ": " : "", a ? archive_error_string(a) : "");
		goto out;
	}
	if ((rc = bx_archive_read(a, dirfd, &m, err)) < 0)
		goto out;
	snprintf(disk, sizeof(disk), "%s/" BX_ARCHIVE_DISK, stage);
	if ((rc = bx_qcow2_read_header(disk, &size, base, sizeof(base), err)) < 0)
		goto out;
	if (!(rec.config = import_config(rt, &m, flags & BOXLITE_IMPORT_UNTRUSTED, err))) {
		rc = err->code ? err->code : -ENOMEM;
		goto out;
	}
	img = json_object_get(m.box_options, "image");
	rec.image = json_is_string(img) ? (char *)json_string_value(img) : m.image;
	/* Its disk becomes a base, as a clone's (collected with its last box). */
	bx_snapshot_new_id(id);
	snprintf(bases, sizeof(bases), "%s/bases", rt->home);
	if (mkdir(bases, 0755) < 0 && errno != EEXIST) {
		rc = bx_err_sys(err, -errno, "%s", bases);
		goto out;
	}
	snprintf(base, sizeof(base), "%s/%s.qcow2", bases, id);
	chmod(disk, 0444);
	if (rename(disk, base) < 0) {
		rc = bx_err_sys(err, -errno, "moving the imported disk to %s", base);
		goto out;
	}
	if ((rc = bx_box_create_from(rt, &rec, name, base, size, out, err)) < 0) {
		chmod(base, 0644);
		unlink(base);
	} else if (m.has_state && !(flags & BOXLITE_IMPORT_UNTRUSTED)) {
		/* Its checkpoint: the first start resumes it. From someone else,
		 * a QEMU state stream is not loaded (it is QEMU's to parse). */
		char src[PATH_MAX + 32], dst[PATH_MAX + 32];
		snprintf(src, sizeof(src), "%s/" BX_ARCHIVE_STATE, stage);
		bx_checkpoint_path(*out, dst, sizeof(dst));
		if (rename(src, dst) < 0)
			bx_checkpoint_drop(*out, strerror(errno));
	}
out:
	if (a)
		archive_read_free(a);
	if (dirfd >= 0)
		close(dirfd);
	if (stage[0])
		bx_rm_rf_at(AT_FDCWD, stage, NULL);
	bx_archive_manifest_free(&m);
	free(rec.config);
	return rc;
}

static int import_any(boxlite_runtime *rt, int fd, const char *name, unsigned flags, boxlite_box **out,
		      struct bx_error *err)
{
	if (flags & ~BOXLITE_IMPORT_UNTRUSTED)
		return bx_err(err, -EINVAL, "unknown import flags");
	return rt->remote ? bx_remote_import(rt, fd, name, out, err) : import_local(rt, fd, name, flags, out, err);
}

BX_EXPORT int boxlite_runtime_import_box(boxlite_runtime *rt, const char *path, const char *name, unsigned flags,
					 boxlite_box **out, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	int fd, rc;

	if (out)
		*out = NULL;
	if (!rt || !path || !out)
		return bx_error_export(-EINVAL, NULL, BOXLITE_ORIGIN_RUNTIME, errp);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return bx_error_export(bx_err_sys(&err, -errno, "%s", path), &err, BOXLITE_ORIGIN_RUNTIME, errp);
	rc = import_any(rt, fd, name, flags, out, &err);
	close(fd);
	if (rc < 0 && err.code == -EINVAL && strncmp(err.msg, path, strlen(path))) {
		char msg[sizeof(err.msg)];
		snprintf(msg, sizeof(msg), "%s: %s", path, err.msg);
		snprintf(err.msg, sizeof(err.msg), "%s", msg);
	}
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_runtime_import_box_fd(boxlite_runtime *rt, int fd, const char *name, unsigned flags,
					    boxlite_box **out, boxlite_error **errp)
{
	struct bx_error err = { 0 };
	int rc;

	if (out)
		*out = NULL;
	rc = rt && out && fd >= 0 ? import_any(rt, fd, name, flags, out, &err) : -EINVAL;
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}
