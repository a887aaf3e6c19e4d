/* Small filesystem and process helpers for the library. */
#ifndef BOXLITE_LIB_FSUTIL_H
#define BOXLITE_LIB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* snprintf into a path buffer; -ENAMETOOLONG when it does not fit. */
int bx_path_fmt(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Creates path and its missing parents with mode (like mkdir -p). */
int bx_mkdir_p(const char *path, mode_t mode, struct bx_error *err);
/* Deletes dirfd/name recursively without following symlinks; a missing
 * name is not an error. Directories lacking u+rwx are opened up first. */
int bx_rm_rf_at(int dirfd, const char *name, struct bx_error *err);
/* fsync()s a directory (to persist renames in it). */
int bx_fsync_dir(int dirfd, const char *what, struct bx_error *err);
/* Writes data to dirfd/name atomically: a temp file in the same directory,
 * fsync, rename over name, fsync of the directory. */
int bx_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			     struct bx_error *err);

/* Finds an executable by name in $PATH, then /usr/sbin, /sbin, /usr/local/sbin
 * (e2fsprogs live in sbin, which non-root users often lack in PATH). */
int bx_find_tool(const char *name, char *out, size_t out_size, struct bx_error *err);
/* Runs argv[0] (an absolute path) with argv, no shell; stdin and stdout are
 * /dev/null and stderr is captured into errbuf (NUL-terminated, truncated to
 * errbuf_size). Returns 0 on exit status 0, else -EIO naming the tool and
 * quoting its stderr. */
int bx_run_tool(const char *const argv[], char *errbuf, size_t errbuf_size, struct bx_error *err);

#endif
