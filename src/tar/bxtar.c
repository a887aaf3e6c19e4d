/* bxtar: see bxtar.h. */
#include "bxtar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define BLK 512
#define MAX_DEPTH 256
#define IO_CHUNK (64 * 1024)

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#endif

struct bx_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

static int openat2_(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct bx_open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve };
	long fd;

	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return (int)fd;
}

static int __attribute__((format(printf, 3, 4))) fail(struct bxtar_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e && !e->code) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Opens path inside (in_root) or relative to rootfd. */
static int open_in(int rootfd, int in_root, const char *path, int flags)
{
	if (in_root)
		return openat2_(rootfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	return openat(rootfd, path, flags | O_CLOEXEC);
}

/* ================================================================ writer */

struct wctx {
	bxtar_write_fn w;
	void *ctx;
	struct bxtar_err *e;
	uint8_t buf[IO_CHUNK];
};

static void octal(char *field, size_t width, uint64_t v)
{
	/* width includes the terminating NUL; v fits (fits_octal) */
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (char)('0' + (v & 7));
}

static int fits_octal(uint64_t v, size_t width)
{
	return v < (1ull << (3 * (width - 1)));
}

static void pax_add(char *pax, size_t *len, size_t cap, const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 3; /* ' ' '=' '\n' */
	size_t digits = 1, total;

	for (;;) {
		total = body + digits;
		size_t d = snprintf(NULL, 0, "%zu", total);
		if (d == digits)
			break;
		digits = d;
	}
	if (*len + total < cap)
		*len += (size_t)snprintf(pax + *len, cap - *len, "%zu %s=%s\n", total, key, val);
}

static int put(struct wctx *w, const void *b, size_t n)
{
	int rc = w->w(w->ctx, b, n);

	return rc < 0 ? fail(w->e, rc, "writing the tar stream: %s", strerror(-rc)) : 0;
}

static void checksum(uint8_t h[BLK])
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < BLK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void fill_header(uint8_t h[BLK], const char *name, const char *link, char type, uint32_t mode,
			uint64_t uid, uint64_t gid, uint64_t size, int64_t mtime, uint32_t maj, uint32_t min)
{
	size_t nl = strlen(name);

	memset(h, 0, BLK);
	if (nl <= 100) {
		memcpy(h, name, nl);
	} else {
		/* ustar split: prefix (<= 155) '/' name (<= 100) */
		const char *slash = NULL;
		for (const char *p = name + nl - 1; p > name; p--)
			if (*p == '/' && (size_t)(name + nl - p - 1) <= 100 && p - name <= 155) {
				slash = p;
				break;
			}
		if (slash) {
			memcpy(h + 345, name, (size_t)(slash - name));
			memcpy(h, slash + 1, nl - (size_t)(slash - name) - 1);
		} else {
			memcpy(h, name, 100); /* the pax path record holds the truth */
		}
	}
	octal((char *)h + 100, 8, mode & 07777);
	octal((char *)h + 108, 8, fits_octal(uid, 8) ? uid : 0);
	octal((char *)h + 116, 8, fits_octal(gid, 8) ? gid : 0);
	octal((char *)h + 124, 12, fits_octal(size, 12) ? size : 0);
	octal((char *)h + 136, 12, mtime > 0 && fits_octal((uint64_t)mtime, 12) ? (uint64_t)mtime : 0);
	h[156] = (uint8_t)type;
	if (link)
		memcpy(h + 157, link, strnlen(link, 100));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	octal((char *)h + 329, 8, maj);
	octal((char *)h + 337, 8, min);
	checksum(h);
}

static int needs_pax_name(const char *name)
{
	size_t nl = strlen(name);

	if (nl <= 100)
		return 0;
	for (const char *p = name + nl - 1; p > name; p--)
		if (*p == '/' && (size_t)(name + nl - p - 1) <= 100 && p - name <= 155)
			return 0;
	return 1;
}

static int write_header(struct wctx *w, const char *name, const char *link, char type,
			const struct stat *st)
{
	uint8_t h[BLK];
	uint64_t size = type == '0' ? (uint64_t)st->st_size : 0;
	char pax[3 * BXTAR_NAME_MAX], num[32];
	size_t pl = 0;

	if (needs_pax_name(name))
		pax_add(pax, &pl, sizeof(pax), "path", name);
	if (link && strlen(link) > 100)
		pax_add(pax, &pl, sizeof(pax), "linkpath", link);
	if (!fits_octal(size, 12)) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
		pax_add(pax, &pl, sizeof(pax), "size", num);
	}
	if (!fits_octal(st->st_uid, 8)) {
		snprintf(num, sizeof(num), "%u", (unsigned)st->st_uid);
		pax_add(pax, &pl, sizeof(pax), "uid", num);
	}
	if (!fits_octal(st->st_gid, 8)) {
		snprintf(num, sizeof(num), "%u", (unsigned)st->st_gid);
		pax_add(pax, &pl, sizeof(pax), "gid", num);
	}
	if (pl) {
		static const uint8_t zero[BLK];
		struct stat px = { .st_mode = 0644 };
		fill_header(h, "PaxHeader", NULL, 'x', 0644, 0, 0, pl, st->st_mtime, 0, 0);
		(void)px;
		if (put(w, h, BLK) < 0 || put(w, pax, pl) < 0 ||
		    (pl % BLK && put(w, zero, BLK - pl % BLK) < 0))
			return -1;
	}
	fill_header(h, name, link, type, st->st_mode, st->st_uid, st->st_gid, size, st->st_mtime,
		    major(st->st_rdev), minor(st->st_rdev));
	return put(w, h, BLK);
}

static int write_file_data(struct wctx *w, int fd, uint64_t size, const char *name)
{
	uint64_t left = size;

	while (left) {
		size_t want = left < sizeof(w->buf) ? (size_t)left : sizeof(w->buf);
		ssize_t n = read(fd, w->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(w->e, -errno, "%s: %s", name, strerror(errno));
		if (n == 0) {
			/* The file shrank: pad with zeros to the size announced. */
			memset(w->buf, 0, want);
			n = (ssize_t)want;
		}
		if (put(w, w->buf, (size_t)n) < 0)
			return -1;
		left -= (uint64_t)n;
	}
	if (size % BLK) {
		memset(w->buf, 0, BLK);
		return put(w, w->buf, BLK - size % BLK);
	}
	return 0;
}

/* One item: name in dirfd ("" = dirfd itself), written as tarname. */
static int emit(struct wctx *w, int dirfd, const char *name, const char *tarname, int depth)
{
	struct stat st;
	int flags = AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH);
	char tn[BXTAR_NAME_MAX + 2];

	if (fstatat(dirfd, name, &st, flags) < 0)
		return fail(w->e, -errno, "%s: %s", tarname, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		int fd = openat(dirfd, name[0] ? name : ".", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		int rc;
		if (fd < 0)
			return fail(w->e, -errno, "%s: %s", tarname, strerror(errno));
		rc = write_header(w, tarname, NULL, '0', &st);
		if (rc == 0)
			rc = write_file_data(w, fd, (uint64_t)st.st_size, tarname);
		close(fd);
		return rc;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[BXTAR_NAME_MAX + 1];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return fail(w->e, -errno, "%s: %s", tarname, strerror(errno));
		target[n] = '\0';
		return write_header(w, tarname, target, '2', &st);
	}
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return write_header(w, tarname, NULL,
				    S_ISFIFO(st.st_mode) ? '6' : S_ISCHR(st.st_mode) ? '3' : '4', &st);
	if (!S_ISDIR(st.st_mode))
		return 0; /* sockets: nothing to copy */
	if (depth >= MAX_DEPTH)
		return fail(w->e, -ELOOP, "%s: directories nested deeper than %d", tarname, MAX_DEPTH);
	snprintf(tn, sizeof(tn), "%s/", tarname);
	if (write_header(w, tn, NULL, '5', &st) < 0)
		return -1;
	int dfd = openat(dirfd, name[0] ? name : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (dfd < 0)
		return fail(w->e, -errno, "%s: %s", tarname, strerror(errno));
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return fail(w->e, -errno, "%s: %s", tarname, strerror(errno));
	}
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strlen(tarname) + strlen(de->d_name) + 1 > BXTAR_NAME_MAX) {
			rc = fail(w->e, -ENAMETOOLONG, "%s/%s: name longer than %d bytes", tarname,
				  de->d_name, BXTAR_NAME_MAX);
			break;
		}
		size_t tl = strlen(tarname), dl = strlen(de->d_name);
		memcpy(tn, tarname, tl);
		tn[tl] = '/';
		memcpy(tn + tl + 1, de->d_name, dl + 1);
		rc = emit(w, dfd, de->d_name, tn, depth + 1);
	}
	closedir(d);
	return rc;
}

int bxtar_fd_write(void *ctx, const void *buf, size_t n)
{
	int fd = *(int *)ctx;
	const char *b = buf;

	while (n) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

ssize_t bxtar_fd_read(void *ctx, void *buf, size_t n)
{
	int fd = *(int *)ctx;
	ssize_t k;

	do
		k = read(fd, buf, n);
	while (k < 0 && errno == EINTR);
	return k < 0 ? -errno : k;
}

/* BXTAR_FOLLOW: where the symlink at path leads, as a parent dir fd (into
 * *pfd) and the target's name (into name): resolved by the kernel, inside
 * rootfd when in_root, then named through /proc/self/fd. 0, or -1 (e set). */
static int follow_top(int rootfd, int in_root, const char *path, int *pfd, char *name, size_t cap,
		      struct bxtar_err *e)
{
	char proc[64], real[BXTAR_NAME_MAX + 1], *slash;
	int fd = open_in(rootfd, in_root, path, O_PATH);
	ssize_t n;

	if (fd < 0)
		return fail(e, -errno, "%s: %s", path, strerror(errno));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	close(fd);
	if (n <= 0)
		return fail(e, n < 0 ? -errno : -EIO, "%s: cannot follow the link (is /proc mounted?)", path);
	real[n] = '\0';
	if (!(slash = strrchr(real, '/')) || !slash[1])
		return fail(e, -EINVAL, "%s: the link leads to the root itself", path);
	snprintf(name, cap, "%s", slash + 1);
	if (slash == real)
		strcpy(real, "/");
	else
		*slash = '\0';
	/* The kernel's name is in this process's view: relative to rootfd's
	 * root when in_root, as the copy child runs in that root. */
	*pfd = open_in(rootfd, in_root, real, O_PATH | O_DIRECTORY);
	return *pfd < 0 ? fail(e, -errno, "%s: %s", real, strerror(errno)) : 0;
}

int bxtar_create(int rootfd, int in_root, const char *path, bxtar_write_fn wfn, void *ctx,
		 struct bxtar_err *e)
{
	return bxtar_create_ex(rootfd, in_root, path, 0, wfn, ctx, e);
}

int bxtar_create_ex(int rootfd, int in_root, const char *path, unsigned flags, bxtar_write_fn wfn, void *ctx,
		    struct bxtar_err *e)
{
	struct wctx *w = malloc(sizeof(*w));
	char p[BXTAR_NAME_MAX + 1], *slash, *base;
	size_t l;
	int pfd, rc, contents;
	static const uint8_t zero[2 * BLK];

	if (!w)
		return fail(e, -ENOMEM, "out of memory");
	w->w = wfn;
	w->ctx = ctx;
	w->e = e;
	if (!path[0] || strlen(path) > BXTAR_NAME_MAX) {
		free(w);
		return fail(e, -EINVAL, "'%s': bad path", path);
	}
	snprintf(p, sizeof(p), "%s", path);
	l = strlen(p);
	contents = (l >= 2 && !strcmp(p + l - 2, "/.")) || !strcmp(p, ".");
	while (l > 1 && p[l - 1] == '/')
		p[--l] = '\0';
	if (!strcmp(p, "/"))
		contents = 1;
	if (contents) {
		pfd = open_in(rootfd, in_root, p, O_PATH | O_DIRECTORY);
		if (pfd < 0)
			rc = fail(e, -errno, "%s: %s", path, strerror(errno));
		else
			rc = emit(w, pfd, "", ".", 0);
	} else {
		slash = strrchr(p, '/');
		base = slash ? slash + 1 : p;
		if (slash == p)
			pfd = open_in(rootfd, in_root, "/", O_PATH | O_DIRECTORY);
		else if (slash) {
			*slash = '\0';
			pfd = open_in(rootfd, in_root, p, O_PATH | O_DIRECTORY);
		} else {
			pfd = open_in(rootfd, in_root, ".", O_PATH | O_DIRECTORY);
		}
		if (pfd < 0) {
			rc = fail(e, -errno, "%s: %s", path, strerror(errno));
		} else if (!strcmp(base, "..")) {
			rc = fail(e, -EINVAL, "%s: cannot copy a '..'", path);
		} else {
			struct stat st;
			char target[256];
			int tfd = -1;

			if ((flags & BXTAR_FOLLOW) && fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode)) {
				/* the target's content under the link's name */
				rc = follow_top(rootfd, in_root, path, &tfd, target, sizeof(target), e);
				if (rc == 0) {
					rc = emit(w, tfd, target, base, 0);
					close(tfd);
				}
			} else {
				rc = emit(w, pfd, base, base, 0);
			}
		}
	}
	if (pfd >= 0)
		close(pfd);
	if (rc == 0)
		rc = put(w, zero, sizeof(zero));
	free(w);
	return rc < 0 ? (e && e->code ? e->code : rc) : 0;
}

/* ================================================================ target */

int bxtar_target(int rootfd, int in_root, const char *dst, int single, int *dirfd, char rename[256],
		 struct bxtar_err *e)
{
	char p[BXTAR_NAME_MAX + 1], *slash, *base;
	size_t l = strlen(dst);
	int trailing, fd;
	struct stat st;

	rename[0] = '\0';
	*dirfd = -1;
	if (!l || l > BXTAR_NAME_MAX)
		return fail(e, -EINVAL, "'%s': bad destination path", dst);
	trailing = dst[l - 1] == '/' || (l >= 2 && !strcmp(dst + l - 2, "/.")) || !strcmp(dst, ".");
	fd = open_in(rootfd, in_root, dst, O_PATH);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		*dirfd = fd;
		return 0;
	}
	if (fd < 0 && errno != ENOENT)
		return fail(e, -errno, "%s: %s", dst, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (!single)
		return fail(e, fd < 0 ? -ENOENT : -ENOTDIR, "%s: %s", dst,
			    fd < 0 ? "no such directory" : "not a directory");
	if (trailing)
		return fail(e, fd < 0 ? -ENOENT : -ENOTDIR, "%s: %s", dst,
			    fd < 0 ? "no such directory" : "not a directory");
	snprintf(p, sizeof(p), "%s", dst);
	slash = strrchr(p, '/');
	base = slash ? slash + 1 : p;
	if (strlen(base) >= 256 || !strcmp(base, "..") || !strcmp(base, "."))
		return fail(e, -EINVAL, "%s: bad destination name", dst);
	memcpy(rename, base, strlen(base) + 1);
	if (slash == p)
		fd = open_in(rootfd, in_root, "/", O_PATH | O_DIRECTORY);
	else if (slash) {
		*slash = '\0';
		fd = open_in(rootfd, in_root, p, O_PATH | O_DIRECTORY);
	} else {
		fd = open_in(rootfd, in_root, ".", O_PATH | O_DIRECTORY);
	}
	if (fd < 0)
		return fail(e, -errno, "%s: parent directory: %s", dst, strerror(errno));
	*dirfd = fd;
	return 0;
}

/* ================================================================ reader */

void bxtar_reader_init(struct bxtar_reader *r, bxtar_read_fn fn, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->read = fn;
	r->ctx = ctx;
}

/* Reads exactly n bytes; -EPIPE on a short stream. */
static int read_full(struct bxtar_reader *r, void *buf, size_t n, struct bxtar_err *e)
{
	uint8_t *b = buf;

	while (n) {
		ssize_t got = r->read(r->ctx, b, n);
		if (got < 0)
			return fail(e, (int)got, "reading the tar stream: %s", strerror((int)-got));
		if (got == 0)
			return fail(e, -EPIPE, "the tar stream ended in the middle of an entry");
		b += got;
		n -= (size_t)got;
	}
	return 0;
}

static int skip(struct bxtar_reader *r, uint64_t n, struct bxtar_err *e)
{
	uint8_t buf[BLK * 8];

	while (n) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		if (read_full(r, buf, k, e) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static int parse_num(const uint8_t *f, size_t width, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) { /* base-256 */
		if (f[0] != 0x80)
			return -1; /* negative or too big */
		for (i = 1; i < width; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < width && f[i] == ' ')
		i++;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < width; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static int copy_str(char *dst, size_t cap, const void *src, size_t n)
{
	if (n >= cap || memchr(src, '\0', n))
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* pax records "LEN key=value\n"; only the keys we use. */
static int parse_pax(const char *p, size_t n, struct bxtar_entry *ent, unsigned *have, struct bxtar_err *e)
{
	size_t pos = 0;

	while (pos < n) {
		size_t len = 0, k = pos;
		const char *key, *eq, *val, *end;

		while (k < n && p[k] >= '0' && p[k] <= '9' && len < BXTAR_PAX_MAX)
			len = len * 10 + (size_t)(p[k++] - '0');
		if (k == pos || k >= n || p[k] != ' ' || len <= k - pos || len > n - pos)
			return fail(e, -EPROTO, "malformed pax header");
		end = p + pos + len - 1;
		if (*end != '\n')
			return fail(e, -EPROTO, "malformed pax record");
		key = p + k + 1;
		eq = memchr(key, '=', (size_t)(end - key));
		if (!eq)
			return fail(e, -EPROTO, "malformed pax record");
		val = eq + 1;
		size_t kl = (size_t)(eq - key), vl = (size_t)(end - val);
		char num[32];
		uint64_t v;
#define KEY(s) (kl == sizeof(s) - 1 && !memcmp(key, s, kl))
		if (KEY("path")) {
			if (copy_str(ent->path, sizeof(ent->path), val, vl) < 0)
				return fail(e, -ENAMETOOLONG, "pax path too long or invalid");
			*have |= 1;
		} else if (KEY("linkpath")) {
			if (copy_str(ent->link, sizeof(ent->link), val, vl) < 0)
				return fail(e, -ENAMETOOLONG, "pax linkpath too long or invalid");
			*have |= 2;
		} else if (KEY("size") || KEY("uid") || KEY("gid") || KEY("mtime")) {
			char *q;
			if (copy_str(num, sizeof(num), val, vl) < 0)
				return fail(e, -EPROTO, "bad pax number");
			if ((q = strchr(num, '.')) && KEY("mtime"))
				*q = '\0';
			errno = 0;
			v = strtoull(num, &q, 10);
			if (errno || *q || !num[0] || num[0] == '-')
				return fail(e, -EPROTO, "bad pax number '%s'", num);
			if (KEY("size")) {
				ent->size = v;
				*have |= 4;
			} else if (KEY("uid")) {
				ent->uid = v;
				*have |= 8;
			} else if (KEY("gid")) {
				ent->gid = v;
				*have |= 16;
			} else {
				ent->mtime = (int64_t)(v > INT64_MAX ? INT64_MAX : v);
				*have |= 32;
			}
		}
#undef KEY
		pos += len;
	}
	return 0;
}

/* The data of a pax or GNU long-name entry, NUL-terminated, in a malloc'd buffer. */
static char *read_meta(struct bxtar_reader *r, uint64_t size, uint64_t limit, struct bxtar_err *e)
{
	char *buf;
	uint64_t padded = (size + BLK - 1) / BLK * BLK;

	if (size > limit) {
		fail(e, -EMSGSIZE, "tar metadata entry of %llu bytes (limit %llu)", (unsigned long long)size,
		     (unsigned long long)limit);
		return NULL;
	}
	buf = malloc(padded + 1);
	if (!buf) {
		fail(e, -ENOMEM, "out of memory");
		return NULL;
	}
	if (read_full(r, buf, padded, e) < 0) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

int bxtar_next(struct bxtar_reader *r, struct bxtar_entry *ent, struct bxtar_err *e)
{
	uint8_t h[BLK];
	unsigned have = 0;
	int zero_blocks = 0;

	if (r->done)
		return 0;
	if (skip(r, r->remain + r->pad, e) < 0)
		return e->code;
	r->remain = r->pad = 0;
	memset(ent, 0, sizeof(*ent));
	for (;;) {
		uint64_t v, sum = 0, want;
		int rc;

		if (read_full(r, h, BLK, e) < 0)
			return e->code;
		int all_zero = 1;
		for (int i = 0; i < BLK; i++)
			if (h[i]) {
				all_zero = 0;
				break;
			}
		if (all_zero) {
			/* End of archive: two zero blocks (accept one followed by EOF). */
			if (++zero_blocks == 2) {
				r->done = 1;
				return 0;
			}
			uint8_t h2[BLK];
			ssize_t got = r->read(r->ctx, h2, BLK);
			if (got <= 0) {
				r->done = 1;
				return 0;
			}
			if (got < BLK && read_full(r, h2 + got, BLK - (size_t)got, e) < 0)
				return e->code;
			memcpy(h, h2, BLK);
			for (int i = 0; i < BLK; i++)
				if (h[i]) {
					all_zero = 0;
					break;
				}
			if (all_zero) {
				r->done = 1;
				return 0;
			}
			zero_blocks = 0;
		}
		if (parse_num(h + 148, 8, &want) < 0)
			return fail(e, -EPROTO, "tar header checksum field is not a number");
		for (int i = 0; i < BLK; i++)
			sum += (i >= 148 && i < 156) ? ' ' : h[i];
		if (sum != want)
			return fail(e, -EPROTO, "tar header checksum mismatch (not a tar stream?)");
		if (parse_num(h + 124, 12, &v) < 0)
			return fail(e, -EPROTO, "bad size in tar header");
		if (!(have & 4))
			ent->size = v;
		char type = h[156] ? (char)h[156] : '0';
		if (type == 'x' || type == 'g') {
			char *pax = read_meta(r, ent->size, BXTAR_PAX_MAX, e);
			if (!pax)
				return e->code;
			rc = type == 'x' ? parse_pax(pax, ent->size, ent, &have, e) : 0;
			free(pax);
			if (rc < 0)
				return rc;
			if (!(have & 4))
				ent->size = 0;
			continue;
		}
		if (type == 'L' || type == 'K') {
			char *s = read_meta(r, ent->size, BXTAR_NAME_MAX + 1, e);
			if (!s)
				return e->code;
			snprintf(type == 'L' ? ent->path : ent->link, BXTAR_NAME_MAX + 1, "%s", s);
			have |= type == 'L' ? 1 : 2;
			free(s);
			if (!(have & 4))
				ent->size = 0;
			continue;
		}
		ent->type = type == '7' ? '0' : type;
		if (!(have & 1)) {
			char name[101], prefix[156];
			memcpy(name, h, 100);
			name[100] = '\0';
			memcpy(prefix, h + 345, 155);
			prefix[155] = '\0';
			if (!memcmp(h + 257, "ustar", 5) && prefix[0])
				snprintf(ent->path, sizeof(ent->path), "%s/%s", prefix, name);
			else
				snprintf(ent->path, sizeof(ent->path), "%s", name);
		}
		if (!(have & 2)) {
			memcpy(ent->link, h + 157, 100);
			ent->link[100] = '\0';
		}
		if (parse_num(h + 100, 8, &v) < 0)
			return fail(e, -EPROTO, "bad mode in tar header");
		ent->mode = (uint32_t)(v & 07777);
		if (!(have & 8) && parse_num(h + 108, 8, &ent->uid) < 0)
			return fail(e, -EPROTO, "bad uid in tar header");
		if (!(have & 16) && parse_num(h + 116, 8, &ent->gid) < 0)
			return fail(e, -EPROTO, "bad gid in tar header");
		if (!(have & 32)) {
			if (parse_num(h + 136, 12, &v) < 0)
				return fail(e, -EPROTO, "bad mtime in tar header");
			ent->mtime = (int64_t)(v > INT64_MAX ? INT64_MAX : v);
		}
		if (parse_num(h + 329, 8, &v) == 0)
			ent->devmajor = (uint32_t)v;
		if (parse_num(h + 337, 8, &v) == 0)
			ent->devminor = (uint32_t)v;
		if (!ent->path[0])
			return fail(e, -EPROTO, "tar entry with an empty name");
		/* Only regular files carry data ('1', '2', '5'... have none). */
		if (ent->type != '0')
			ent->size = ent->type == '1' || ent->type == '2' || ent->type == '5' ? 0 : ent->size;
		if (ent->type == '3' || ent->type == '4' || ent->type == '6')
			ent->size = 0;
		r->remain = ent->size;
		r->pad = (uint32_t)((BLK - ent->size % BLK) % BLK);
		return 1;
	}
}

ssize_t bxtar_data(struct bxtar_reader *r, void *buf, size_t n, struct bxtar_err *e)
{
	ssize_t got;

	if (!r->remain)
		return 0;
	if (n > r->remain)
		n = (size_t)r->remain;
	do
		got = r->read(r->ctx, buf, n);
	while (got < 0 && got == -EINTR);
	if (got < 0)
		return fail(e, (int)got, "reading the tar stream: %s", strerror((int)-got));
	if (got == 0)
		return fail(e, -EPIPE, "the tar stream ended in the middle of a file");
	r->remain -= (uint64_t)got;
	return got;
}

/* ============================================================= extractor */

struct dir_fix {
	char *path;
	uint32_t mode;
	uint64_t uid, gid;
	int64_t mtime;
};

struct xctx {
	int root;
	unsigned flags;
	int is_root;
	struct bxtar_err *e;
	struct dir_fix *dirs;
	size_t n_dirs, cap_dirs;
	uint8_t buf[IO_CHUNK];
};

/* Normalizes an entry name into out: components joined by '/', no "." or
 * empty ones; rename replaces the first component. Refuses "..". */
static int clean_path(const char *in, const char *rename, char *out, size_t cap, struct bxtar_err *e)
{
	const char *p = in;
	size_t ol = 0;
	int first = 1;

	while (*p == '/')
		p++;
	out[0] = '\0';
	while (*p) {
		const char *s = strchr(p, '/');
		size_t plen = s ? (size_t)(s - p) : strlen(p); /* of the entry's own component */
		size_t cl = plen;
		const char *comp = p;

		if (first && rename && rename[0]) {
			comp = rename;
			cl = strlen(rename);
		} else if (cl == 0 || (cl == 1 && p[0] == '.')) {
			goto next;
		} else if (cl == 2 && p[0] == '.' && p[1] == '.') {
			return fail(e, -EPERM, "%s: refusing a path with '..' (it would leave the destination)", in);
		}
		if (ol + cl + 2 > cap)
			return fail(e, -ENAMETOOLONG, "%s: name too long", in);
		if (ol)
			out[ol++] = '/';
		memcpy(out + ol, comp, cl);
		ol += cl;
		out[ol] = '\0';
next:
		first = 0;
		p = s ? s + 1 : p + plen;
		while (*p == '/')
			p++;
	}
	return 0;
}

static int escape_err(struct bxtar_err *e, const char *path, int err)
{
	if (err == EXDEV || err == ELOOP)
		return fail(e, -EPERM, "%s: refusing to write outside the destination (through a symlink or '..')",
			    path);
	return fail(e, -err, "%s: %s", path, strerror(err));
}

/* Opens the parent directory of path (beneath root), creating missing
 * directories; *name points at the last component. */
static int open_parent(struct xctx *x, char *path, const char **name)
{
	char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		*name = path;
		return fcntl(x->root, F_DUPFD_CLOEXEC, 3);
	}
	*slash = '\0';
	*name = slash + 1;
	fd = openat2_(x->root, path, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && errno == ENOENT) {
		/* mkdir -p, one component at a time, each resolved beneath root. */
		for (char *p = path;; p++) {
			if (*p == '/' || *p == '\0') {
				char c = *p;
				*p = '\0';
				int t = openat2_(x->root, path, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
				if (t < 0 && errno == ENOENT) {
					char *ls = strrchr(path, '/');
					int pfd = ls ? (*ls = '\0', openat2_(x->root, path, O_PATH | O_DIRECTORY,
									 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS))
						     : fcntl(x->root, F_DUPFD_CLOEXEC, 3);
					if (ls)
						*ls = '/';
					if (pfd >= 0) {
						if (mkdirat(pfd, ls ? ls + 1 : path, 0755) < 0 && errno != EEXIST) {
							int er = errno;
							close(pfd);
							*p = c;
							*slash = '/';
							return escape_err(x->e, path, er);
						}
						close(pfd);
					}
				} else if (t >= 0) {
					close(t);
				}
				*p = c;
				if (!c)
					break;
			}
		}
		fd = openat2_(x->root, path, O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	}
	if (fd < 0) {
		int er = errno;
		*slash = '/';
		return escape_err(x->e, path, er);
	}
	*slash = '/';
	return fd;
}

static void own(struct xctx *x, int fd, const char *name, const struct bxtar_entry *ent, int flags)
{
	if (!(x->flags & BXTAR_CHOWN))
		return;
	if (fchownat(fd, name, (uid_t)ent->uid, (gid_t)ent->gid, flags) < 0 && x->is_root) {
		/* root could not chown: note it but go on (e.g. idmapped mounts) */
	}
}

static void set_times(int fd, const char *name, int64_t mtime, int flags)
{
	struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)mtime } };

	utimensat(fd, name, ts, flags);
}

/* Removes name in pfd unless it is a directory. */
static int clear_slot(struct xctx *x, int pfd, const char *name, const char *path, int want_dir)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fail(x->e, -errno, "%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (want_dir)
			return 1;
		return fail(x->e, -EISDIR, "%s: cannot overwrite a directory with a non-directory", path);
	}
	if (want_dir)
		return fail(x->e, -ENOTDIR, "%s: cannot overwrite a non-directory with a directory", path);
	if (unlinkat(pfd, name, 0) < 0)
		return fail(x->e, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

static int extract_file(struct xctx *x, struct bxtar_reader *r, int pfd, const char *name,
			const char *path, const struct bxtar_entry *ent)
{
	int fd, rc = 0;

	if (clear_slot(x, pfd, name, path, 0) < 0)
		return -1;
	fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(x->e, -errno, "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = bxtar_data(r, x->buf, sizeof(x->buf), x->e);
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t k = write(fd, x->buf + off, (size_t)(n - off));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				rc = fail(x->e, -errno, "%s: %s", path, strerror(errno));
				goto out;
			}
			off += k;
		}
	}
out:
	if (rc == 0) {
		own(x, fd, "", ent, AT_EMPTY_PATH);
		fchmod(fd, (mode_t)ent->mode);
		set_times(fd, "", ent->mtime, AT_EMPTY_PATH);
	}
	close(fd);
	return rc;
}

static int remember_dir(struct xctx *x, const char *path, const struct bxtar_entry *ent)
{
	if (x->n_dirs == x->cap_dirs) {
		size_t nc = x->cap_dirs ? 2 * x->cap_dirs : 64;
		struct dir_fix *nd = realloc(x->dirs, nc * sizeof(*nd));
		if (!nd)
			return fail(x->e, -ENOMEM, "out of memory");
		x->dirs = nd;
		x->cap_dirs = nc;
	}
	x->dirs[x->n_dirs] = (struct dir_fix){ strdup(path), ent->mode, ent->uid, ent->gid, ent->mtime };
	if (!x->dirs[x->n_dirs].path)
		return fail(x->e, -ENOMEM, "out of memory");
	x->n_dirs++;
	return 0;
}

static int extract_entry(struct xctx *x, struct bxtar_reader *r, const struct bxtar_entry *ent,
			 const char *rename)
{
	char path[BXTAR_NAME_MAX + 256], shown[BXTAR_NAME_MAX + 256];
	const char *name;
	int pfd, rc = 0;

	if (clean_path(ent->path, rename, path, sizeof(path), x->e) < 0)
		return -1;
	if (!path[0])
		return 0; /* the destination itself: leave it as it is */
	snprintf(shown, sizeof(shown), "%s", path);
	pfd = open_parent(x, path, &name);
	if (pfd < 0)
		return -1;
	if ((x->flags & BXTAR_NO_OVERWRITE) && ent->type != '5') {
		struct stat st;

		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			close(pfd);
			return 0; /* taken: kept as it is (bxtar_next skips the data) */
		}
	}
	switch (ent->type) {
	case '0':
		rc = extract_file(x, r, pfd, name, shown, ent);
		break;
	case '5':
		rc = clear_slot(x, pfd, name, shown, 1);
		if (rc == 0 && mkdirat(pfd, name, 0700) < 0)
			rc = fail(x->e, -errno, "%s: %s", shown, strerror(errno));
		if (rc >= 0)
			rc = remember_dir(x, shown, ent);
		break;
	case '2':
		rc = clear_slot(x, pfd, name, shown, 0);
		if (rc == 0 && symlinkat(ent->link, pfd, name) < 0)
			rc = fail(x->e, -errno, "%s: %s", shown, strerror(errno));
		if (rc == 0) {
			own(x, pfd, name, ent, AT_SYMLINK_NOFOLLOW);
			set_times(pfd, name, ent->mtime, AT_SYMLINK_NOFOLLOW);
		}
		break;
	case '1': {
		char target[BXTAR_NAME_MAX + 256];
		const char *tname;
		int tfd;
		if (clean_path(ent->link, rename, target, sizeof(target), x->e) < 0 || !target[0]) {
			rc = fail(x->e, -EPERM, "%s: bad hard link target '%s'", shown, ent->link);
			break;
		}
		tfd = open_parent(x, target, &tname);
		if (tfd < 0) {
			rc = -1;
			break;
		}
		rc = clear_slot(x, pfd, name, shown, 0);
		if (rc == 0 && linkat(tfd, tname, pfd, name, 0) < 0)
			rc = fail(x->e, -errno, "%s: hard link to %s: %s", shown, ent->link, strerror(errno));
		close(tfd);
		break;
	}
	case '6':
	case '3':
	case '4':
		rc = clear_slot(x, pfd, name, shown, 0);
		if (rc == 0) {
			mode_t t = ent->type == '6' ? S_IFIFO : ent->type == '3' ? S_IFCHR : S_IFBLK;
			if (mknodat(pfd, name, t | (ent->mode & 07777),
				    makedev(ent->devmajor, ent->devminor)) < 0) {
				if (ent->type == '6' || x->is_root)
					rc = fail(x->e, -errno, "%s: %s", shown, strerror(errno));
			} else {
				own(x, pfd, name, ent, AT_SYMLINK_NOFOLLOW);
				set_times(pfd, name, ent->mtime, AT_SYMLINK_NOFOLLOW);
			}
		}
		break;
	default:
		break; /* unknown types are skipped, as tar does with a warning */
	}
	close(pfd);
	return rc < 0 ? -1 : 0;
}

int bxtar_extract(int dirfd, const char *rename, bxtar_read_fn rfn, void *ctx, unsigned flags,
		  struct bxtar_err *e)
{
	struct xctx *x = calloc(1, sizeof(*x));
	struct bxtar_entry *ent = malloc(sizeof(*ent));
	struct bxtar_reader r;
	int rc;

	if (!x || !ent) {
		free(x);
		free(ent);
		return fail(e, -ENOMEM, "out of memory");
	}
	x->root = dirfd;
	x->flags = flags;
	x->is_root = geteuid() == 0;
	x->e = e;
	bxtar_reader_init(&r, rfn, ctx);
	while ((rc = bxtar_next(&r, ent, e)) == 1)
		if (extract_entry(x, &r, ent, rename) < 0) {
			rc = -1;
			break;
		}
	/* Directories last, deepest first: permissions and mtimes. */
	for (size_t i = x->n_dirs; i-- > 0;) {
		struct dir_fix *d = &x->dirs[i];
		int fd = openat2_(dirfd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
				  RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
		if (fd >= 0) {
			struct bxtar_entry de = { .uid = d->uid, .gid = d->gid };
			own(x, fd, "", &de, AT_EMPTY_PATH);
			fchmod(fd, (mode_t)d->mode);
			set_times(fd, "", d->mtime, AT_EMPTY_PATH);
			close(fd);
		}
		free(d->path);
	}
	free(x->dirs);
	free(x);
	free(ent);
	if (rc < 0)
		return e->code ? e->code : rc;
	return 0;
}
