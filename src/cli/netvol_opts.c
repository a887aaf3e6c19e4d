/* -p and -v (netvol_opts.h). */
#include "cli.h"
#include "netvol_opts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int port_num(const char *s, size_t n, int allow0, unsigned *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535 || (!allow0 && v == 0))
		return -1;
	*out = (unsigned)v;
	return 0;
}

int cli_parse_publish(const char *spec, int need_guest, struct cli_publish *out)
{
	char buf[128];
	const char *hp, *gp = NULL;
	char *slash, *c1, *c2;

	memset(out, 0, sizeof(*out));
	strcpy(out->proto, "tcp");
	if (strlen(spec) >= sizeof(buf))
		return -1;
	strcpy(buf, spec);
	if ((slash = strchr(buf, '/'))) {
		*slash = '\0';
		if (strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp"))
			return -1;
		strcpy(out->proto, slash + 1);
	}
	/* [HOST_IP:]HOST_PORT:GUEST_PORT, or [HOST_IP:]HOST_PORT without a guest. */
	c2 = need_guest ? strrchr(buf, ':') : NULL;
	if (need_guest && !c2) /* -p GUEST_PORT: a free host port is picked (docker, the reference) */
		return port_num(buf, strlen(buf), 0, &out->guest_port);
	if (need_guest) {
		*c2 = '\0';
		gp = c2 + 1;
	}
	c1 = strrchr(buf, ':');
	if (c1) {
		*c1 = '\0';
		if (strlen(buf) >= sizeof(out->ip) || !buf[0])
			return -1;
		strcpy(out->ip, buf);
		hp = c1 + 1;
	} else {
		hp = buf;
	}
	if (port_num(hp, strlen(hp), need_guest, &out->host_port) < 0 ||
	    (gp && port_num(gp, strlen(gp), 0, &out->guest_port) < 0))
		return -1;
	return 0;
}

int cli_add_publish(const char *cmd, boxlite_box_options *o, const char *spec)
{
	struct cli_publish p;

	if (cli_parse_publish(spec, 1, &p) == 0 &&
	    boxlite_box_options_add_port(o, p.ip, p.host_port, p.guest_port, p.proto) == 0)
		return 0;
	cli_usage_error(cmd, "-p wants [[HOST_IP:]HOST_PORT:]GUEST_PORT[/tcp|/udp] (IPv4; no host port, or 0, "
			     "picks a free one), got '%s'", spec);
	return -1;
}

int cli_add_volume(const char *cmd, boxlite_box_options *o, const char *spec)
{
	char buf[2 * PATH_MAX], host[PATH_MAX];
	char *guest, *mode;
	int ro = 0, rc;

	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	/* An anonymous volume: GUEST_PATH[:ro|:rw] (a directory of its own
	 * under the home, removed with the box). */
	if (buf[0] == '/' && (!(mode = strchr(buf, ':')) || !strcmp(mode, ":ro") || !strcmp(mode, ":rw"))) {
		if (mode)
			*mode++ = '\0';
		if (boxlite_box_options_add_volume(o, NULL, buf, mode && !strcmp(mode, "ro")) == 0)
			return 0;
		goto bad;
	}
	guest = strchr(buf, ':');
	if (!guest || guest == buf)
		goto bad;
	*guest++ = '\0';
	if ((mode = strchr(guest, ':'))) {
		*mode++ = '\0';
		if (!strcmp(mode, "ro"))
			ro = 1;
		else if (strcmp(mode, "rw"))
			goto bad;
	}
	if (buf[0] == '/') {
		snprintf(host, sizeof(host), "%s", buf);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(host, sizeof(host), "%s/%s", cwd, buf) >= (int)sizeof(host))
			goto bad;
	}
	rc = boxlite_box_options_add_volume(o, host, guest, ro);
	if (rc == 0)
		return 0;
bad:
	cli_usage_error(cmd, "-v wants HOST_PATH:GUEST_PATH[:ro] or GUEST_PATH[:ro] (GUEST_PATH absolute, without "
			     "'.' or '..'), got '%s'", spec);
	return -1;
}
