/* credentials.toml: just the TOML the file holds (tables, key = "string",
 * other values skipped), read line by line; a profile is saved by
 * replacing its table's lines, so the rest of the file stays byte for byte.
 * The parser takes a file a user may have edited: fuzz/fuzz_cli_credentials.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"

char *cred_path(void)
{
	const char *h = getenv("BOXLITE_HOME"), *home = getenv("HOME");
	char *p = NULL;

	if (h && h[0] == '/')
		return asprintf(&p, "%s/credentials.toml", h) < 0 ? NULL : p;
	if (!home || !*home)
		return NULL;
	return asprintf(&p, "%s/.boxlite/credentials.toml", home) < 0 ? NULL : p;
}

void cred_profile_free(struct cred_profile *p)
{
	if (p->api_key)
		explicit_bzero(p->api_key, strlen(p->api_key));
	free(p->url);
	free(p->api_key);
	free(p->path_prefix);
	*p = (struct cred_profile){ 0 };
}

static const char *skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static void put_utf8(char *out, size_t *o, unsigned cp)
{
	if (cp < 0x80) {
		out[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*o)++] = (char)(0xc0 | cp >> 6);
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*o)++] = (char)(0xe0 | cp >> 12);
		out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*o)++] = (char)(0xf0 | cp >> 18);
		out[(*o)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* A TOML string (basic "..." or literal '...') at *s; *s moves past it.
 * Returns it malloc'd, or NULL when it is not one. */
static char *parse_string(const char **s, const char *end)
{
	const char *p = *s;
	char q, *out;
	size_t o = 0;

	if (p >= end || (*p != '"' && *p != '\''))
		return NULL;
	q = *p++;
	if (!(out = malloc((size_t)(end - p) + 1)))
		return NULL;
	while (p < end && *p != q) {
		if (*p == '\n' || (unsigned char)*p < 0x20) {
			if (*p != '\t')
				goto bad;
		}
		if (q == '"' && *p == '\\') {
			if (++p >= end)
				goto bad;
			switch (*p) {
			case '"': out[o++] = '"'; break;
			case '\\': out[o++] = '\\'; break;
			case 'n': out[o++] = '\n'; break;
			case 't': out[o++] = '\t'; break;
			case 'r': out[o++] = '\r'; break;
			case 'b': out[o++] = '\b'; break;
			case 'f': out[o++] = '\f'; break;
			case 'u': case 'U': {
				int n = *p == 'u' ? 4 : 8;
				unsigned cp = 0;
				for (int i = 0; i < n; i++) {
					char c = ++p < end ? *p : 0;
					int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
						: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
					if (d < 0)
						goto bad;
					cp = cp << 4 | (unsigned)d;
				}
				if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0)
					goto bad;
				if (o + 4 > (size_t)(end - *s))
					goto bad;
				put_utf8(out, &o, cp);
				break;
			}
			default:
				goto bad;
			}
			p++;
			continue;
		}
		out[o++] = *p++;
	}
	if (p >= end)
		goto bad;
	out[o] = 0;
	*s = p + 1;
	return out;
bad:
	free(out);
	return NULL;
}

/* A key (bare or quoted) at *s, into buf. 0 or -1. */
static int parse_key(const char **s, const char *end, char *buf, size_t n)
{
	const char *p = *s;
	size_t k = 0;

	if (p < end && (*p == '"' || *p == '\'')) {
		char *q = parse_string(&p, end);
		if (!q || strlen(q) >= n) {
			free(q);
			return -1;
		}
		strcpy(buf, q);
		free(q);
		*s = p;
		return 0;
	}
	while (p < end && (strchr("-_", *p) || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9'))) {
		if (k + 1 >= n)
			return -1;
		buf[k++] = *p++;
	}
	buf[k] = 0;
	*s = p;
	return k ? 0 : -1;
}

/* "[profiles.NAME]" at line [s, end): 1 with NAME in name, 0 for another
 * table, -1 when malformed. */
static int table_header(const char *s, const char *end, char *name, size_t n)
{
	char part[256];
	int depth = 0, ours = 0;

	s = skip_ws(s + 1, end);
	for (;;) {
		if (parse_key(&s, end, part, sizeof(part)) < 0)
			return -1;
		if (depth == 0)
			ours = !strcmp(part, "profiles");
		else if (depth == 1 && ours)
			snprintf(name, n, "%s", part);
		depth++;
		s = skip_ws(s, end);
		if (s < end && *s == '.') {
			s = skip_ws(s + 1, end);
			continue;
		}
		break;
	}
	if (s >= end || *s != ']')
		return -1;
	s = skip_ws(s + 1, end);
	if (s < end && *s != '#')
		return -1;
	return ours && depth == 2;
}

int cred_parse(const char *text, size_t len, const char *name, struct cred_profile *p, char *err, size_t errlen)
{
	const char *s = text, *end = text + len;
	char table[256];
	int line = 0, in = 0, found = 0;

	*p = (struct cred_profile){ 0 };
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s)), *l;
		char key[64];

		if (!eol)
			eol = end;
		line++;
		l = skip_ws(s, eol);
		if (l < eol && eol[-1] == '\r')
			eol--;
		if (l >= eol || *l == '#') {
			/* blank or comment */
		} else if (*l == '[') {
			int t = table_header(l, eol, table, sizeof(table));
			if (t < 0)
				goto bad;
			in = t == 1 && !strcmp(table, name);
			found |= in;
		} else {
			if (parse_key(&l, eol, key, sizeof(key)) < 0)
				goto bad;
			l = skip_ws(l, eol);
			if (l >= eol || *l != '=')
				goto bad;
			l = skip_ws(l + 1, eol);
			if (in && (!strcmp(key, "url") || !strcmp(key, "api_key") || !strcmp(key, "path_prefix"))) {
				char *v = parse_string(&l, eol), **dst;
				if (!v)
					goto bad;
				dst = !strcmp(key, "url") ? &p->url : !strcmp(key, "api_key") ? &p->api_key : &p->path_prefix;
				free(*dst);
				*dst = v;
				l = skip_ws(l, eol);
				if (l < eol && *l != '#')
					goto bad;
			}
			/* other keys and values: the file's, not ours to read */
		}
		s = (eol < end && *eol == '\r') ? eol + 2 : eol + 1;
	}
	if (found && !p->url) {
		snprintf(err, errlen, "profile %s has no url", name);
		cred_profile_free(p);
		return -1;
	}
	return found;
bad:
	snprintf(err, errlen, "line %d is not a TOML line this file may hold", line);
	cred_profile_free(p);
	return -1;
}

/* The whole file (malloc'd, NUL-terminated), NULL with *missing set when
 * there is none. */
static char *read_file(const char *path, size_t *len, int *missing)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	*missing = 0;
	if (!f) {
		*missing = errno == ENOENT;
		if (!*missing)
			fprintf(stderr, "boxlite: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = 0;
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
		fprintf(stderr, "boxlite: cannot read %s\n", path);
	}
	fclose(f);
	return buf;
}

int cred_load(const char *name, struct cred_profile *p)
{
	char *path = cred_path(), *text, err[160];
	size_t len = 0;
	int missing, rc;

	*p = (struct cred_profile){ 0 };
	if (!path)
		return 0;
	text = read_file(path, &len, &missing);
	if (!text) {
		free(path);
		return missing ? 0 : -1;
	}
	rc = cred_parse(text, len, name, p, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "boxlite: %s: %s (fix or remove it: boxlite auth logout)\n", path, err);
	explicit_bzero(text, len);
	free(text);
	free(path);
	return rc;
}

/* The byte range of profile name's table in text: [*from, *to). */
static int find_table(const char *text, size_t len, const char *name, size_t *from, size_t *to)
{
	const char *s = text, *end = text + len;
	char table[256];
	int in = 0;

	*from = *to = 0;
	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s)), *l;
		if (!eol)
			eol = end;
		l = skip_ws(s, eol);
		if (l < eol && *l == '[') {
			int t = table_header(l, eol, table, sizeof(table));
			if (in) {
				*to = (size_t)(s - text);
				return 1;
			}
			if (t == 1 && !strcmp(table, name)) {
				in = 1;
				*from = (size_t)(s - text);
			}
		}
		s = eol + 1;
	}
	if (in)
		*to = len;
	return in;
}

/* A TOML basic string of v. */
static void put_toml_string(FILE *f, const char *v)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

/* Writes text with [from, to) replaced by profile p (NULL: removed),
 * atomically, 0600. */
static int write_file(const char *path, const char *text, size_t len, size_t from, size_t to, const char *name,
		      const struct cred_profile *p)
{
	char *dir = strdup(path), *slash, *tmp = NULL;
	FILE *f;
	int fd, rc = -1;

	if (!dir || !(slash = strrchr(dir, '/')))
		goto out;
	*slash = 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "boxlite: cannot create %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		tmp = NULL;
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "boxlite: cannot write %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	fwrite(text, 1, from, f);
	if (p) {
		if (from && text[from - 1] != '\n')
			fputc('\n', f);
		fputs("[profiles.", f);
		if (name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")])
			put_toml_string(f, name);
		else
			fputs(name, f); /* a bare key, as the reference's writer has it */
		fputs("]\nurl = ", f);
		put_toml_string(f, p->url);
		if (p->api_key) {
			fputs("\napi_key = ", f);
			put_toml_string(f, p->api_key);
			fputs("\nauth_method = \"api_key\"", f);
		}
		if (p->path_prefix) {
			fputs("\npath_prefix = ", f);
			put_toml_string(f, p->path_prefix);
		}
		fputs(to < len ? "\n\n" : "\n", f);
	}
	fwrite(text + to, 1, len - to, f);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		fclose(f);
		unlink(tmp);
		fprintf(stderr, "boxlite: cannot write %s\n", tmp);
		goto out;
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		fprintf(stderr, "boxlite: cannot replace %s: %s\n", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(dir);
	return rc;
}

int cred_save(const char *name, const struct cred_profile *p)
{
	char *path = cred_path(), *text;
	size_t len = 0, from, to;
	int missing, rc;

	if (!path) {
		fprintf(stderr, "boxlite: no home directory to keep credentials in (set HOME or BOXLITE_HOME)\n");
		return -1;
	}
	text = read_file(path, &len, &missing);
	if (!text && !missing) {
		free(path);
		return -1;
	}
	if (!find_table(text ? text : "", len, name, &from, &to))
		from = to = len;
	rc = write_file(path, text ? text : "", len, from, to, name, p);
	if (text)
		explicit_bzero(text, len);
	free(text);
	free(path);
	return rc;
}

int cred_delete(const char *name)
{
	char *path = cred_path(), *text;
	size_t len = 0, from, to;
	int missing, rc = 0;

	if (!path)
		return 0;
	if (!(text = read_file(path, &len, &missing))) {
		free(path);
		return missing ? 0 : -1;
	}
	if (find_table(text, len, name, &from, &to)) {
		/* The file goes when nothing but whitespace and comments is left. */
		int empty = 1;
		for (size_t i = 0; i < len && empty; i++)
			if ((i < from || i >= to) && !strchr(" \t\r\n", text[i]))
				empty = 0;
		if (empty)
			rc = unlink(path) == 0 ? 1 : -1;
		else
			rc = write_file(path, text, len, from, to, name, NULL) == 0 ? 1 : -1;
		if (rc < 0)
			fprintf(stderr, "boxlite: cannot update %s\n", path);
	}
	explicit_bzero(text, len);
	free(text);
	free(path);
	return rc;
}
