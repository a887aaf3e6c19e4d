/* Output formats (format.h): JSON, YAML and a Go-template subset over
 * jansson values. */
#include "format.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_format_parse(const char *s, enum cli_format *out)
{
	static const struct {
		const char *name;
		enum cli_format f;
	} names[] = { { "table", CLI_FORMAT_TABLE }, { "json", CLI_FORMAT_JSON }, { "yaml", CLI_FORMAT_YAML } };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name)) {
			*out = names[i].f;
			return 0;
		}
	return -1;
}

void cli_print_json(FILE *f, const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	fprintf(f, "%s\n", s ? s : "null");
	free(s);
}

/* ---- YAML */

/* Would a plain (unquoted) scalar read back as this same string? */
static int yaml_plain_ok(const char *s)
{
	static const char *const special[] = { "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n" };
	char *end;

	if (!*s || isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
		return 0;
	if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]))
		return 0;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcasecmp(s, special[i]))
			return 0;
	strtod(s, &end);
	if (!*end || isdigit((unsigned char)s[0]))
		return 0; /* a number, or maybe a date or time (YAML 1.1 timestamps) */
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
		if ((*p == ':' && (p[1] == ' ' || !p[1])) || (*p == '#' && p > s && p[-1] == ' '))
			return 0;
	}
	return 1;
}

static void yaml_scalar(FILE *f, const json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *q;

		if (yaml_plain_ok(s)) {
			fputs(s, f);
			return;
		}
		/* A JSON string is a valid YAML double-quoted scalar. */
		q = json_dumps(v, JSON_ENCODE_ANY);
		fputs(q ? q : "\"\"", f);
		free(q);
	} else if (json_is_integer(v)) {
		fprintf(f, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		fprintf(f, "%.17g", json_real_value(v));
	} else if (json_is_true(v) || json_is_false(v)) {
		fputs(json_is_true(v) ? "true" : "false", f);
	} else {
		fputs("null", f);
	}
}

static int yaml_is_block(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v)) || (json_is_array(v) && json_array_size(v));
}

static void yaml_node(FILE *f, const json_t *v, int indent, int inline_first);

/* A key's or an item's value: a scalar (or empty collection) on the same
 * line, a block on the lines below. */
static void yaml_value_after(FILE *f, const json_t *v, int indent)
{
	if (!yaml_is_block(v)) {
		fputc(' ', f);
		if (json_is_object(v) || json_is_array(v))
			fputs(json_is_object(v) ? "{}" : "[]", f);
		else
			yaml_scalar(f, v);
		fputc('\n', f);
	} else if (json_is_array(v)) {
		fputc('\n', f);
		yaml_node(f, v, indent, 0);
	} else {
		fputc('\n', f);
		yaml_node(f, v, indent + 2, 0);
	}
}

/* inline_first: the first line goes where the cursor is (after "- "). */
static void yaml_node(FILE *f, const json_t *v, int indent, int inline_first)
{
	int first = 1;

	if (json_is_object(v)) {
		const char *k;
		json_t *x;

		json_object_foreach((json_t *)v, k, x) {
			json_t *key = json_string(k);

			fprintf(f, "%*s", first && inline_first ? 0 : indent, "");
			yaml_scalar(f, key);
			json_decref(key);
			fputc(':', f);
			yaml_value_after(f, x, indent);
			first = 0;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;

		json_array_foreach(v, i, x) {
			fprintf(f, "%*s-", first && inline_first ? 0 : indent, "");
			first = 0;
			if (json_is_object(x) && json_object_size(x)) {
				fputc(' ', f);
				yaml_node(f, x, indent + 2, 1);
			} else {
				yaml_value_after(f, x, indent + 2);
			}
		}
	}
}

void cli_print_yaml(FILE *f, const json_t *v)
{
	if (yaml_is_block(v)) {
		yaml_node(f, v, 0, 0);
	} else {
		if (json_is_object(v) || json_is_array(v))
			fputs(json_is_object(v) ? "{}" : "[]", f);
		else
			yaml_scalar(f, v);
		fputc('\n', f);
	}
}

/* ---- Go-template subset */

int cli_is_template(const char *s)
{
	const char *open = strstr(s, "{{");
	return open && strstr(open + 2, "}}");
}

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_buf(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Go's %v of a value: {Key:value ...} for an object (keys in order), [a b]
 * for an array, nothing for null. */
static void go_value(struct buf *b, const json_t *v)
{
	char num[64];

	if (json_is_string(v)) {
		puts_buf(b, json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		puts_buf(b, num);
	} else if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		puts_buf(b, num);
	} else if (json_is_boolean(v)) {
		puts_buf(b, json_is_true(v) ? "true" : "false");
	} else if (json_is_object(v)) {
		const char *k;
		json_t *x;
		int first = 1;

		puts_buf(b, "{");
		json_object_foreach((json_t *)v, k, x) {
			if (!first)
				puts_buf(b, " ");
			first = 0;
			puts_buf(b, k);
			puts_buf(b, ":");
			go_value(b, x);
		}
		puts_buf(b, "}");
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;

		puts_buf(b, "[");
		json_array_foreach(v, i, x) {
			if (i)
				puts_buf(b, " ");
			go_value(b, x);
		}
		puts_buf(b, "]");
	}
}

/* Is path ".", or "." fields joined by "." (fields of [A-Za-z0-9_])? */
static int path_ok(const char *path, size_t n)
{
	size_t i = 1;

	if (n == 0 || path[0] != '.')
		return 0;
	if (n == 1)
		return 1;
	while (i < n) {
		size_t start = i;

		while (i < n && (isalnum((unsigned char)path[i]) || path[i] == '_'))
			i++;
		if (i == start || i - start >= 128 || (i < n && (path[i] != '.' || i + 1 == n)))
			return 0;
		i++;
	}
	return 1;
}

/* The value at a well-formed field path (path_ok), or NULL: missing. */
static const json_t *lookup(const json_t *ctx, const char *path, size_t n)
{
	const json_t *cur = ctx;
	size_t i = 1;

	while (cur && i < n) {
		char field[128];
		size_t len = strcspn(path + i, ".");

		if (len > n - i)
			len = n - i;
		memcpy(field, path + i, len);
		field[len] = '\0';
		i += len + 1;
		if (!json_is_object(cur))
			return NULL;
		/* The reference's aliases: .ID is .Id, .ImageID is .Image. */
		if (!json_object_get(cur, field) && (!strcmp(field, "ID") || !strcmp(field, "ImageID")))
			strcpy(field, field[1] == 'D' ? "Id" : "Image");
		cur = json_object_get(cur, field);
	}
	return cur;
}

/* One action's text, trimmed: ".A.B" or "json .A.B". */
static int action(struct buf *b, const json_t *ctx, const char *a, size_t n, char *err, size_t cap)
{
	int json = 0;
	const json_t *v;

	if (n >= 5 && !strncmp(a, "json", 4) && isspace((unsigned char)a[4])) {
		json = 1;
		a += 5;
		n -= 5;
		while (n && isspace((unsigned char)*a))
			a++, n--;
	}
	if (!path_ok(a, n)) {
		snprintf(err, cap, "template: cannot read '%.*s': use {{.Field}}, {{.A.B}} or {{json .A}}",
			 (int)(n > 60 ? 60 : n), a);
		return -1;
	}
	v = lookup(ctx, a, n);
	if (json) {
		char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER) : NULL;

		puts_buf(b, s ? s : "null");
		free(s);
	} else if (v) {
		go_value(b, v);
	} else {
		puts_buf(b, "<no value>");
	}
	return 0;
}

int cli_template_render(const char *tmpl, const json_t *ctx, char **out, char *err, size_t cap)
{
	struct buf b = { 0 };
	const char *p = tmpl;

	*out = NULL;
	puts_buf(&b, "");
	while (*p) {
		const char *open = strstr(p, "{{"), *close, *a, *e;
		size_t lit;

		if (!open) {
			puts_buf(&b, p);
			break;
		}
		lit = (size_t)(open - p);
		a = open + 2;
		if (*a == '-' && isspace((unsigned char)a[1])) { /* {{- trims what precedes */
			while (lit && isspace((unsigned char)p[lit - 1]))
				lit--;
			a++;
		}
		put(&b, p, lit);
		if (!(close = strstr(a, "}}"))) {
			snprintf(err, cap, "template: an action opened with {{ is never closed");
			free(b.p);
			return -1;
		}
		e = close;
		if (e > a && e[-1] == '-' && e - 1 > a && isspace((unsigned char)e[-2]))
			e--; /* -}} trims what follows */
		p = close + 2;
		if (e < close)
			while (isspace((unsigned char)*p))
				p++;
		while (a < e && isspace((unsigned char)*a))
			a++;
		while (e > a && isspace((unsigned char)e[-1]))
			e--;
		if (action(&b, ctx, a, (size_t)(e - a), err, cap) < 0) {
			free(b.p);
			return -1;
		}
	}
	if (b.oom) {
		snprintf(err, cap, "template: out of memory");
		free(b.p);
		return -1;
	}
	*out = b.p;
	return 0;
}
