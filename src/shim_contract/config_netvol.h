/* The "ports" and "volumes" members of the shim config (shim_config.h):
 *   "ports":   [{"host_ip": "127.0.0.1", "host_port": 8080, "guest_port": 80,
 *                "proto": "tcp"|"udp"}, ...]
 *   "volumes": [{"host": "/abs", "guest": "/abs", "read_only": false}, ...]
 *   "allow_net": ["example.com", "*.pypi.org", "10.0.0.0/8", ...]
 * Both optional (absent = none). Kept apart from config.c. */
#ifndef BOXLITE_SHIM_CONFIG_NETVOL_H
#define BOXLITE_SHIM_CONFIG_NETVOL_H

#include <jansson.h>

#include "shim_config.h"

int bx_shim_config_parse_netvol(json_t *root, struct bx_shim_config *cfg, struct bx_error *err);
/* Adds the members to root; returns nonzero on failure (out of memory). */
int bx_shim_config_netvol_json(const struct bx_shim_config *cfg, json_t *root);
void bx_shim_config_free_netvol(struct bx_shim_config *cfg);

/* Shared validation (library and shim): an IPv4 literal; an absolute
 * path without "." or ".." components, NUL, ',' in guest paths or ':' . */
int bx_valid_ipv4(const char *s);
int bx_valid_guest_path(const char *s);

#endif
