/* libboxlite internals shared between the library's files. */
#ifndef BOXLITE_LIB_INTERNAL_H
#define BOXLITE_LIB_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "boxlite.h"
#include "engine.h"
#include "error.h"
#include "fsutil.h"
#include "netvol.h"
#include "registry_config.h"
#include "store.h"

#define BX_EXPORT __attribute__((visibility("default")))

struct boxlite_error {
	int code;
	enum boxlite_error_origin origin;
	char msg[BX_ERR_MSG_MAX];
};

/* Hands an internal error to the caller of a public function. Returns rc. */
int bx_error_export(int rc, struct bx_error *e, enum boxlite_error_origin origin, boxlite_error **out);

struct bx_store;

struct boxlite_runtime {
	struct bx_store *store;
	char *recovery_report; /* what bx_recover cleaned, "" if nothing */
	int recovering;        /* bx_recover holds the home lock exclusively */
	char home[PATH_MAX];
	char share_dir[PATH_MAX];
	char kernel[PATH_MAX];
	char initramfs[PATH_MAX];
	char shim[PATH_MAX];
	char qemu[PATH_MAX];
	int accel_decided;
	enum bx_accel accel;
	char accel_reason[256];
	struct bx_registries registries;   /* boxlite_runtime_set_image_registries */
	struct bx_engine_caps engine_caps; /* asked once, by runtime_info_get */
	int engine_probed;
	pthread_mutex_t lazy_mu; /* guards the lazily decided accel and engine caps */
	struct bx_rest *remote;  /* a remote runtime (rest/): every call goes to the server */
};

struct boxlite_box_options {
	char *image;
	char *rootfs; /* a root filesystem directory instead of the image, or NULL */
	uint32_t cpus;
	uint32_t memory_mib;
	char **env; /* NULL-terminated */
	size_t n_env;
	char *workdir;
	char **command; /* NULL: the image's Cmd */
	int network;
	int detach;
	char *name;        /* NULL: none */
	char *user;        /* NULL: the image's */
	char **entrypoint; /* NULL: the image's; {NULL}: none */
	uint32_t disk_size_gb; /* 0: the image's size */
	int auto_remove;
	int security;          /* enum boxlite_security */
	int pull_policy;       /* enum boxlite_pull_policy */
	struct bx_netvol nv;   /* published ports, volumes */
	int tty;               /* main command on a pty of tty_rows x tty_cols */
	uint16_t tty_rows, tty_cols;
	char **cap_add, **cap_drop; /* capability names, NULL-terminated (caps.h) */
};

struct boxlite_box {
	boxlite_runtime *rt;
	char id[13];
	char dir[PATH_MAX];
	char **env;      /* image env + box env, merged; NULL-terminated */
	char *workdir;   /* default cwd for commands */
	char *user;      /* image default user, or NULL */
	char **main_argv;/* entrypoint + command, NULL-terminated (may be empty) */
	uint32_t cpus, memory_mib;
	int network, detach;
	char *name, *image;   /* name NULL: none */
	uint32_t disk_size_gb;
	int auto_remove;
	int security;         /* enum boxlite_security: this handle's starts only */
	struct bx_netvol nv;  /* published ports (host port resolved), volumes */
	int tty;              /* the main command runs on a pty (kept in the config) */
	uint16_t tty_rows, tty_cols; /* its size at the next start (0: 24 x 80) */
	int job;              /* created with a command of its own: exec and copy never start
			       * it implicitly, as that would run the command (bx_box_wake) */
	int has_caps;         /* 0: a box made before capabilities were kept: all of them */
	uint64_t caps;        /* capabilities its processes keep (caps.h) */
	int removed;          /* record and files are gone */
	struct bx_box_record *rec; /* last state read from the store */
	struct bx_box_record *info_rec; /* strings handed out by boxlite_box_info_get */
	pid_t shim_pid;       /* 0 when not started */
	int watchdog_fd;      /* write end of the watchdog pipe, -1 when detached */
	int dir_fd;           /* O_PATH fd of dir, to address its sockets */
	boxlite_timings timings;
	struct bx_rbox *remote; /* a box of a remote runtime (rest/remote.c) */
};

/* paths.c */
int bx_paths_resolve(boxlite_runtime *rt, struct bx_error *err);
uint64_t bx_now_ns(void);

/* accel.c */
int bx_accel_decide(boxlite_runtime *rt, struct bx_error *err);

/* images.c: resolves a reference to an image in the home (importing a
 * built-in image on first use). */
struct bx_image;
int bx_images_resolve(boxlite_runtime *rt, const char *ref, struct bx_image *out, struct bx_error *err);

#include "disk.h"

/* options.c: 1..64 of [A-Za-z0-9_.-], starting alphanumeric. */
int bx_valid_box_name(const char *name);

/* box.c */
/* Brings the record of box in line with its processes (shim dead -> stopped
 * or failed, from its exit file) unless another process holds its lock.
 * Removes an auto-remove box that has stopped (then returns -ENOENT). */
int bx_box_reconcile(boxlite_box *box, struct bx_error *err);
int bx_box_load(boxlite_runtime *rt, const struct bx_box_record *rec, boxlite_box **out,
		struct bx_error *err);

/* recovery.c: at runtime open, under the exclusive home lock. *report is a
 * malloc'd summary of what was cleaned ("" when nothing). */
int bx_recover(boxlite_runtime *rt, char **report, struct bx_error *err);

/* client.c: one connection to a box's shim. */
int bx_client_connect(boxlite_box *box, int timeout_ms, struct bx_error *err);

#endif
