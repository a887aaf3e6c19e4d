/* passwd/group parsing and user spec resolution (see user.h). Reads only
 * inside the given buffers; every copy is bounded. */
#include "user.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct span {
	const char *p;
	size_t n;
};

/* Splits the next line of buf[*pos..len) into up to max ':'-separated
 * fields. Returns the field count (0 for a blank line), or -1 at the end. */
static int next_record(const char *buf, size_t len, size_t *pos, struct span *f, int max)
{
	const char *line, *end, *nl;
	int nf = 0;

	if (*pos >= len)
		return -1;
	line = buf + *pos;
	nl = memchr(line, '\n', len - *pos);
	end = nl ? nl : buf + len;
	*pos = (size_t)(end - buf) + (nl ? 1 : 0);
	if (end > line && end[-1] == '\r')
		end--;
	if (end == line)
		return 0;
	while (nf < max) {
		const char *c = memchr(line, ':', (size_t)(end - line));
		const char *fe = c ? c : end;
		f[nf].p = line;
		f[nf].n = (size_t)(fe - line);
		nf++;
		if (!c)
			return nf;
		line = c + 1;
	}
	return nf + 1; /* more fields than expected: caller rejects */
}

static int span_eq(struct span s, const char *str)
{
	size_t n = strlen(str);
	return s.n == n && memcmp(s.p, str, n) == 0;
}

static int span_copy(struct span s, char *out, size_t cap)
{
	if (s.n >= cap || memchr(s.p, '\0', s.n))
		return -1;
	memcpy(out, s.p, s.n);
	out[s.n] = '\0';
	return 0;
}

/* Comments and NIS compat entries ("+name", "-name") are not users. */
static int skip_name(struct span name)
{
	return name.n == 0 || name.p[0] == '#' || name.p[0] == '+' || name.p[0] == '-';
}

int user_parse_id(const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX) /* (uid_t)-1 means "unchanged" to setuid & co. */
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int passwd_find(const char *buf, size_t len, const char *name, uint32_t uid,
		struct passwd_entry *out)
{
	struct span f[7];
	size_t pos = 0;
	int nf;

	if (!buf)
		return 0;
	while ((nf = next_record(buf, len, &pos, f, 7)) >= 0) {
		uint32_t u, g;

		if (nf != 7 || skip_name(f[0]))
			continue;
		if (user_parse_id(f[2].p, f[2].n, &u) < 0 || user_parse_id(f[3].p, f[3].n, &g) < 0)
			continue;
		if (name ? !span_eq(f[0], name) : u != uid)
			continue;
		if (span_copy(f[0], out->name, sizeof(out->name)) < 0)
			continue;
		if (span_copy(f[5], out->home, sizeof(out->home)) < 0 || out->home[0] == '\0')
			strcpy(out->home, "/");
		out->uid = u;
		out->gid = g;
		return 1;
	}
	return 0;
}

int group_find_gid(const char *buf, size_t len, const char *name, uint32_t *gid)
{
	struct span f[4];
	size_t pos = 0;
	int nf;

	if (!buf)
		return 0;
	while ((nf = next_record(buf, len, &pos, f, 4)) >= 0) {
		if ((nf != 4 && nf != 3) || skip_name(f[0]) || !span_eq(f[0], name))
			continue;
		if (user_parse_id(f[2].p, f[2].n, gid) == 0)
			return 1;
	}
	return 0;
}

static int members_contain(struct span list, const char *member)
{
	const char *p = list.p, *end = list.p + list.n;

	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		struct span m = { p, (size_t)((c ? c : end) - p) };
		/* Tolerate blanks around names ("a, b"). */
		while (m.n && (m.p[0] == ' ' || m.p[0] == '\t')) {
			m.p++;
			m.n--;
		}
		while (m.n && (m.p[m.n - 1] == ' ' || m.p[m.n - 1] == '\t'))
			m.n--;
		if (span_eq(m, member))
			return 1;
		if (!c)
			break;
		p = c + 1;
	}
	return 0;
}

size_t group_members_of(const char *buf, size_t len, const char *member, gid_t *groups, size_t max)
{
	struct span f[4];
	size_t pos = 0, n = 0;
	int nf;

	if (!buf || !member[0])
		return 0;
	while (n < max && (nf = next_record(buf, len, &pos, f, 4)) >= 0) {
		uint32_t g;
		size_t i;

		if (nf != 4 || skip_name(f[0]) || user_parse_id(f[2].p, f[2].n, &g) < 0)
			continue; /* a 3-field line has no members */
		if (!members_contain(f[3], member))
			continue;
		for (i = 0; i < n && groups[i] != (gid_t)g; i++)
			;
		if (i == n)
			groups[n++] = (gid_t)g;
	}
	return n;
}

int user_resolve(const char *spec, const char *passwd, size_t passwd_len, const char *group,
		 size_t group_len, struct user_cred *out, char *err, size_t errcap)
{
	struct passwd_entry pw;
	const char *colon, *gpart = NULL;
	char upart[USER_NAME_MAX];
	size_t ulen;
	uint32_t id;

	memset(out, 0, sizeof(*out));
	strcpy(out->home, "/");
	if (!spec)
		spec = "";
	colon = strchr(spec, ':');
	ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (colon)
		gpart = colon + 1;
	if (ulen >= sizeof(upart)) {
		snprintf(err, errcap, "user: name too long");
		return -EINVAL;
	}
	memcpy(upart, spec, ulen);
	upart[ulen] = '\0';

	if (upart[0] == '\0' || user_parse_id(upart, ulen, &id) == 0) {
		if (upart[0] == '\0')
			id = 0;
		out->uid = id;
		if (passwd_find(passwd, passwd_len, NULL, id, &pw)) {
			out->gid = pw.gid;
			memcpy(out->name, pw.name, sizeof(out->name));
			memcpy(out->home, pw.home, sizeof(out->home));
		}
	} else {
		if (!passwd_find(passwd, passwd_len, upart, 0, &pw)) {
			snprintf(err, errcap, "user: unable to find user %s: no matching entries in passwd file",
				 upart);
			return -EINVAL;
		}
		out->uid = pw.uid;
		out->gid = pw.gid;
		memcpy(out->name, pw.name, sizeof(out->name));
		memcpy(out->home, pw.home, sizeof(out->home));
	}

	if (gpart) {
		if (gpart[0] == '\0') {
			snprintf(err, errcap, "user: empty group in \"%.200s\"", spec);
			return -EINVAL;
		}
		if (user_parse_id(gpart, strlen(gpart), &id) == 0) {
			out->gid = id;
		} else if (group_find_gid(group, group_len, gpart, &id)) {
			out->gid = id;
		} else {
			snprintf(err, errcap, "user: unable to find group %.200s: no matching entries in group file",
				 gpart);
			return -EINVAL;
		}
	}
	/* The primary group first (as Docker does), then, for the implicit
	 * form only, the groups that list the user by name. */
	out->groups[0] = out->gid;
	out->ngroups = 1;
	if (!gpart && out->name[0]) {
		gid_t extra[USER_MAX_GROUPS];
		size_t n = group_members_of(group, group_len, out->name, extra, USER_MAX_GROUPS - 1);

		for (size_t i = 0; i < n; i++)
			if (extra[i] != out->gid)
				out->groups[out->ngroups++] = extra[i];
	}
	return 0;
}
