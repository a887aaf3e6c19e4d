/* Published ports and volumes of a box: held by options and boxes, stored
 * in the box's config document, handed to the shim (engine.h structs). */
#ifndef BOXLITE_LIB_NETVOL_H
#define BOXLITE_LIB_NETVOL_H

#include <jansson.h>
#include <stddef.h>

#include "engine.h"
#include "error.h"

struct bx_netvol {
	struct bx_vm_port *ports;
	size_t n_ports;
	struct bx_vm_volume *vols;
	size_t n_vols;
	char **allow;   /* --allow-net entries (egress_policy.h), as given */
	size_t n_allow;
};

/* Syntax checks only; host paths and ports are checked at create/start.
 * host_ip NULL or "": 127.0.0.1. proto NULL, "tcp" or "udp". */
int bx_netvol_add_port(struct bx_netvol *nv, const char *host_ip, unsigned host_port,
		       unsigned guest_port, const char *proto);
int bx_netvol_add_volume(struct bx_netvol *nv, const char *host, const char *guest, int read_only);
/* Index of the port published on host_ip:host_port/(udp ? udp : tcp), or -ENOENT. */
int bx_netvol_find_port(const struct bx_netvol *nv, const char *host_ip, unsigned host_port, int udp);
void bx_netvol_remove_port(struct bx_netvol *nv, size_t i);
/* An --allow-net entry: HOST, *.DOMAIN, IP or CIDR. 0, -EINVAL, -E2BIG or -ENOMEM. */
int bx_netvol_add_allow(struct bx_netvol *nv, const char *entry);
int bx_netvol_copy(struct bx_netvol *dst, const struct bx_netvol *src);
void bx_netvol_free(struct bx_netvol *nv);

/* Anonymous volumes (host path ""): a directory of their own under the
 * home, removed with the box. */
#define BX_ANON_VOLUMES "volumes/anonymous"

/* At create: anonymous volumes get their directory; host paths made
 * canonical (missing: -ENOENT, named; one that contains or lies inside home,
 * anonymous ones apart: -EINVAL), host port 0 replaced by a free port (bind
 * to port 0, read it back, close). */
int bx_netvol_prepare(struct bx_netvol *nv, const char *home, struct bx_error *err);
/* At remove: deletes the box's anonymous volumes. */
void bx_netvol_remove_anonymous(const struct bx_netvol *nv, const char *home);
/* Whether one of the volumes is an anonymous volume of this home. */
int bx_netvol_has_anonymous(const struct bx_netvol *nv, const char *home);
/* config (a box's stored config) with each anonymous volume replaced by a
 * copy of its own (cp -a into a new directory): a clone's. *out malloc'd;
 * on failure no copy is left. */
int bx_netvol_copy_anonymous(const char *config, const char *home, char **out, struct bx_error *err);
/* At start: each published host port must be free (-EADDRINUSE, named), and
 * each volume's host path must still be a directory or file. */
int bx_netvol_check(const struct bx_netvol *nv, struct bx_error *err);

/* Sets "ports" and "volumes" (and "allow_net" when set) in o (a box config
 * document). Returns 0/-ENOMEM. */
int bx_netvol_to_json(const struct bx_netvol *nv, json_t *o);
/* Reads them back (absent: none). Returns 0, -EIO (malformed) or -ENOMEM. */
int bx_netvol_from_json(struct bx_netvol *nv, json_t *o);

/* "8000/tcp -> 127.0.0.1:34567\n" per port, malloc'd. */
char *bx_netvol_ports_text(const struct bx_netvol *nv);

#endif
