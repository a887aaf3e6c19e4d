/* Published ports and volumes (netvol.h). */
#include "netvol.h"
#include "fsutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_netvol.h"
#include "egress_policy.h"

#define NETVOL_MAX 256 /* ports, and volumes, per box */

int bx_netvol_add_port(struct bx_netvol *nv, const char *host_ip, unsigned host_port,
		       unsigned guest_port, const char *proto)
{
	struct bx_vm_port *p;
	int udp;

	if (!host_ip || !*host_ip)
		host_ip = "127.0.0.1";
	if (!proto || !strcmp(proto, "tcp"))
		udp = 0;
	else if (!strcmp(proto, "udp"))
		udp = 1;
	else
		return -EINVAL;
	if (!bx_valid_ipv4(host_ip) || host_port > 65535 || guest_port < 1 || guest_port > 65535)
		return -EINVAL;
	if (nv->n_ports >= NETVOL_MAX)
		return -E2BIG;
	p = realloc(nv->ports, (nv->n_ports + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	nv->ports = p;
	p = &nv->ports[nv->n_ports];
	memset(p, 0, sizeof(*p));
	p->host_ip = strdup(host_ip);
	if (!p->host_ip)
		return -ENOMEM;
	p->host_port = host_port;
	p->guest_port = guest_port;
	p->udp = udp;
	nv->n_ports++;
	return 0;
}

int bx_netvol_add_volume(struct bx_netvol *nv, const char *host, const char *guest, int read_only)
{
	struct bx_vm_volume *v;

	if (!host)
		host = ""; /* anonymous: made at create (bx_netvol_prepare) */
	if (strlen(host) >= PATH_MAX || !bx_valid_guest_path(guest))
		return -EINVAL;
	if (nv->n_vols >= NETVOL_MAX)
		return -E2BIG;
	v = realloc(nv->vols, (nv->n_vols + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	nv->vols = v;
	v = &nv->vols[nv->n_vols];
	v->host = strdup(host);
	v->guest = strdup(guest);
	v->read_only = !!read_only;
	if (!v->host || !v->guest) {
		free(v->host);
		free(v->guest);
		return -ENOMEM;
	}
	nv->n_vols++;
	return 0;
}

int bx_netvol_find_port(const struct bx_netvol *nv, const char *host_ip, unsigned host_port, int udp)
{
	for (size_t i = 0; i < nv->n_ports; i++)
		if (nv->ports[i].host_port == host_port && nv->ports[i].udp == !!udp &&
		    !strcmp(nv->ports[i].host_ip, host_ip))
			return (int)i;
	return -ENOENT;
}

void bx_netvol_remove_port(struct bx_netvol *nv, size_t i)
{
	free(nv->ports[i].host_ip);
	memmove(&nv->ports[i], &nv->ports[i + 1], (nv->n_ports - i - 1) * sizeof(nv->ports[0]));
	nv->n_ports--;
}

int bx_netvol_add_allow(struct bx_netvol *nv, const char *entry)
{
	struct bx_egress_rule r;
	char **a;

	if (bx_egress_parse_entry(entry, &r) < 0)
		return -EINVAL;
	if (nv->n_allow >= BX_EGRESS_MAX_ENTRIES)
		return -E2BIG;
	a = realloc(nv->allow, (nv->n_allow + 2) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	nv->allow = a;
	a[nv->n_allow] = strdup(entry);
	if (!a[nv->n_allow])
		return -ENOMEM;
	a[++nv->n_allow] = NULL;
	return 0;
}

void bx_netvol_free(struct bx_netvol *nv)
{
	for (size_t i = 0; i < nv->n_allow; i++)
		free(nv->allow[i]);
	free(nv->allow);
	for (size_t i = 0; i < nv->n_ports; i++)
		free(nv->ports[i].host_ip);
	free(nv->ports);
	for (size_t i = 0; i < nv->n_vols; i++) {
		free(nv->vols[i].host);
		free(nv->vols[i].guest);
	}
	free(nv->vols);
	memset(nv, 0, sizeof(*nv));
}

int bx_netvol_copy(struct bx_netvol *dst, const struct bx_netvol *src)
{
	int rc = 0;

	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; rc == 0 && i < src->n_ports; i++) {
		const struct bx_vm_port *p = &src->ports[i];
		rc = bx_netvol_add_port(dst, p->host_ip, p->host_port, p->guest_port, p->udp ? "udp" : "tcp");
	}
	for (size_t i = 0; rc == 0 && i < src->n_vols; i++)
		rc = bx_netvol_add_volume(dst, src->vols[i].host, src->vols[i].guest, src->vols[i].read_only);
	for (size_t i = 0; rc == 0 && i < src->n_allow; i++)
		rc = bx_netvol_add_allow(dst, src->allow[i]);
	if (rc < 0)
		bx_netvol_free(dst);
	return rc;
}

/* Binds host_ip:port (port 0: any) for proto; returns the bound port or -errno. */
static int try_bind(const struct bx_vm_port *p, unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(sin);
	int fd, rc, one = 1;

	if (inet_pton(AF_INET, p->host_ip, &sin.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* QEMU's slirp sets SO_REUSEADDR too: TIME_WAIT leftovers do not count. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		rc = -errno;
	else
		rc = ntohs(sin.sin_port);
	close(fd);
	return rc;
}

static int port_error(const struct bx_vm_port *p, unsigned port, int rc, struct bx_error *err)
{
	if (rc == -EADDRINUSE)
		return bx_err(err, rc, "port %s:%u/%s is already in use on the host", p->host_ip, port,
			      p->udp ? "udp" : "tcp");
	if (rc == -EADDRNOTAVAIL)
		return bx_err(err, rc, "cannot publish on %s: not an address of this host", p->host_ip);
	if (rc == -EACCES)
		return bx_err(err, rc, "port %s:%u/%s: permission denied (ports below 1024 need privileges)",
			      p->host_ip, port, p->udp ? "udp" : "tcp");
	return bx_err_sys(err, rc, "publishing %s:%u/%s", p->host_ip, port, p->udp ? "udp" : "tcp");
}

/* 1 when one of a, b is b, a or inside it. */
static int nested(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;

	if (strncmp(a, b, n))
		return 0;
	return na == nb || (na < nb ? b[n] == '/' || n == 1 : a[n] == '/' || n == 1);
}

/* <real home>/volumes/anonymous, where anonymous volumes live. */
static int anon_base(const char *home, char *out, size_t cap)
{
	char real_home[PATH_MAX];

	if (!realpath(home, real_home))
		return -errno;
	return bx_path_fmt(out, cap, "%s/" BX_ANON_VOLUMES, real_home) < 0 ? -ENAMETOOLONG : 0;
}

/* Is path a directory made for an anonymous volume of this home? */
static int is_anonymous(const char *base, const char *path)
{
	size_t n = strlen(base);

	return !strncmp(path, base, n) && path[n] == '/' && path[n + 1] && !strchr(path + n + 1, '/');
}

int bx_netvol_prepare(struct bx_netvol *nv, const char *home, struct bx_error *err)
{
	char real_home[PATH_MAX], anon[PATH_MAX];
	int rc;

	if (!realpath(home, real_home))
		return bx_err_sys(err, -errno, "boxlite home %s", home);
	if ((rc = anon_base(home, anon, sizeof(anon))) < 0)
		return bx_err_sys(err, rc, "boxlite home %s", home);
	for (size_t i = 0; i < nv->n_vols; i++) {
		char real[PATH_MAX], *dup;

		if (!nv->vols[i].host[0]) { /* anonymous: a new directory of its own */
			char dir[PATH_MAX];

			if ((rc = bx_mkdir_p(anon, 0755, err)) < 0)
				return rc;
			if (bx_path_fmt(dir, sizeof(dir), "%s/vol-XXXXXX", anon) < 0 || !mkdtemp(dir) ||
			    chmod(dir, 0755) < 0)
				return bx_err_sys(err, -errno, "anonymous volume for %s", nv->vols[i].guest);
			if (!(dup = strdup(dir)))
				return bx_err(err, -ENOMEM, "out of memory");
			free(nv->vols[i].host);
			nv->vols[i].host = dup;
			continue;
		}
		if (!realpath(nv->vols[i].host, real)) {
			if (errno == ENOENT)
				return bx_err(err, -ENOENT, "volume %s: host path does not exist (create it first)",
					      nv->vols[i].host);
			return bx_err_sys(err, -errno, "volume %s", nv->vols[i].host);
		}
		/* The home holds every box's disk and the database (secrets);
		 * an anonymous volume's own directory holds neither. */
		if (nested(real, real_home) && !is_anonymous(anon, real))
			return bx_err(err, -EINVAL,
				      "volume %s: %s boxlite's home %s (its database and every box's disks); "
				      "mount another directory, or use another --home",
				      nv->vols[i].host, strlen(real) <= strlen(real_home) ? "contains" : "is inside",
				      real_home);
		if (!(dup = strdup(real)))
			return bx_err(err, -ENOMEM, "out of memory");
		free(nv->vols[i].host);
		nv->vols[i].host = dup;
	}
	for (size_t i = 0; i < nv->n_ports; i++) {
		struct bx_vm_port *p = &nv->ports[i];

		if (p->host_port)
			continue;
		rc = try_bind(p, 0);
		if (rc < 0)
			return port_error(p, 0, rc, err);
		p->host_port = (unsigned)rc;
	}
	return 0;
}

int bx_netvol_has_anonymous(const struct bx_netvol *nv, const char *home)
{
	char anon[PATH_MAX];

	if (anon_base(home, anon, sizeof(anon)) < 0)
		return 0;
	for (size_t i = 0; i < nv->n_vols; i++)
		if (is_anonymous(anon, nv->vols[i].host))
			return 1;
	return 0;
}

int bx_netvol_copy_anonymous(const char *config, const char *home, char **out, struct bx_error *err)
{
	json_t *o = json_loads(config, 0, NULL), *vols = json_object_get(o, "volumes"), *v, *made;
	char anon[PATH_MAX], cp[PATH_MAX], msg[512];
	size_t i;
	int rc;

	*out = NULL;
	if (!o || !(made = json_array()))
		return bx_err(err, -EIO, "a box config that does not parse");
	if ((rc = anon_base(home, anon, sizeof(anon))) < 0)
		rc = bx_err_sys(err, rc, "boxlite home %s", home);
	else
		rc = bx_find_tool("cp", cp, sizeof(cp), err);
	json_array_foreach(vols, i, v) {
		const char *host = json_string_value(json_object_get(v, "host"));
		char dir[PATH_MAX], src[PATH_MAX + 2];

		if (rc < 0)
			break;
		if (!host || !is_anonymous(anon, host))
			continue;
		if (bx_path_fmt(dir, sizeof(dir), "%s/vol-XXXXXX", anon) < 0 || !mkdtemp(dir) || chmod(dir, 0755) < 0) {
			rc = bx_err_sys(err, -errno, "a copy of anonymous volume %s", host);
			break;
		}
		json_array_append_new(made, json_string(dir));
		snprintf(src, sizeof(src), "%s/.", host);
		/* -a: modes, owners, links and times as the box left them. */
		rc = bx_run_tool((const char *const[]){ cp, "-a", "--reflink=auto", src, dir, NULL }, msg, sizeof(msg), err);
		if (rc == 0 && json_object_set_new(v, "host", json_string(dir)) < 0)
			rc = bx_err(err, -ENOMEM, "out of memory");
	}
	if (rc == 0 && !(*out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		rc = bx_err(err, -ENOMEM, "out of memory");
	if (rc < 0) /* the copies made so far go */
		json_array_foreach(made, i, v)
			bx_rm_rf_at(AT_FDCWD, json_string_value(v), NULL);
	json_decref(made);
	json_decref(o);
	return rc;
}

void bx_netvol_remove_anonymous(const struct bx_netvol *nv, const char *home)
{
	char anon[PATH_MAX];

	if (anon_base(home, anon, sizeof(anon)) < 0)
		return;
	for (size_t i = 0; i < nv->n_vols; i++)
		if (is_anonymous(anon, nv->vols[i].host))
			bx_rm_rf_at(AT_FDCWD, nv->vols[i].host, NULL);
}

int bx_netvol_check(const struct bx_netvol *nv, struct bx_error *err)
{
	for (size_t i = 0; i < nv->n_vols; i++) {
		struct stat st;
		if (stat(nv->vols[i].host, &st) < 0)
			return bx_err_sys(err, -errno, "volume %s", nv->vols[i].host);
	}
	for (size_t i = 0; i < nv->n_ports; i++) {
		const struct bx_vm_port *p = &nv->ports[i];
		int rc = try_bind(p, p->host_port);

		if (rc < 0)
			return port_error(p, p->host_port, rc, err);
		for (size_t j = 0; j < i; j++)
			if (nv->ports[j].host_port == p->host_port && nv->ports[j].udp == p->udp &&
			    !strcmp(nv->ports[j].host_ip, p->host_ip))
				return bx_err(err, -EADDRINUSE, "port %s:%u/%s is published twice", p->host_ip,
					      p->host_port, p->udp ? "udp" : "tcp");
	}
	return 0;
}

int bx_netvol_to_json(const struct bx_netvol *nv, json_t *o)
{
	json_t *ports = json_array(), *vols = json_array();
	int bad = !ports || !vols;

	for (size_t i = 0; !bad && i < nv->n_ports; i++) {
		const struct bx_vm_port *p = &nv->ports[i];
		bad |= json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "host_ip", p->host_ip,
							      "host_port", (int)p->host_port, "guest_port",
							      (int)p->guest_port, "proto",
							      p->udp ? "udp" : "tcp"));
	}
	for (size_t i = 0; !bad && i < nv->n_vols; i++)
		bad |= json_array_append_new(vols, json_pack("{s:s, s:s, s:b}", "host", nv->vols[i].host,
							     "guest", nv->vols[i].guest, "read_only",
							     nv->vols[i].read_only));
	if (bad) {
		json_decref(ports);
		json_decref(vols);
		return -ENOMEM;
	}
	if (json_object_set_new(o, "ports", ports) < 0 || json_object_set_new(o, "volumes", vols) < 0)
		return -ENOMEM;
	if (nv->n_allow) { /* absent in older records: no policy */
		json_t *allow = json_array();
		bad = !allow;
		for (size_t i = 0; !bad && i < nv->n_allow; i++)
			bad |= json_array_append_new(allow, json_string(nv->allow[i]));
		if (bad || json_object_set_new(o, "allow_net", allow) < 0)
			return -ENOMEM;
	}
	return 0;
}

int bx_netvol_from_json(struct bx_netvol *nv, json_t *o)
{
	json_t *ports = json_object_get(o, "ports"), *vols = json_object_get(o, "volumes"), *it;
	size_t i;
	int rc;

	memset(nv, 0, sizeof(*nv));
	json_array_foreach(ports, i, it) {
		const char *ip = NULL, *proto = NULL;
		int hp = 0, gp = 0;

		if (json_unpack(it, "{s:s, s:i, s:i, s:s}", "host_ip", &ip, "host_port", &hp, "guest_port",
				&gp, "proto", &proto) < 0 || hp < 1)
			goto bad;
		if ((rc = bx_netvol_add_port(nv, ip, (unsigned)hp, (unsigned)gp, proto)) < 0)
			goto fail;
	}
	json_array_foreach(vols, i, it) {
		const char *h = NULL, *g = NULL;
		int ro = 0;

		if (json_unpack(it, "{s:s, s:s, s:b}", "host", &h, "guest", &g, "read_only", &ro) < 0)
			goto bad;
		if ((rc = bx_netvol_add_volume(nv, h, g, ro)) < 0)
			goto fail;
	}
	json_array_foreach(json_object_get(o, "allow_net"), i, it) {
		if (!json_is_string(it))
			goto bad;
		if ((rc = bx_netvol_add_allow(nv, json_string_value(it))) < 0)
			goto fail;
	}
	return 0;
bad:
	rc = -EIO;
fail:
	bx_netvol_free(nv);
	return rc == -ENOMEM ? rc : -EIO;
}

char *bx_netvol_ports_text(const struct bx_netvol *nv)
{
	char *s = strdup("");

	for (size_t i = 0; s && i < nv->n_ports; i++) {
		const struct bx_vm_port *p = &nv->ports[i];
		char *n = NULL;

		if (asprintf(&n, "%s%u/%s -> %s:%u\n", s, p->guest_port, p->udp ? "udp" : "tcp", p->host_ip,
			     p->host_port) < 0)
			n = NULL;
		free(s);
		s = n;
	}
	return s;
}
