/* The shim's configuration: the JSON document the library writes to the
 * shim's stdin (docs/architecture.md, "Shim contract"). Shared by both ends:
 * the library fills the struct and serializes it, the shim parses it. It may
 * hold secrets (env), so neither side ever logs it, only its size. */
#ifndef BOXLITE_SHIM_SHIM_CONFIG_H
#define BOXLITE_SHIM_SHIM_CONFIG_H

#include <stddef.h>

#include "engine.h"
#include "error.h"

#define BX_SHIM_CONFIG_VERSION 1
#define BX_SHIM_CONFIG_MAX (1024 * 1024) /* bytes of JSON, at most */

/* The jail around the shim and QEMU (src/shim/jail.c): on unless asked. */
enum bx_security { BX_SECURITY_JAIL = 0, BX_SECURITY_DEVELOPMENT = 1 };

struct bx_shim_config {
	int version;             /* BX_SHIM_CONFIG_VERSION */
	char *box_id;
	char *box_dir;           /* absolute; the shim chdirs here */
	int detach;
	char *qemu;              /* absolute path of qemu-system-x86_64 */
	enum bx_accel accel;     /* "tcg" | "kvm" */
	char *kernel;            /* absolute */
	char *initramfs;         /* absolute */
	unsigned cpus;
	unsigned memory_mib;
	char *root_disk;         /* relative to box_dir (or absolute) */
	int network;             /* "user" = 1, "none" = 0 */
	char *hostname;
	char **env;              /* NULL-terminated "K=V" (may be secrets) */
	/* Optional "ports" and "volumes" (config_netvol.h). */
	struct bx_vm_port *ports;
	size_t n_ports;
	struct bx_vm_volume *volumes;
	size_t n_volumes;
	/* Optional "allow_net": ["HOST", "*.DOMAIN", "IP", "CIDR", ...]: the
	 * egress allow-list (egress_policy.h); none = no policy (everything). */
	char **allow_net;
	size_t n_allow_net;
	size_t n_env;
	unsigned ready_timeout_ms;
	enum bx_security security; /* optional "security": "jail" (default) | "development" */
	int discard;             /* optional "discard": the disk is thrown away when the box
				  * stops (run --rm): when the main command ends, QEMU is
				  * killed at once instead of a graceful guest shutdown */
	char *resume_state;      /* optional "resume_state": absolute path of the box's own
				  * checkpoint (docs/checkpoints.md): QEMU loads it instead of
				  * booting and the agent's sessions go on; its RAM is in it */
	char *template_state;    /* optional "template_state": absolute path of a warm-start
				  * template's migration stream (docs/architecture.md, "Warm
				  * start"); the shim clones it instead of booting, and boots
				  * cold if that fails */
	int has_caps;            /* optional "capabilities": the mask (bit N: capability N) of
				  * what the box's processes keep; absent: all */
	uint64_t caps;
	char *template_ram;      /* optional "template_ram": absolute path of that template's
				  * RAM file, which QEMU maps read-only and copy-on-write
				  * (BX_MEM_CLONE); absent: the stream carries the RAM */
	char *template_error;    /* optional "template_error": why the library has no template
				  * for this box; logged, so a cold boot says why */
	/* Optional "main": {"argv": [...], "cwd": "/", "user": "u", "hold": false,
	 * "close_stdin": false, "tty": false, "rows": 24, "cols": 80}:
	 * the box's main command, started by the shim once the box is ready
	 * (with "hold", only when the first client attaches); its output goes
	 * to main.log, its status to the exit file, and its end stops the box. */
	char **main_argv;        /* NULL: no main command */
	char *main_cwd;          /* NULL: "/" */
	char *main_user;         /* NULL: root */
	int main_hold;
	int main_close_stdin;    /* "close_stdin": empty stdin (else open, never written),
				  * unless the attach that starts it takes stdin, or tty */
	int main_tty;            /* "tty": run it on a pseudo-terminal */
	unsigned main_rows, main_cols; /* "rows", "cols": its size (0: 24 x 80) */
};

/* Parses a config document of len bytes (need not be NUL-terminated). Every
 * field of the documented example is required; unknown keys, wrong types and
 * an unknown version are rejected. Error messages name keys, never values.
 * On failure *cfg is left empty (safe to free). */
int bx_shim_config_parse(const char *json, size_t len, struct bx_shim_config *cfg,
			 struct bx_error *err);

/* Serializes cfg into a malloc'd NUL-terminated compact JSON string. The
 * caller should wipe it (explicit_bzero) before freeing: it may hold secrets. */
int bx_shim_config_to_json(const struct bx_shim_config *cfg, char **json_out, struct bx_error *err);

/* Reads fd to EOF, at most BX_SHIM_CONFIG_MAX bytes (-EFBIG beyond).
 * *buf is malloc'd and NUL-terminated; *len excludes the NUL. */
int bx_shim_config_read_fd(int fd, char **buf, size_t *len, struct bx_error *err);

/* Frees and wipes every member (not cfg itself). NULL-safe, idempotent. */
void bx_shim_config_free(struct bx_shim_config *cfg);

#endif
