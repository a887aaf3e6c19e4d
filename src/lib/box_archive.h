/* The .boxlite box archive (docs/snapshots.md, "Export and import"): a tar,
 * zstd-compressed, of disk.qcow2, a standalone qcow2 of the box's disk,
 * and manifest.json (last: it carries the disk's checksum, computed as the
 * disk is written). The reference system's format: its manifest
 * fields and version numbers, so archives move both ways where the box
 * options mean the same.
 *
 * Reading is for untrusted bytes: only those two regular members, once
 * each, bounded sizes, the disk written under a directory fd by a fixed
 * name (no member name ever becomes a path), its sha256 checked against the
 * manifest, and a disk that refers to any other file (backing file,
 * external data file) refused. fuzz/fuzz_box_archive.c drives it. */
#ifndef BOXLITE_LIB_ARCHIVE_H
#define BOXLITE_LIB_ARCHIVE_H

#include <jansson.h>
#include <stdint.h>

#include "error.h"

struct archive;

/* 5: box_options with ports (the reference's numbering; 1: plain tar without
 * checksums, 2: zstd and checksums, 3: box_options, 4: capabilities). */
#define BX_ARCHIVE_VERSION 5
#define BX_ARCHIVE_MANIFEST_MAX (1024 * 1024)
#define BX_ARCHIVE_MANIFEST "manifest.json"
#define BX_ARCHIVE_DISK "disk.qcow2"
/* Optional (boxlite's): the box's checkpoint (docs/checkpoints.md), for a
 * box exported with its state; checked like the disk. */
#define BX_ARCHIVE_STATE "checkpoint.state"

struct bx_archive_manifest {
	int version;
	char *box_name;        /* NULL: none */
	char *image;           /* the image reference the box was made from */
	char *image_digest;    /* NULL: not given */
	json_t *box_options;   /* the box's config (a JSON object), NULL in v1/v2 */
	char disk_sha256[65];  /* hex; "" when the archive gives none */
	char state_sha256[65]; /* hex of checkpoint.state; "" when the archive has none */
	int has_state;         /* bx_archive_read: checkpoint.state was written beside the disk */
};

/* Parses and checks a manifest. -EINVAL (malformed, with what is wrong),
 * -ENOTSUP (a version newer than BX_ARCHIVE_VERSION). */
int bx_archive_manifest_parse(const char *text, size_t len, struct bx_archive_manifest *m, struct bx_error *err);
void bx_archive_manifest_free(struct bx_archive_manifest *m);

/* Checks the qcow2 header of an archived disk: standalone (no backing
 * file, no external data file), not marked corrupt, no unknown
 * incompatible feature, a virtual size in range. Sets *size. */
int bx_archive_check_disk(int fd, uint64_t *size, struct bx_error *err);

/* Reads an archive from a (opened for reading by the caller: zstd or plain
 * tar): the manifest into *m, the disk into dirfd/disk.qcow2 (created, never
 * overwritten), checked as above, and a checkpoint, when there is one (its
 * checksum in the manifest is then required), into dirfd/checkpoint.state.
 * On failure the files are removed. */
int bx_archive_read(struct archive *a, int dirfd, struct bx_archive_manifest *m, struct bx_error *err);
/* Opens a reader for a .boxlite stream: zstd or plain tar. */
struct archive *bx_archive_reader_new(void);

/* Writes an archive to fd, in order (a pipe will do): the file disk_path
 * and, when state_path is not NULL, that checkpoint, each hashed as it
 * goes, then the manifest that manifest(ud, the disk's sha256, the state's
 * or NULL; hex) returns (malloc'd JSON text; NULL: out of memory). Readers
 * take the members in any order (the reference's extracts all, then
 * reads). */
int bx_archive_write(int fd, const char *disk_path, const char *state_path,
		     char *(*manifest)(void *ud, const char *disk_sha256, const char *state_sha256), void *ud,
		     struct bx_error *err);

#endif
