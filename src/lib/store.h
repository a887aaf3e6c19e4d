/* The home's store: <home>/boxlite.db (SQLite, WAL), one row per box.
 * Every write is one transaction, so a kill -9 at any moment leaves either
 * the old or the new row. Many processes share the file: busy_timeout
 * makes a writer wait for another instead of failing. */
#ifndef BOXLITE_LIB_STORE_H
#define BOXLITE_LIB_STORE_H

#include <stdint.h>
#include <sys/types.h>

#include "boxlite.h"
#include "error.h"

#define BX_STORE_FILE "boxlite.db"
#define BX_STORE_SCHEMA_VERSION 1

struct bx_store;

struct bx_box_record {
	char id[13];
	char *name;   /* NULL: none */
	char *image;
	char *config; /* JSON (may hold secrets: env values) */
	char *reason; /* NULL: none */
	enum boxlite_box_state state;
	int exit_code; /* -1: none */
	pid_t shim_pid; /* 0: none */
	uint64_t shim_starttime;
	int detached;
	uint64_t created_at, started_at, finished_at;
};

int bx_store_open(const char *home, struct bx_store **out, struct bx_error *err);
void bx_store_close(struct bx_store *st);

/* -EEXIST when the id or the name is taken. */
int bx_store_insert(struct bx_store *st, const struct bx_box_record *r, struct bx_error *err);
/* By exact id, exact name, or unique id prefix. -ENOENT; -EINVAL when the
 * prefix is ambiguous (the message lists the matches). */
int bx_store_find(struct bx_store *st, const char *id_or_name, struct bx_box_record *out,
		  struct bx_error *err);
/* By exact id. -ENOENT. */
int bx_store_get(struct bx_store *st, const char *id, struct bx_box_record *out, struct bx_error *err);
/* Writes the state columns (state, exit code, reason, shim pid/starttime,
 * started/finished). -ENOENT when the row is gone. */
int bx_store_update_state(struct bx_store *st, const struct bx_box_record *r, struct bx_error *err);
/* Replaces the config document (ports published at run time). -ENOENT. */
int bx_store_update_config(struct bx_store *st, const char *id, const char *config, struct bx_error *err);
/* Deleting a missing row is not an error. */
int bx_store_delete(struct bx_store *st, const char *id, struct bx_error *err);
/* Every row, newest first. */
int bx_store_list(struct bx_store *st, struct bx_box_record **out, size_t *n, struct bx_error *err);
/* PRAGMA integrity_check: 0 when "ok". */
int bx_store_check(struct bx_store *st, struct bx_error *err);

/* Disk snapshots of a box (snapshot.c): rows, the files being the box's. */
struct bx_snapshot_record {
	char id[9];
	char box_id[13];
	char *name;
	int64_t created_at;     /* seconds since the epoch */
	uint64_t virtual_size;  /* the disk's size in bytes */
};
/* -EEXIST when the box has a snapshot of that name. */
int bx_store_snapshot_insert(struct bx_store *st, const struct bx_snapshot_record *r, struct bx_error *err);
/* Newest first. */
int bx_store_snapshot_list(struct bx_store *st, const char *box_id, struct bx_snapshot_record **out, size_t *n,
			   struct bx_error *err);
/* -ENOENT when there is none. out->name is malloc'd. */
int bx_store_snapshot_find(struct bx_store *st, const char *box_id, const char *name, struct bx_snapshot_record *out,
			   struct bx_error *err);
int bx_store_snapshot_delete(struct bx_store *st, const char *id, struct bx_error *err);
void bx_snapshot_records_free(struct bx_snapshot_record *v, size_t n);

void bx_box_record_clear(struct bx_box_record *r);
void bx_box_records_free(struct bx_box_record *v, size_t n);
/* Deep copy of the strings. -ENOMEM. */
int bx_box_record_copy(struct bx_box_record *dst, const struct bx_box_record *src);

const char *bx_state_name(enum boxlite_box_state s);
/* -1 when unknown. */
int bx_state_parse(const char *name);

#endif
