/* Run-time port forwards (PORT_ADD, PORT_REMOVE from a client): QEMU's
 * user-mode network adds or drops a host forward while the guest runs, via
 * HMP hostfwd_add/hostfwd_remove. The library keeps the box's record; the
 * shim only applies the change to the running VM. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shim.h"

#define PORT_QMP_TIMEOUT_MS 2000

struct port_req {
	char ip[INET_ADDRSTRLEN];
	uint32_t host, guest, udp;
};

static int parse(uint16_t type, const uint8_t *p, size_t len, struct port_req *r, struct bx_error *err)
{
	struct bxp_reader rd;
	struct bxp_field f;
	struct in_addr a;
	int rc;

	memset(r, 0, sizeof(*r));
	bxp_reader_init(&rd, p, len);
	while ((rc = bxp_next(&rd, &f)) == 1) {
		if ((f.tag == BXT_PORT_HOST_IP && bxp_field_str(&f, r->ip, sizeof(r->ip)) < 0) ||
		    (f.tag == BXT_PORT_HOST && bxp_field_u32(&f, &r->host) < 0) ||
		    (f.tag == BXT_PORT_GUEST && bxp_field_u32(&f, &r->guest) < 0) ||
		    (f.tag == BXT_PORT_UDP && bxp_field_u32(&f, &r->udp) < 0))
			return bx_err(err, -EINVAL, "port request: malformed field %u", f.tag);
	}
	if (rc < 0)
		return bx_err(err, -EINVAL, "port request: malformed fields");
	/* Only digits and a dotted quad reach the HMP command line. */
	if (inet_pton(AF_INET, r->ip, &a) != 1)
		return bx_err(err, -EINVAL, "port request: host address '%s' is not IPv4", r->ip);
	if (r->host < 1 || r->host > 65535 ||
	    (type == BXP_PORT_ADD && (r->guest < 1 || r->guest > 65535)))
		return bx_err(err, -EINVAL, "port request: port out of range");
	return 0;
}

int shim_port_forward(const struct shim *s, uint16_t type, const uint8_t *p, size_t len, struct bx_error *err)
{
	struct port_req r;
	char line[128];
	char *out = NULL;
	int rc;

	if (!s->cfg.network)
		return bx_err(err, -ENETDOWN, "the box has no network");
	if ((rc = parse(type, p, len, &r, err)) < 0)
		return rc;
	if (type == BXP_PORT_ADD)
		snprintf(line, sizeof(line), "hostfwd_add n0 %s:%s:%u-:%u", r.udp ? "udp" : "tcp", r.ip,
			 r.host, r.guest);
	else
		snprintf(line, sizeof(line), "hostfwd_remove n0 %s:%s:%u", r.udp ? "udp" : "tcp", r.ip, r.host);
	if ((rc = qmp_hmp(QMP_SOCK, line, &out, PORT_QMP_TIMEOUT_MS, err)) < 0)
		return rc;
	/* hostfwd_add prints nothing on success; hostfwd_remove says "removed". */
	if (type == BXP_PORT_ADD && out[0])
		rc = bx_err(err, -EADDRINUSE, "port %s:%u/%s is already in use on the host", r.ip, r.host,
			    r.udp ? "udp" : "tcp");
	else if (type == BXP_PORT_REMOVE && !strstr(out, "removed"))
		rc = bx_err(err, -ENOENT, "port %s:%u/%s is not published", r.ip, r.host, r.udp ? "udp" : "tcp");
	out[strcspn(out, "\r\n")] = '\0';
	bx_info("QMP %s: %s%s", line, rc < 0 ? "failed: " : "done", rc < 0 ? out : "");
	free(out);
	return rc;
}
