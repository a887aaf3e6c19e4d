/* Tar entry path normalization and OCI whiteout classification. */
#include "tar_path.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

int bx_tarpath_normalize(const char *name, char *out, size_t out_size, struct bx_error *err)
{
	const char *p = name;
	size_t n = 0;

	if (!out || out_size == 0)
		return bx_err(err, -EINVAL, "tar path: no output buffer");
	out[0] = '\0';
	if (!name || !*name)
		return bx_err(err, -EINVAL, "tar entry with an empty name");
	while (*p) {
		const char *start;
		size_t len;

		while (*p == '/')
			p++;
		start = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - start);
		if (len == 0 || (len == 1 && start[0] == '.'))
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.')
			return bx_err(err, -EINVAL, "tar entry '%.200s' has a '..' component", name);
		if (len > NAME_MAX)
			return bx_err(err, -ENAMETOOLONG, "tar entry '%.200s…' has a component over %d bytes", name,
				      NAME_MAX);
		if (n + (n ? 1 : 0) + len + 1 > out_size)
			return bx_err(err, -ENAMETOOLONG, "tar entry '%.200s…' is too long", name);
		if (n)
			out[n++] = '/';
		memcpy(out + n, start, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

int bx_tarpath_whiteout(const char *norm, char *target, size_t target_size, enum bx_whiteout *kind,
			struct bx_error *err)
{
	const char *slash = strrchr(norm, '/');
	const char *base = slash ? slash + 1 : norm;
	size_t dirlen = slash ? (size_t)(slash - norm) : 0;
	const char *victim;
	size_t vlen;

	*kind = BX_WHITEOUT_NONE;
	if (target_size)
		target[0] = '\0';
	if (strncmp(base, BX_WH_PREFIX, strlen(BX_WH_PREFIX)) != 0)
		return 0;
	if (!strcmp(base, BX_WH_OPAQUE_NAME)) {
		if (dirlen + 1 > target_size)
			return bx_err(err, -ENAMETOOLONG, "whiteout '%.200s': path too long", norm);
		memcpy(target, norm, dirlen);
		target[dirlen] = '\0';
		*kind = BX_WHITEOUT_OPAQUE;
		return 0;
	}
	if (!strncmp(base, BX_WH_META_PREFIX, strlen(BX_WH_META_PREFIX))) {
		*kind = BX_WHITEOUT_META;
		return 0;
	}
	victim = base + strlen(BX_WH_PREFIX);
	vlen = strlen(victim);
	if (vlen == 0 || !strcmp(victim, ".") || !strcmp(victim, ".."))
		return bx_err(err, -EINVAL, "malformed whiteout '%.200s'", norm);
	if (dirlen + (dirlen ? 1 : 0) + vlen + 1 > target_size)
		return bx_err(err, -ENAMETOOLONG, "whiteout '%.200s': path too long", norm);
	memcpy(target, norm, dirlen);
	if (dirlen)
		target[dirlen++] = '/';
	memcpy(target + dirlen, victim, vlen + 1);
	*kind = BX_WHITEOUT_FILE;
	return 0;
}
