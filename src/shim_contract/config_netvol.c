/* Shim config: published ports and volumes (config_netvol.h). */
#include "config_netvol.h"

#include "egress_policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bx_valid_ipv4(const char *s)
{
	struct in_addr a;
	return s && inet_pton(AF_INET, s, &a) == 1;
}

int bx_valid_guest_path(const char *s)
{
	const char *p;

	if (!s || s[0] != '/' || strlen(s) > 1024 || !strcmp(s, "/"))
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			return 0;
	/* No "." or ".." component: the agent mounts exactly there. */
	for (p = s; *p;) {
		const char *e;
		while (*p == '/')
			p++;
		e = strchrnul(p, '/');
		if ((e - p == 1 && p[0] == '.') || (e - p == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p = e;
	}
	return 1;
}

static int port_num(json_t *o, const char *key, unsigned *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		return -1;
	*out = (unsigned)json_integer_value(v);
	return 0;
}

static int parse_ports(json_t *arr, struct bx_shim_config *cfg, struct bx_error *err)
{
	json_t *item;
	size_t i;

	if (!json_is_array(arr))
		return bx_err(err, -EINVAL, "config: field \"ports\" must be an array");
	cfg->ports = calloc(json_array_size(arr) + 1, sizeof(*cfg->ports));
	if (!cfg->ports)
		return bx_err(err, -ENOMEM, "config: out of memory");
	json_array_foreach(arr, i, item) {
		struct bx_vm_port *p = &cfg->ports[i];
		json_t *ip = json_object_get(item, "host_ip"), *proto = json_object_get(item, "proto");

		if (!json_is_object(item) || json_object_size(item) != 4 || !json_is_string(ip) ||
		    !bx_valid_ipv4(json_string_value(ip)) || !json_is_string(proto) ||
		    (strcmp(json_string_value(proto), "tcp") && strcmp(json_string_value(proto), "udp")) ||
		    port_num(item, "host_port", &p->host_port) < 0 ||
		    port_num(item, "guest_port", &p->guest_port) < 0)
			return bx_err(err, -EINVAL, "config: ports[%zu] is malformed", i);
		p->udp = !strcmp(json_string_value(proto), "udp");
		p->host_ip = strdup(json_string_value(ip));
		cfg->n_ports = i + 1;
		if (!p->host_ip)
			return bx_err(err, -ENOMEM, "config: out of memory");
	}
	return 0;
}

static int parse_volumes(json_t *arr, struct bx_shim_config *cfg, struct bx_error *err)
{
	json_t *item;
	size_t i;

	if (!json_is_array(arr))
		return bx_err(err, -EINVAL, "config: field \"volumes\" must be an array");
	cfg->volumes = calloc(json_array_size(arr) + 1, sizeof(*cfg->volumes));
	if (!cfg->volumes)
		return bx_err(err, -ENOMEM, "config: out of memory");
	json_array_foreach(arr, i, item) {
		struct bx_vm_volume *v = &cfg->volumes[i];
		json_t *h = json_object_get(item, "host"), *g = json_object_get(item, "guest"),
		       *ro = json_object_get(item, "read_only");

		if (!json_is_object(item) || json_object_size(item) != 3 || !json_is_string(h) ||
		    json_string_value(h)[0] != '/' || strlen(json_string_value(h)) != json_string_length(h) ||
		    !json_is_string(g) || !bx_valid_guest_path(json_string_value(g)) ||
		    strlen(json_string_value(g)) != json_string_length(g) || !json_is_boolean(ro))
			return bx_err(err, -EINVAL, "config: volumes[%zu] is malformed", i);
		v->read_only = json_is_true(ro);
		v->host = strdup(json_string_value(h));
		v->guest = strdup(json_string_value(g));
		cfg->n_volumes = i + 1;
		if (!v->host || !v->guest)
			return bx_err(err, -ENOMEM, "config: out of memory");
	}
	return 0;
}

static int parse_allow_net(json_t *arr, struct bx_shim_config *cfg, struct bx_error *err)
{
	json_t *item;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) > BX_EGRESS_MAX_ENTRIES)
		return bx_err(err, -EINVAL, "config: field \"allow_net\" must be an array of at most %d entries",
			      BX_EGRESS_MAX_ENTRIES);
	cfg->allow_net = calloc(json_array_size(arr) + 1, sizeof(*cfg->allow_net));
	if (!cfg->allow_net)
		return bx_err(err, -ENOMEM, "config: out of memory");
	json_array_foreach(arr, i, item) {
		struct bx_egress_rule r;

		if (!json_is_string(item) || strlen(json_string_value(item)) != json_string_length(item) ||
		    bx_egress_parse_entry(json_string_value(item), &r) < 0)
			return bx_err(err, -EINVAL, "config: allow_net[%zu] is malformed", i);
		cfg->allow_net[i] = strdup(json_string_value(item));
		cfg->n_allow_net = i + 1;
		if (!cfg->allow_net[i])
			return bx_err(err, -ENOMEM, "config: out of memory");
	}
	return 0;
}

int bx_shim_config_parse_netvol(json_t *root, struct bx_shim_config *cfg, struct bx_error *err)
{
	json_t *v;
	int rc;

	if ((v = json_object_get(root, "allow_net")) && (rc = parse_allow_net(v, cfg, err)) < 0)
		return rc;

	if ((v = json_object_get(root, "ports")) && (rc = parse_ports(v, cfg, err)) < 0)
		return rc;
	if ((v = json_object_get(root, "volumes")) && (rc = parse_volumes(v, cfg, err)) < 0)
		return rc;
	return 0;
}

int bx_shim_config_netvol_json(const struct bx_shim_config *cfg, json_t *root)
{
	int bad = 0;

	if (cfg->n_ports) {
		json_t *a = json_array();
		bad |= !a;
		for (size_t i = 0; a && i < cfg->n_ports; i++) {
			const struct bx_vm_port *p = &cfg->ports[i];
			bad |= json_array_append_new(
				a, json_pack("{s:s, s:i, s:i, s:s}", "host_ip", p->host_ip, "host_port",
					     (int)p->host_port, "guest_port", (int)p->guest_port, "proto",
					     p->udp ? "udp" : "tcp"));
		}
		bad |= json_object_set_new(root, "ports", a);
	}
	if (cfg->n_volumes) {
		json_t *a = json_array();
		bad |= !a;
		for (size_t i = 0; a && i < cfg->n_volumes; i++) {
			const struct bx_vm_volume *v = &cfg->volumes[i];
			bad |= json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "host", v->host, "guest",
								  v->guest, "read_only", v->read_only));
		}
		bad |= json_object_set_new(root, "volumes", a);
	}
	if (cfg->n_allow_net) {
		json_t *a = json_array();
		bad |= !a;
		for (size_t i = 0; a && i < cfg->n_allow_net; i++)
			bad |= json_array_append_new(a, json_string(cfg->allow_net[i]));
		bad |= json_object_set_new(root, "allow_net", a);
	}
	return bad;
}

void bx_shim_config_free_netvol(struct bx_shim_config *cfg)
{
	for (size_t i = 0; cfg->ports && i < cfg->n_ports; i++)
		free(cfg->ports[i].host_ip);
	free(cfg->ports);
	for (size_t i = 0; cfg->volumes && i < cfg->n_volumes; i++) {
		free(cfg->volumes[i].host);
		free(cfg->volumes[i].guest);
	}
	free(cfg->volumes);
	for (size_t i = 0; cfg->allow_net && i < cfg->n_allow_net; i++)
		free(cfg->allow_net[i]);
	free(cfg->allow_net);
	cfg->allow_net = NULL;
	cfg->n_allow_net = 0;
	cfg->ports = NULL;
	cfg->volumes = NULL;
	cfg->n_ports = cfg->n_volumes = 0;
}
