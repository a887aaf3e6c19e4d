/* libboxlite internals shared between the library's files. */
#ifndef BOXLITE_LIB_INTERNAL_H
#define BOXLITE_LIB_INTERNAL_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "boxlite.h"
#include "engine.h"
#include "error.h"
#include "fsutil.h"

#define BX_EXPORT __attribute__((visibility("default")))

struct boxlite_error {
	int code;
	enum boxlite_error_origin origin;
	char msg[BX_ERR_MSG_MAX];
};

/* Hands an internal error to the caller of a public function. Returns rc. */
int bx_error_export(int rc, struct bx_error *e, enum boxlite_error_origin origin, boxlite_error **out);

struct boxlite_runtime {
	char home[PATH_MAX];
	char share_dir[PATH_MAX];
	char kernel[PATH_MAX];
	char initramfs[PATH_MAX];
	char shim[PATH_MAX];
	char qemu[PATH_MAX];
	int accel_decided;
	enum bx_accel accel;
	char accel_reason[256];
};

struct boxlite_box_options {
	char *image;
	uint32_t cpus;
	uint32_t memory_mib;
	char **env; /* NULL-terminated */
	size_t n_env;
	char *workdir;
	char **command; /* NULL: the image's Cmd */
	int network;
	int detach;
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
	pid_t shim_pid;       /* 0 when not started */
	int watchdog_fd;      /* write end of the watchdog pipe, -1 when detached */
	int dir_fd;           /* O_PATH fd of dir, to address its sockets */
	boxlite_timings timings;
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

/* disk.c */
int bx_disk_create_overlay(const char *base, const char *overlay, struct bx_error *err);

/* client.c: one connection to a box's shim. */
int bx_client_connect(boxlite_box *box, int timeout_ms, struct bx_error *err);

#endif
