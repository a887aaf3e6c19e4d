/* Capability names and sets (caps.h). */
#include "caps.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static const char *const names[BX_CAP_LAST + 1] = {
	"CHOWN",          "DAC_OVERRIDE",  "DAC_READ_SEARCH", "FOWNER",      "FSETID",
	"KILL",           "SETGID",        "SETUID",          "SETPCAP",     "LINUX_IMMUTABLE",
	"NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",     "NET_RAW",     "IPC_LOCK",
	"IPC_OWNER",      "SYS_MODULE",    "SYS_RAWIO",       "SYS_CHROOT",  "SYS_PTRACE",
	"SYS_PACCT",      "SYS_ADMIN",     "SYS_BOOT",        "SYS_NICE",    "SYS_RESOURCE",
	"SYS_TIME",       "SYS_TTY_CONFIG", "MKNOD",          "LEASE",       "AUDIT_WRITE",
	"AUDIT_CONTROL",  "SETFCAP",       "MAC_OVERRIDE",    "MAC_ADMIN",   "SYSLOG",
	"WAKE_ALARM",     "BLOCK_SUSPEND", "AUDIT_READ",      "PERFMON",     "BPF",
	"CHECKPOINT_RESTORE",
};

int bx_cap_parse(const char *name)
{
	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	if (!strcasecmp(name, "ALL"))
		return -2;
	for (int i = 0; i <= BX_CAP_LAST; i++)
		if (!strcasecmp(name, names[i]))
			return i;
	return -1;
}

uint64_t bx_caps_default(void)
{
	static const char *const dflt[] = { "CHOWN",   "DAC_OVERRIDE", "FSETID",  "FOWNER",
					    "MKNOD",   "NET_RAW",      "SETGID",  "SETUID",
					    "SETFCAP", "SETPCAP",      "NET_BIND_SERVICE",
					    "SYS_CHROOT", "KILL",     "AUDIT_WRITE" };
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
		m |= UINT64_C(1) << bx_cap_parse(dflt[i]);
	return m;
}

static int has_all(char *const *v)
{
	for (; v && *v; v++)
		if (bx_cap_parse(*v) == -2)
			return 1;
	return 0;
}

int bx_caps_compute(char *const *add, char *const *drop, uint64_t *mask, struct bx_error *err)
{
	uint64_t m = bx_caps_default();

	for (int pass = 0; pass < 2; pass++)
		for (char *const *v = pass ? add : drop; v && *v; v++)
			if (bx_cap_parse(*v) == -1)
				return bx_err(err, -EINVAL, "unknown capability '%s' (names as in capabilities(7), "
							    "with or without CAP_, or ALL)", *v);
	if (has_all(drop))
		m = 0;
	if (has_all(add))
		m = BX_CAPS_ALL;
	for (char *const *v = drop; v && *v; v++)
		if (bx_cap_parse(*v) >= 0)
			m &= ~(UINT64_C(1) << bx_cap_parse(*v));
	for (char *const *v = add; v && *v; v++)
		if (bx_cap_parse(*v) >= 0)
			m |= UINT64_C(1) << bx_cap_parse(*v);
	*mask = m;
	return 0;
}

json_t *bx_caps_to_json(uint64_t mask)
{
	json_t *a = json_array();

	for (int i = 0; a && i <= BX_CAP_LAST; i++)
		if (mask & (UINT64_C(1) << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

int bx_caps_from_json(const json_t *v, uint64_t *mask)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v))
		return -EINVAL;
	*mask = 0;
	json_array_foreach(v, i, x) {
		int c = json_is_string(x) ? bx_cap_parse(json_string_value(x)) : -1;

		if (c < 0)
			return -EINVAL;
		*mask |= UINT64_C(1) << c;
	}
	return 0;
}
