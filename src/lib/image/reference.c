/* Image reference parsing and docker-style normalization. */
#include "reference.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* A path component: [a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)* */
static const char *check_component(const char *c, size_t len)
{
	size_t i = 0;

	if (len == 0)
		return "empty path component";
	while (i < len) {
		size_t run = 0;

		while (i < len && is_lower_alnum(c[i]))
			i++, run++;
		if (run == 0) {
			for (size_t j = 0; j < len; j++)
				if (c[j] >= 'A' && c[j] <= 'Z')
					return "repository name must be lowercase";
			return "path components must start and end with a lowercase letter or digit, with only '.', '_', '__' or '-' between";
		}
		if (i == len)
			return NULL;
		if (c[i] == '.' || (c[i] == '_' && !(i + 1 < len && c[i + 1] == '_'))) {
			i++;
		} else if (c[i] == '_') {
			i += 2;
		} else if (c[i] == '-') {
			while (i < len && c[i] == '-')
				i++;
		} else {
			for (size_t j = 0; j < len; j++)
				if (c[j] >= 'A' && c[j] <= 'Z')
					return "repository name must be lowercase";
			return "invalid character in repository name";
		}
		if (i == len)
			return "path components must not end with a separator";
	}
	return NULL;
}

/* host[:port] with host a DNS name, an IPv4 address or [IPv6]. */
static const char *check_domain(const char *d, size_t len)
{
	const char *colon, *end = d + len;
	size_t i;

	if (len == 0)
		return "empty registry host";
	if (d[0] == '[') {
		const char *rb = memchr(d, ']', len);
		if (!rb || rb == d + 1)
			return "bad IPv6 registry host";
		for (const char *p = d + 1; p < rb; p++)
			if (!(is_alnum(*p) || *p == ':' || *p == '.'))
				return "bad IPv6 registry host";
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return "bad registry host";
	} else {
		colon = memchr(d, ':', len);
		const char *hend = colon ? colon : end;
		const char *label = d;
		for (const char *p = d; p <= hend; p++) {
			if (p == hend || *p == '.') {
				size_t ll = (size_t)(p - label);
				if (ll == 0 || label[0] == '-' || label[ll - 1] == '-')
					return "bad registry host name";
				label = p + 1;
			} else if (!is_alnum(*p) && *p != '-') {
				return "bad registry host name";
			}
		}
	}
	if (colon) {
		size_t plen = (size_t)(end - colon - 1);
		unsigned port = 0;
		if (plen == 0 || plen > 5)
			return "bad registry port";
		for (i = 1; i <= plen; i++) {
			if (colon[i] < '0' || colon[i] > '9')
				return "bad registry port";
			port = port * 10 + (unsigned)(colon[i] - '0');
		}
		if (port == 0 || port > 65535)
			return "bad registry port";
	}
	return NULL;
}

static const char *check_tag(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 128)
		return "tag must be 1 to 128 characters";
	if (!(is_alnum(t[0]) || t[0] == '_'))
		return "tag must start with a letter, digit or '_'";
	for (size_t i = 1; i < n; i++)
		if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return "tag may hold only letters, digits, '_', '.' and '-'";
	return NULL;
}

static const char *check_digest(const char *d)
{
	if (strncmp(d, "sha256:", 7) != 0)
		return "only sha256 digests are supported";
	if (strlen(d + 7) != 64 || strspn(d + 7, "0123456789abcdef") != 64)
		return "a sha256 digest is 64 lowercase hex digits";
	return NULL;
}

int bx_image_ref_parse(const char *s, const char *default_domain, struct bx_image_ref *out, struct bx_error *err)
{
	char name[BX_REF_STRING_MAX];
	const char *why = NULL, *at, *slash, *last_slash, *colon, *rest;
	size_t n, dlen;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return bx_err(err, -EINVAL, "invalid reference: empty image name");
	n = strlen(s);
	if (n >= sizeof(name))
		return bx_err(err, -EINVAL, "invalid reference '%.60s...': too long", s);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return bx_err(err, -EINVAL, "invalid reference '%.100s': contains a space or a non-ASCII byte", s);
	memcpy(name, s, n + 1);

	at = strchr(name, '@');
	if (at) {
		if ((why = check_digest(at + 1)))
			goto bad;
		snprintf(out->digest, sizeof(out->digest), "%s", at + 1);
		name[at - name] = '\0';
	}
	last_slash = strrchr(name, '/');
	colon = strrchr(last_slash ? last_slash : name, ':');
	if (colon) {
		if ((why = check_tag(colon + 1)))
			goto bad;
		snprintf(out->tag, sizeof(out->tag), "%s", colon + 1);
		name[colon - name] = '\0';
	}
	if (!name[0]) {
		why = "empty repository name";
		goto bad;
	}

	slash = strchr(name, '/');
	rest = name;
	if (slash) {
		dlen = (size_t)(slash - name);
		bool is_domain = memchr(name, '.', dlen) || memchr(name, ':', dlen) ||
				 (dlen == 9 && !memcmp(name, "localhost", 9));
		for (size_t i = 0; i < dlen && !is_domain; i++)
			is_domain = name[i] >= 'A' && name[i] <= 'Z';
		if (is_domain) {
			if ((why = check_domain(name, dlen)))
				goto bad;
			if (dlen >= sizeof(out->domain)) {
				why = "registry host too long";
				goto bad;
			}
			memcpy(out->domain, name, dlen);
			out->domain[dlen] = '\0';
			out->qualified = true;
			rest = slash + 1;
		}
	}
	if (!out->qualified)
		snprintf(out->domain, sizeof(out->domain), "%s", default_domain ? default_domain : BX_REF_DEFAULT_DOMAIN);
	if (!strcmp(out->domain, "index.docker.io"))
		strcpy(out->domain, "docker.io");

	/* Validate each path component. */
	for (const char *c = rest;;) {
		const char *e = strchr(c, '/');
		size_t len = e ? (size_t)(e - c) : strlen(c);
		if ((why = check_component(c, len)))
			goto bad;
		if (!e)
			break;
		c = e + 1;
	}
	if (!strcmp(out->domain, "docker.io") && !strchr(rest, '/')) {
		if (snprintf(out->path, sizeof(out->path), "library/%s", rest) >= (int)sizeof(out->path)) {
			why = "repository name too long";
			goto bad;
		}
	} else if (snprintf(out->path, sizeof(out->path), "%s", rest) >= (int)sizeof(out->path)) {
		why = "repository name too long";
		goto bad;
	}
	if (strlen(out->domain) + 1 + strlen(out->path) > 255) {
		why = "repository name longer than 255 characters";
		goto bad;
	}
	if (!out->tag[0] && !out->digest[0])
		strcpy(out->tag, "latest");
	return 0;
bad:
	return bx_err(err, -EINVAL, "invalid reference '%.200s': %s", s, why);
}

int bx_image_ref_format(const struct bx_image_ref *r, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag,
			 r->digest[0] ? "@" : "", r->digest);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool bx_image_ref_domain_is_loopback(const char *domain)
{
	char host[BX_REF_DOMAIN_MAX];
	const char *colon;
	unsigned a, b, c, d;
	char tail;

	if (!strncmp(domain, "[::1]", 5))
		return domain[5] == '\0' || domain[5] == ':';
	snprintf(host, sizeof(host), "%s", domain);
	colon = strchr(host, ':');
	if (colon)
		host[colon - host] = '\0';
	if (!strcmp(host, "localhost"))
		return true;
	if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4)
		return a == 127 && b < 256 && c < 256 && d < 256;
	return false;
}
