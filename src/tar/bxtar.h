/* bxtar: a small streaming tar (ustar + pax) writer and reader, and a
 * confined extractor, for copying files in and out of boxes. libc only: it
 * is compiled into the host library (glibc) and the guest agent (musl).
 *
 * Writer: regular files, directories (recursively), symlinks, fifos and
 * devices, with mode, numeric uid/gid, mtime (seconds). Names or link targets
 * over the ustar limits and sizes of 8 GiB or more use pax records. Hard
 * links are written as separate regular files.
 *
 * Reader: ustar, pax ('x'; 'g' ignored) and GNU long names ('L', 'K');
 * checksums verified; base-256 numbers accepted. Nothing a stream says can
 * make it allocate more than BXTAR_PAX_MAX.
 *
 * Extractor: every entry is created beneath one directory fd. Names with a
 * ".." component are refused; parents are opened with openat2
 * RESOLVE_BENEATH, so no symlink (from the stream or already on disk) can
 * make an entry land outside; the final component is never followed. */
#ifndef BOXLITE_BXTAR_H
#define BOXLITE_BXTAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BXTAR_NAME_MAX 4096
#define BXTAR_PAX_MAX (1024 * 1024)

struct bxtar_err {
	int code; /* negative errno */
	char msg[768];
};

/* Sink: writes all n bytes; 0 or -errno. Source: >0 bytes read, 0 at end, -errno. */
typedef int (*bxtar_write_fn)(void *ctx, const void *buf, size_t n);
typedef ssize_t (*bxtar_read_fn)(void *ctx, void *buf, size_t n);

/* Ready-made callbacks over a file descriptor: ctx points to the int fd.
 * Both retry on EINTR; write finishes short writes. */
int bxtar_fd_write(void *ctx, const void *buf, size_t n);
ssize_t bxtar_fd_read(void *ctx, void *buf, size_t n);

/* Writes `path` as a tar stream. Its entries are named after path's last
 * component ("dir", "dir/a", ...), or "." ("./a", ...) when path ends in
 * "/." or is "/" (the directory's contents, as docker cp). in_root: resolve
 * path inside rootfd as if it were "/" (openat2 RESOLVE_IN_ROOT); else
 * relative to rootfd as usual. A top-level symlink is sent as a symlink. */
int bxtar_create(int rootfd, int in_root, const char *path, bxtar_write_fn w, void *ctx,
		 struct bxtar_err *e);
#define BXTAR_FOLLOW 1u /* create: a top-level symlink is followed (its target sent under its name) */
/* bxtar_create with flags (BXTAR_FOLLOW). */
int bxtar_create_ex(int rootfd, int in_root, const char *path, unsigned flags, bxtar_write_fn w, void *ctx,
		    struct bxtar_err *e);

/* Where a copy lands, with docker cp's rules. single: the stream holds one
 * top entry (from bxtar_create): when dst is an existing directory it goes
 * into it, else it becomes dst (its parent must exist). !single: dst must be
 * an existing directory. Sets *dirfd (caller closes) and rename (the new
 * name of the top entry, or "" to keep names). */
int bxtar_target(int rootfd, int in_root, const char *dst, int single, int *dirfd,
		 char rename[256], struct bxtar_err *e);

#define BXTAR_CHOWN 1u        /* set ownership (errors ignored unless running as root) */
#define BXTAR_NO_OVERWRITE 2u /* keep what exists: an entry whose name is taken is skipped
			       * (directories are still merged into) */

/* Extracts a stream beneath dirfd. rename: "" or the top entry's new name. */
int bxtar_extract(int dirfd, const char *rename, bxtar_read_fn r, void *ctx, unsigned flags,
		  struct bxtar_err *e);

/* ---- the reader, for the extractor and the fuzzer */
struct bxtar_entry {
	char path[BXTAR_NAME_MAX + 1];
	char link[BXTAR_NAME_MAX + 1];
	char type; /* '0' file, '1' hard link, '2' symlink, '3' chr, '4' blk, '5' dir, '6' fifo */
	uint32_t mode;
	uint64_t uid, gid, size;
	int64_t mtime;
	uint32_t devmajor, devminor;
};

struct bxtar_reader {
	bxtar_read_fn read;
	void *ctx;
	uint64_t remain; /* data bytes of the current entry not read yet */
	uint32_t pad;    /* padding after them */
	int done;
};

void bxtar_reader_init(struct bxtar_reader *r, bxtar_read_fn fn, void *ctx);
/* 1 with *ent filled, 0 at the end of the archive, or -errno (e filled).
 * Skips what is left of the previous entry's data. */
int bxtar_next(struct bxtar_reader *r, struct bxtar_entry *ent, struct bxtar_err *e);
/* Reads the current entry's data: >0, 0 at its end, or -errno. */
ssize_t bxtar_data(struct bxtar_reader *r, void *buf, size_t n, struct bxtar_err *e);

#endif
