/* WWW-Authenticate header parsing. */
#include "www_auth.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

struct cursor {
	const char *p, *end;
};

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static size_t token(struct cursor *c, const char **start)
{
	*start = c->p;
	while (c->p < c->end && is_tchar(*c->p))
		c->p++;
	return (size_t)(c->p - *start);
}

/* Reads a token68-ish or quoted value into out (bounded). */
static int value(struct cursor *c, char *out, size_t size)
{
	size_t n = 0;

	if (c->p < c->end && *c->p == '"') {
		c->p++;
		while (c->p < c->end && *c->p != '"') {
			char ch = *c->p++;
			if (ch == '\\') {
				if (c->p >= c->end)
					return -EINVAL;
				ch = *c->p++;
			}
			if (n + 1 >= size)
				return -EINVAL;
			out[n++] = ch;
		}
		if (c->p >= c->end)
			return -EINVAL; /* unterminated quote */
		c->p++;
	} else {
		while (c->p < c->end && (is_tchar(*c->p) || *c->p == '/' || *c->p == '=' || *c->p == ':')) {
			if (n + 1 >= size)
				return -EINVAL;
			out[n++] = *c->p++;
		}
	}
	out[n] = '\0';
	return 0;
}

int bx_www_auth_parse(const char *v, size_t len, struct bx_auth_challenge *out, struct bx_error *err)
{
	struct cursor c = { v, v + len };
	char scratch[1024];

	memset(out, 0, sizeof(*out));
	for (;;) {
		struct bx_auth_challenge ch = { 0 };
		const char *name;
		size_t nlen;

		skip_ws(&c);
		while (c.p < c.end && (*c.p == ',' || *c.p == ' '))
			c.p++;
		if (c.p >= c.end)
			break;
		nlen = token(&c, &name);
		if (nlen == 0)
			return bx_err(err, -EINVAL, "malformed WWW-Authenticate header");
		if (nlen == 5 && !strncasecmp(name, "Basic", 5))
			ch.scheme = BX_AUTH_BASIC;
		else if (nlen == 6 && !strncasecmp(name, "Bearer", 6))
			ch.scheme = BX_AUTH_BEARER;
		/* auth-params: name=value, separated by commas, until the next scheme */
		for (;;) {
			struct cursor save;
			const char *pn;
			size_t pnl;
			char *dst;
			size_t dsize;

			skip_ws(&c);
			if (c.p < c.end && *c.p == ',') {
				c.p++;
				skip_ws(&c);
			}
			save = c;
			pnl = token(&c, &pn);
			skip_ws(&c);
			if (pnl == 0 || c.p >= c.end || *c.p != '=') {
				c = save; /* the next challenge's scheme, or the end */
				break;
			}
			c.p++;
			skip_ws(&c);
			dst = scratch;
			dsize = sizeof(scratch);
			if (pnl == 5 && !strncasecmp(pn, "realm", 5))
				dst = ch.realm, dsize = sizeof(ch.realm);
			else if (pnl == 7 && !strncasecmp(pn, "service", 7))
				dst = ch.service, dsize = sizeof(ch.service);
			else if (pnl == 5 && !strncasecmp(pn, "scope", 5))
				dst = ch.scope, dsize = sizeof(ch.scope);
			else if (pnl == 5 && !strncasecmp(pn, "error", 5))
				dst = ch.error, dsize = sizeof(ch.error);
			if (value(&c, dst, dsize) < 0)
				return bx_err(err, -EINVAL, "malformed or oversized WWW-Authenticate parameter '%.*s'",
					      (int)(pnl > 40 ? 40 : pnl), pn);
		}
		if (ch.scheme != BX_AUTH_NONE) {
			*out = ch;
			return 0;
		}
		if (c.p < c.end && !is_tchar(*c.p) && *c.p != ',' && *c.p != ' ' && *c.p != '\t')
			return bx_err(err, -EINVAL, "malformed WWW-Authenticate header");
	}
	return bx_err(err, -ENOTSUP, "the registry asks for an unsupported authentication scheme");
}
