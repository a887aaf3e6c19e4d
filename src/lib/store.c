/* The home's store (store.h): SQLite in WAL mode with a versioned schema.
 * Migrations run in one IMMEDIATE transaction, so concurrent openers apply
 * each one exactly once. One connection per runtime, guarded by a mutex so
 * handles of one runtime may be used from several threads. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

#define BUSY_TIMEOUT_MS 10000

struct bx_store {
	sqlite3 *db;
	pthread_mutex_t mu;
};

/* Index = schema version reached after applying it. */
static const char *const migrations[] = {
	NULL,
	"CREATE TABLE boxes ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT UNIQUE,"
	"  image TEXT NOT NULL,"
	"  config TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  exit_code INTEGER NOT NULL DEFAULT -1,"
	"  reason TEXT,"
	"  shim_pid INTEGER NOT NULL DEFAULT 0,"
	"  shim_starttime INTEGER NOT NULL DEFAULT 0,"
	"  detached INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL DEFAULT 0,"
	"  finished_at INTEGER NOT NULL DEFAULT 0);",
	/* 2: disk snapshots (snapshot.c) */
	"CREATE TABLE snapshots ("
	"  id TEXT PRIMARY KEY,"
	"  box_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  virtual_size INTEGER NOT NULL,"
	"  UNIQUE (box_id, name));",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])) - 1)

static const char *const state_names[] = {
	[BOXLITE_BOX_CONFIGURED] = "configured", [BOXLITE_BOX_STARTING] = "starting",
	[BOXLITE_BOX_RUNNING] = "running",       [BOXLITE_BOX_PAUSED] = "paused",
	[BOXLITE_BOX_STOPPING] = "stopping",     [BOXLITE_BOX_STOPPED] = "stopped",
	[BOXLITE_BOX_FAILED] = "failed",
};

const char *bx_state_name(enum boxlite_box_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

int bx_state_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (name && !strcmp(name, state_names[i]))
			return (int)i;
	return -1;
}

static int db_err(struct bx_store *st, struct bx_error *err, const char *what)
{
	int code = sqlite3_errcode(st->db);
	int rc = code == SQLITE_CONSTRAINT ? -EEXIST
		 : code == SQLITE_BUSY || code == SQLITE_LOCKED ? -EBUSY
		 : code == SQLITE_NOMEM ? -ENOMEM
		 : code == SQLITE_FULL ? -ENOSPC
		 : code == SQLITE_READONLY || code == SQLITE_PERM ? -EACCES
		 : -EIO;
	return bx_err(err, rc, "store: %s: %s", what, sqlite3_errmsg(st->db));
}

static int exec_sql(struct bx_store *st, const char *sql, struct bx_error *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(st, err, sql);
	return 0;
}

/* Switching a new database to WAL takes an exclusive lock, and SQLite
 * answers SQLITE_BUSY at once, without its busy handler, when a second
 * process opens the same new home at that moment: retry for as long as the
 * busy timeout would have waited. (Once set, WAL stays in the file.) */
static int set_wal(struct bx_store *st, struct bx_error *err)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	for (int waited_ms = 0;; waited_ms += 10) {
		int rc = sqlite3_exec(st->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);

		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
		if (waited_ms >= BUSY_TIMEOUT_MS)
			break;
		nanosleep(&pause, NULL);
	}
	return db_err(st, err, "PRAGMA journal_mode=WAL");
}

static int schema_version(struct bx_store *st, int *out, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT COALESCE(MAX(version), 0) FROM migrations", -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "reading the schema version");
	rc = sqlite3_step(q);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : db_err(st, err, "reading the schema version");
}

static int migrate(struct bx_store *st, struct bx_error *err)
{
	int version, rc;

	if ((rc = exec_sql(st, "BEGIN IMMEDIATE", err)) < 0)
		return rc;
	if ((rc = exec_sql(st, "CREATE TABLE IF NOT EXISTS migrations ("
			       " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)", err)) < 0 ||
	    (rc = schema_version(st, &version, err)) < 0)
		goto rollback;
	if (version > N_MIGRATIONS) {
		rc = bx_err(err, -EPROTONOSUPPORT,
			    "store: schema version %d is newer than this boxlite understands (%d)",
			    version, N_MIGRATIONS);
		goto rollback;
	}
	for (int v = version + 1; v <= N_MIGRATIONS; v++) {
		char sql[128];
		if ((rc = exec_sql(st, migrations[v], err)) < 0)
			goto rollback;
		snprintf(sql, sizeof(sql), "INSERT INTO migrations VALUES (%d, %lld)", v, (long long)time(NULL));
		if ((rc = exec_sql(st, sql, err)) < 0)
			goto rollback;
	}
	return exec_sql(st, "COMMIT", err);
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Creates the database file 0600 before SQLite sees it: configs may hold
 * secrets, and SQLite gives the -wal and -shm files the same mode. Never by
 * open()+close() of the file itself: closing any descriptor of it drops
 * every POSIX lock this process holds on it, those of its other SQLite
 * connections included; another process closing its last connection then
 * believes it is alone, checkpoints and deletes the WAL under our writers,
 * and their commits vanish. So the file is made under a private name,
 * closed, and linked into place. */
static int create_private(const char *path, struct bx_error *err)
{
	static unsigned seq; /* two threads may open one home at once */
	char tmp[4096 + 48];
	int fd;

	if (access(path, F_OK) == 0)
		return 0;
	if (bx_path_fmt(tmp, sizeof(tmp), "%s.new-%ld-%u", path, (long)getpid(),
			__atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED)) < 0)
		return bx_err(err, -ENAMETOOLONG, "store: home path too long");
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return bx_err_sys(err, -errno, "store: cannot create %s", path);
	close(fd);
	if (link(tmp, path) < 0 && errno != EEXIST) {
		int e = -errno;
		unlink(tmp);
		return bx_err_sys(err, e, "store: cannot create %s", path);
	}
	unlink(tmp);
	return 0;
}

int bx_store_open(const char *home, struct bx_store **out, struct bx_error *err)
{
	char path[4096];
	struct bx_store *st;
	int rc;

	*out = NULL;
	if (bx_path_fmt(path, sizeof(path), "%s/%s", home, BX_STORE_FILE) < 0)
		return bx_err(err, -ENAMETOOLONG, "store: home path too long");
	if ((rc = create_private(path, err)) < 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return bx_err(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&st->mu, NULL);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		rc = bx_err(err, -EIO, "store: cannot open %s: %s", path,
			    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	if ((rc = set_wal(st, err)) < 0 ||
	    (rc = exec_sql(st, "PRAGMA synchronous=NORMAL", err)) < 0 ||
	    /* Removed boxes leave no config (secrets) behind in free pages. */
	    (rc = exec_sql(st, "PRAGMA secure_delete=ON", err)) < 0 ||
	    (rc = exec_sql(st, "PRAGMA foreign_keys=ON", err)) < 0 ||
	    (rc = migrate(st, err)) < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	bx_store_close(st);
	return rc;
}

void bx_store_close(struct bx_store *st)
{
	if (!st)
		return;
	sqlite3_close_v2(st->db);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* ---- records */

static char *col_dup(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return t ? strdup((const char *)t) : NULL;
}

#define RECORD_COLUMNS \
	"id, name, image, config, state, exit_code, reason, shim_pid, shim_starttime, detached, " \
	"created_at, started_at, finished_at"

static int read_row(sqlite3_stmt *q, struct bx_box_record *r)
{
	const unsigned char *id = sqlite3_column_text(q, 0);
	int state = bx_state_parse((const char *)sqlite3_column_text(q, 4));

	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id ? (const char *)id : "");
	r->name = col_dup(q, 1);
	r->image = col_dup(q, 2);
	r->config = col_dup(q, 3);
	r->state = state < 0 ? BOXLITE_BOX_FAILED : (enum boxlite_box_state)state;
	r->exit_code = sqlite3_column_int(q, 5);
	r->reason = col_dup(q, 6);
	r->shim_pid = (pid_t)sqlite3_column_int(q, 7);
	r->shim_starttime = (uint64_t)sqlite3_column_int64(q, 8);
	r->detached = sqlite3_column_int(q, 9);
	r->created_at = (uint64_t)sqlite3_column_int64(q, 10);
	r->started_at = (uint64_t)sqlite3_column_int64(q, 11);
	r->finished_at = (uint64_t)sqlite3_column_int64(q, 12);
	if (!r->image || !r->config) {
		bx_box_record_clear(r);
		return -ENOMEM;
	}
	return 0;
}

void bx_box_record_clear(struct bx_box_record *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->image);
	if (r->config) {
		explicit_bzero(r->config, strlen(r->config));
		free(r->config);
	}
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

void bx_box_records_free(struct bx_box_record *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		bx_box_record_clear(&v[i]);
	free(v);
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	return src && !(*dst = strdup(src)) ? -ENOMEM : 0;
}

int bx_box_record_copy(struct bx_box_record *dst, const struct bx_box_record *src)
{
	*dst = *src;
	dst->name = dst->image = dst->config = dst->reason = NULL;
	if (dup_opt(&dst->name, src->name) < 0 || dup_opt(&dst->image, src->image) < 0 ||
	    dup_opt(&dst->config, src->config) < 0 || dup_opt(&dst->reason, src->reason) < 0) {
		bx_box_record_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

static void bind_text(sqlite3_stmt *q, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, i);
}

int bx_store_insert(struct bx_store *st, const struct bx_box_record *r, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, "INSERT INTO boxes (" RECORD_COLUMNS ") VALUES "
			       "(?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "preparing insert");
		goto out;
	}
	bind_text(q, 1, r->id);
	bind_text(q, 2, r->name);
	bind_text(q, 3, r->image);
	bind_text(q, 4, r->config);
	bind_text(q, 5, bx_state_name(r->state));
	sqlite3_bind_int(q, 6, r->exit_code);
	bind_text(q, 7, r->reason);
	sqlite3_bind_int(q, 8, r->shim_pid);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)r->shim_starttime);
	sqlite3_bind_int(q, 10, r->detached);
	sqlite3_bind_int64(q, 11, (sqlite3_int64)r->created_at);
	sqlite3_bind_int64(q, 12, (sqlite3_int64)r->started_at);
	sqlite3_bind_int64(q, 13, (sqlite3_int64)r->finished_at);
	if (sqlite3_step(q) != SQLITE_DONE) {
		if (sqlite3_errcode(st->db) == SQLITE_CONSTRAINT)
			rc = bx_err(err, -EEXIST, "the name \"%s\" is already in use by another box",
				    r->name ? r->name : r->id);
		else
			rc = db_err(st, err, "inserting a box");
	}
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* Runs q (bound) and collects every row. */
static int collect(struct bx_store *st, sqlite3_stmt *q, struct bx_box_record **out, size_t *n,
		   struct bx_error *err)
{
	struct bx_box_record *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			struct bx_box_record *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		if (read_row(q, &v[len]) < 0)
			goto oom;
		len++;
	}
	if (rc != SQLITE_DONE) {
		bx_box_records_free(v, len);
		return db_err(st, err, "reading boxes");
	}
	*out = v;
	*n = len;
	return 0;
oom:
	bx_box_records_free(v, len);
	return bx_err(err, -ENOMEM, "out of memory");
}

int bx_store_find(struct bx_store *st, const char *key, struct bx_box_record *out, struct bx_error *err)
{
	struct bx_box_record *v = NULL;
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!key || !*key)
		return bx_err(err, -EINVAL, "no box id or name given");
	pthread_mutex_lock(&st->mu);
	/* An exact id or name wins over a prefix; the prefix match is literal
	 * (ids are [0-9a-z], so substr() is exact, unlike LIKE with wildcards). */
	if (sqlite3_prepare_v2(st->db, "SELECT " RECORD_COLUMNS " FROM boxes WHERE id = ?1 OR name = ?1 "
			       "UNION ALL SELECT " RECORD_COLUMNS " FROM boxes WHERE substr(id, 1, length(?1)) = ?1 "
			       "AND id <> ?1 AND NOT EXISTS (SELECT 1 FROM boxes WHERE id = ?1 OR name = ?1) "
			       "LIMIT 6", -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "preparing lookup");
		goto out;
	}
	bind_text(q, 1, key);
	rc = collect(st, q, &v, &n, err);
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	if (rc < 0)
		return rc;
	if (n == 0)
		rc = bx_err(err, -ENOENT, "no such box: %s", key);
	else if (n > 1)
		rc = bx_err(err, -EINVAL, "\"%s\" is ambiguous: it matches %s, %s%s (give more of the id)", key,
			    v[0].id, v[1].id, n > 2 ? ", ..." : "");
	else
		*out = v[0], memset(&v[0], 0, sizeof(v[0]));
	bx_box_records_free(v, n);
	return rc;
}

int bx_store_get(struct bx_store *st, const char *id, struct bx_box_record *out, struct bx_error *err)
{
	struct bx_box_record *v = NULL;
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, "SELECT " RECORD_COLUMNS " FROM boxes WHERE id = ?", -1, &q, NULL) != SQLITE_OK)
		rc = db_err(st, err, "preparing lookup");
	else {
		bind_text(q, 1, id);
		rc = collect(st, q, &v, &n, err);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	if (rc == 0 && n == 0)
		rc = bx_err(err, -ENOENT, "box %s was removed", id);
	if (rc == 0)
		*out = v[0], memset(&v[0], 0, sizeof(v[0]));
	bx_box_records_free(v, n);
	return rc;
}

int bx_store_update_state(struct bx_store *st, const struct bx_box_record *r, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, "UPDATE boxes SET state=?, exit_code=?, reason=?, shim_pid=?, "
			       "shim_starttime=?, started_at=?, finished_at=? WHERE id=?", -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "preparing update");
		goto out;
	}
	bind_text(q, 1, bx_state_name(r->state));
	sqlite3_bind_int(q, 2, r->exit_code);
	bind_text(q, 3, r->reason);
	sqlite3_bind_int(q, 4, r->shim_pid);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)r->shim_starttime);
	sqlite3_bind_int64(q, 6, (sqlite3_int64)r->started_at);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)r->finished_at);
	bind_text(q, 8, r->id);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = db_err(st, err, "updating a box");
	else if (sqlite3_changes(st->db) == 0)
		rc = bx_err(err, -ENOENT, "box %s was removed", r->id);
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int bx_store_update_config(struct bx_store *st, const char *id, const char *config, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, "UPDATE boxes SET config=? WHERE id=?", -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "preparing update");
		goto out;
	}
	bind_text(q, 1, config);
	bind_text(q, 2, id);
	if (sqlite3_step(q) != SQLITE_DONE)
		rc = db_err(st, err, "updating a box's config");
	else if (sqlite3_changes(st->db) == 0)
		rc = bx_err(err, -ENOENT, "box %s was removed", id);
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int bx_store_delete(struct bx_store *st, const char *id, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	pthread_mutex_lock(&st->mu);
	for (int t = 0; t < 2 && rc == 0; t++) {
		/* The box's snapshots go with it, then the box. */
		if (sqlite3_prepare_v2(st->db, t ? "DELETE FROM boxes WHERE id=?" : "DELETE FROM snapshots WHERE box_id=?",
				       -1, &q, NULL) != SQLITE_OK)
			rc = db_err(st, err, "preparing delete");
		else {
			bind_text(q, 1, id);
			if (sqlite3_step(q) != SQLITE_DONE)
				rc = db_err(st, err, "deleting a box");
		}
		sqlite3_finalize(q);
		q = NULL;
	}
	/* Best effort: also drop the old page images (configs) from the WAL. */
	if (rc == 0)
		sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int bx_store_list(struct bx_store *st, struct bx_box_record **out, size_t *n, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, "SELECT " RECORD_COLUMNS " FROM boxes ORDER BY created_at DESC, id",
			       -1, &q, NULL) != SQLITE_OK)
		rc = db_err(st, err, "preparing list");
	else
		rc = collect(st, q, out, n, err);
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int bx_store_check(struct bx_store *st, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &q, NULL) != SQLITE_OK)
		rc = db_err(st, err, "integrity check");
	else if (sqlite3_step(q) != SQLITE_ROW)
		rc = db_err(st, err, "integrity check");
	else if (strcmp((const char *)sqlite3_column_text(q, 0), "ok"))
		rc = bx_err(err, -EIO, "store: integrity check: %s", sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* ---------------------------------------------------------------- snapshots */

int bx_store_snapshot_insert(struct bx_store *st, const struct bx_snapshot_record *r, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, "INSERT INTO snapshots (id, box_id, name, created_at, virtual_size) "
			       "VALUES (?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "preparing a snapshot insert");
	} else {
		bind_text(q, 1, r->id);
		bind_text(q, 2, r->box_id);
		bind_text(q, 3, r->name);
		sqlite3_bind_int64(q, 4, r->created_at);
		sqlite3_bind_int64(q, 5, (sqlite3_int64)r->virtual_size);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(st, err, "inserting a snapshot");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	return rc;
}

void bx_snapshot_records_free(struct bx_snapshot_record *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

/* Rows of box_id (and name, when not NULL), newest first. */
static int snapshot_query(struct bx_store *st, const char *box_id, const char *name, struct bx_snapshot_record **out,
			  size_t *n, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	size_t len = 0, cap = 0;
	struct bx_snapshot_record *v = NULL;
	int rc = 0, step;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, name ? "SELECT id, box_id, name, created_at, virtual_size FROM snapshots "
					      "WHERE box_id=? AND name=?"
					    : "SELECT id, box_id, name, created_at, virtual_size FROM snapshots "
					      "WHERE box_id=? ORDER BY created_at DESC, rowid DESC",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "preparing a snapshot query");
		goto out;
	}
	bind_text(q, 1, box_id);
	if (name)
		bind_text(q, 2, name);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		struct bx_snapshot_record *r;
		if (len == cap) {
			struct bx_snapshot_record *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));
			if (!nv) {
				rc = bx_err(err, -ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		r = &v[len];
		memset(r, 0, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", (const char *)sqlite3_column_text(q, 0));
		snprintf(r->box_id, sizeof(r->box_id), "%s", (const char *)sqlite3_column_text(q, 1));
		r->name = strdup((const char *)sqlite3_column_text(q, 2));
		r->created_at = sqlite3_column_int64(q, 3);
		r->virtual_size = (uint64_t)sqlite3_column_int64(q, 4);
		len++;
		if (!r->name) {
			rc = bx_err(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_err(st, err, "reading snapshots");
out:
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	if (rc < 0) {
		bx_snapshot_records_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return 0;
}

int bx_store_snapshot_list(struct bx_store *st, const char *box_id, struct bx_snapshot_record **out, size_t *n,
			   struct bx_error *err)
{
	return snapshot_query(st, box_id, NULL, out, n, err);
}

int bx_store_snapshot_find(struct bx_store *st, const char *box_id, const char *name, struct bx_snapshot_record *out,
			   struct bx_error *err)
{
	struct bx_snapshot_record *v;
	size_t n;
	int rc = snapshot_query(st, box_id, name, &v, &n, err);

	if (rc < 0)
		return rc;
	if (!n) {
		free(v);
		return bx_err(err, -ENOENT, "box %s has no snapshot named %s", box_id, name);
	}
	*out = v[0];
	v[0].name = NULL;
	bx_snapshot_records_free(v, n);
	return 0;
}

int bx_store_snapshot_delete(struct bx_store *st, const char *id, struct bx_error *err)
{
	sqlite3_stmt *q = NULL;
	int rc = 0;

	pthread_mutex_lock(&st->mu);
	if (sqlite3_prepare_v2(st->db, "DELETE FROM snapshots WHERE id=?", -1, &q, NULL) != SQLITE_OK)
		rc = db_err(st, err, "preparing a snapshot delete");
	else {
		bind_text(q, 1, id);
		if (sqlite3_step(q) != SQLITE_DONE)
			rc = db_err(st, err, "deleting a snapshot");
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->mu);
	return rc;
}
