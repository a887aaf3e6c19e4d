/* Publishing and unpublishing ports after create: the box's record changes
 * under its lock, and a running (or paused) box gets the forward at once
 * through its shim (PORT_ADD/PORT_REMOVE -> QMP). A stopped box picks the
 * change up at its next start, like ports given at create. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "box_impl.h"
#include "remote.h"
#include "conn.h"
#include "lock.h"

#define PORT_REQUEST_TIMEOUT_MS 10000

static int live(const boxlite_box *box)
{
	return box->rec->state == BOXLITE_BOX_RUNNING || box->rec->state == BOXLITE_BOX_PAUSED;
}

static int send_to_shim(boxlite_box *box, uint16_t type, const struct bx_vm_port *p, struct bx_error *err)
{
	uint8_t buf[128];
	struct bxp_writer w;
	struct bx_conn *c = NULL;
	int rc;

	bxp_writer_init(&w, buf, sizeof(buf));
	bxp_put_str(&w, BXT_PORT_HOST_IP, p->host_ip);
	bxp_put_u32(&w, BXT_PORT_HOST, p->host_port);
	if (type == BXP_PORT_ADD)
		bxp_put_u32(&w, BXT_PORT_GUEST, p->guest_port);
	bxp_put_u32(&w, BXT_PORT_UDP, (uint32_t)p->udp);
	if (w.overflow)
		return bx_err(err, -EINVAL, "port request too large");
	if ((rc = bx_conn_open(box, 5000, &c, err)) == 0)
		rc = bx_conn_request(c, type, buf, w.len, PORT_REQUEST_TIMEOUT_MS,
				     type == BXP_PORT_ADD ? "publishing a port" : "unpublishing a port", err);
	bx_conn_close(c);
	return rc;
}

/* Stores box->nv in the record; on failure the caller undoes its change. */
static int save(boxlite_box *box, struct bx_error *err)
{
	char *config = bx_box_config_json(box);
	int rc;

	if (!config)
		return bx_err(err, -ENOMEM, "out of memory");
	rc = bx_store_update_config(box->rt->store, box->id, config, err);
	if (rc == 0) {
		free(box->rec->config);
		box->rec->config = config;
	} else {
		free(config);
	}
	return rc;
}

/* Locks the box, settles its state, and refuses boxes without a network. */
static int begin(boxlite_box *box, int *lock, struct bx_error *err)
{
	int rc;

	if ((rc = bx_lock_box(box->rt->home, box->id, lock, err)) < 0)
		return rc;
	if ((rc = bx_box_reconcile_locked(box, err)) < 0)
		return rc;
	if (!box->network)
		return bx_err(err, -EINVAL, "box %s has no network (created with networking off)", box->id);
	if (box->rec->state == BOXLITE_BOX_STARTING || box->rec->state == BOXLITE_BOX_STOPPING)
		return bx_err(err, -EBUSY, "box %s is %s; try again when it has settled", box->id,
			      bx_state_name(box->rec->state));
	return 0;
}

static int port_add(boxlite_box *box, const char *host_ip, uint32_t host_port, uint32_t guest_port,
		    const char *proto, uint32_t *bound, struct bx_error *err)
{
	struct bx_netvol one = { 0 };
	struct bx_vm_port *p;
	int lock = -1, rc;

	rc = bx_netvol_add_port(&one, host_ip, host_port, guest_port, proto);
	if (rc < 0) {
		rc = bx_err(err, rc, "bad port: wants an IPv4 host address, host port 0-65535, guest port "
				     "1-65535 and tcp or udp");
		goto out;
	}
	p = &one.ports[0];
	if ((rc = begin(box, &lock, err)) < 0)
		goto out;
	if (p->host_port && bx_netvol_find_port(&box->nv, p->host_ip, p->host_port, p->udp) >= 0) {
		rc = bx_err(err, -EEXIST, "box %s already publishes %s:%u/%s", box->id, p->host_ip,
			    p->host_port, p->udp ? "udp" : "tcp");
		goto out;
	}
	/* Port 0 becomes a free port; a given one must be free now. */
	if ((rc = bx_netvol_prepare(&one, box->rt->home, err)) < 0 || (rc = bx_netvol_check(&one, err)) < 0)
		goto out;
	if (live(box) && (rc = send_to_shim(box, BXP_PORT_ADD, p, err)) < 0)
		goto out;
	if ((rc = bx_netvol_add_port(&box->nv, p->host_ip, p->host_port, p->guest_port, proto)) < 0) {
		rc = bx_err(err, rc, "out of memory");
	} else if ((rc = save(box, err)) < 0) {
		bx_netvol_remove_port(&box->nv, box->nv.n_ports - 1);
	}
	if (rc < 0 && live(box)) {
		struct bx_error ignored = { 0 };
		send_to_shim(box, BXP_PORT_REMOVE, p, &ignored);
		bx_err_clear(&ignored);
	}
	if (rc == 0 && bound)
		*bound = p->host_port;
out:
	bx_unlock(&lock);
	bx_netvol_free(&one);
	return rc;
}

static int port_remove(boxlite_box *box, const char *host_ip, uint32_t host_port, const char *proto,
		       struct bx_error *err)
{
	struct bx_vm_port gone = { 0 };
	int lock = -1, udp, i, rc;

	if (!host_ip || !*host_ip)
		host_ip = "127.0.0.1";
	if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp"))
		return bx_err(err, -EINVAL, "bad protocol '%s': tcp or udp", proto);
	udp = proto && !strcmp(proto, "udp");
	if ((rc = begin(box, &lock, err)) < 0)
		goto out;
	if ((i = bx_netvol_find_port(&box->nv, host_ip, host_port, udp)) < 0) {
		rc = bx_err(err, -ENOENT, "box %s does not publish %s:%u/%s (see boxlite port %s)", box->id,
			    host_ip, host_port, udp ? "udp" : "tcp", box->id);
		goto out;
	}
	gone = box->nv.ports[i];
	if (!(gone.host_ip = strdup(gone.host_ip))) {
		rc = bx_err(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* A live forward QEMU does not know (lost to a crash) is already gone. */
	if (live(box) && (rc = send_to_shim(box, BXP_PORT_REMOVE, &gone, err)) < 0 && rc != -ENOENT)
		goto out;
	bx_err_clear(err);
	bx_netvol_remove_port(&box->nv, (size_t)i);
	if ((rc = save(box, err)) < 0) {
		bx_netvol_add_port(&box->nv, gone.host_ip, gone.host_port, gone.guest_port,
				   gone.udp ? "udp" : "tcp");
		if (live(box)) {
			struct bx_error ignored = { 0 };
			send_to_shim(box, BXP_PORT_ADD, &gone, &ignored);
			bx_err_clear(&ignored);
		}
	}
out:
	free(gone.host_ip);
	bx_unlock(&lock);
	return rc;
}

BX_EXPORT int boxlite_box_port_add(boxlite_box *box, const char *host_ip, uint32_t host_port,
				   uint32_t guest_port, const char *proto, uint32_t *bound, boxlite_error **errp)
{
	BX_REMOTE(box->rt && box->rt->remote, bx_remote_unsupported(&e_, "publishing a port"));
	struct bx_error err = { 0 };
	int rc = box ? port_add(box, host_ip, host_port, guest_port, proto, bound, &err)
		     : bx_err(&err, -EINVAL, "bad arguments to boxlite_box_port_add");
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}

BX_EXPORT int boxlite_box_port_remove(boxlite_box *box, const char *host_ip, uint32_t host_port,
				      const char *proto, boxlite_error **errp)
{
	BX_REMOTE(box->rt && box->rt->remote, bx_remote_unsupported(&e_, "unpublishing a port"));
	struct bx_error err = { 0 };
	int rc = box ? port_remove(box, host_ip, host_port, proto, &err)
		     : bx_err(&err, -EINVAL, "bad arguments to boxlite_box_port_remove");
	return rc < 0 ? bx_error_export(rc, &err, BOXLITE_ORIGIN_RUNTIME, errp) : 0;
}
