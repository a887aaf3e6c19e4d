/* VM engines behind one interface (the reference system's VmmKind). Today
 * there is one: QEMU microvm. Another engine adds an ops table here. */
#ifndef BOXLITE_ENGINE_H
#define BOXLITE_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum bx_accel { BX_ACCEL_TCG = 0, BX_ACCEL_KVM = 1 };

/* Everything an engine needs to start one VM. Paths may be relative to the
 * process's working directory (the shim runs in the box directory). The
 * device set is fixed and independent of the image: same devices, same
 * order; only the host-side files behind them differ (needed for templates). */
/* A host forward of QEMU's user-mode network: host_ip:host_port on the host
 * to guest_port on the guest's address. */
struct bx_vm_port {
	char *host_ip;       /* IPv4 literal */
	unsigned host_port;  /* 1..65535 (0 is resolved by the library) */
	unsigned guest_port; /* 1..65535 */
	int udp;             /* 0: tcp */
};

/* A host directory shared with the guest over virtio-9p, as mount tag
 * "vol<index>"; the agent mounts it at guest (SETUP). */
struct bx_vm_volume {
	char *host;  /* absolute, canonical */
	char *guest; /* absolute path in the guest */
	int read_only;
};

/* How guest RAM in a file (bx_vm_spec.mem_path) is mapped. With the two
 * template modes, migration streams keep that RAM out (QMP capability
 * x-ignore-shared, set by the caller on both sides): the stream holds
 * device state only, the RAM stays in the file (docs/architecture.md,
 * "Warm start"). */
enum bx_vm_mem {
	BX_MEM_PRIVATE = 0, /* private: the box's own RAM, the file stays empty */
	BX_MEM_SHARED,      /* shared: a template being made writes its RAM to the file */
	BX_MEM_CLONE,       /* a template's RAM file, opened read-only and mapped
			     * private: the guest's writes are copy-on-write pages
			     * of its own, the file and its page cache are shared
			     * and never written (QEMU >= 8.2: readonly=on,rom=off) */
};

/* The URI a BX_MEM_CLONE spec's QMP migrate-incoming names: the fd set
 * that holds spec.incoming_fd. */
#define BX_VM_INCOMING_FDSET 1
#define BX_VM_INCOMING_URI "file:/dev/fdset/1"

struct bx_vm_spec {
	const char *qemu;       /* engine binary */
	enum bx_accel accel;
	const char *kernel;     /* uncompressed vmlinux (PVH) */
	const char *initramfs;  /* agent initramfs */
	const char *cmdline;    /* NULL: engine default; never box-specific */
	unsigned cpus;
	unsigned memory_mib;
	const char *root_disk;  /* qcow2 overlay, or NULL for none (probe) */
	int network;            /* 1: user-mode NIC, 0: no NIC at all */
	const char *agent_sock; /* virtio-serial chardev socket (QEMU is server) */
	const char *qmp_sock;   /* QMP socket (QEMU is server), may be NULL */
	const char *console_log;/* serial console file, may be NULL (discard) */
	const char *mem_path;   /* guest RAM file (memory-backend-file), NULL: anonymous */
	enum bx_vm_mem mem_mode;/* how mem_path is mapped */
	int sandbox;            /* 1: QEMU's own seccomp sandbox (-sandbox on,...=deny) */
	/* Warm start (docs/architecture.md, "Warm start"): instead of booting,
	 * load a template's migration stream from this fd (inherited by QEMU,
	 * see bx_engine_spawn_fd) and stay paused (-S) until QMP "cont". 0: boot.
	 * With mem_mode BX_MEM_CLONE the load waits for QMP (-incoming defer):
	 * migrate-set-capabilities x-ignore-shared, then migrate-incoming
	 * BX_VM_INCOMING_URI: the fd is handed to QEMU in an fd set, as
	 * QEMU >= 9 wants a file read through "file:", not "fd:". */
	int incoming_fd;
	/* Published ports (only with network) and volumes. Volumes are the only
	 * devices that vary per box; they come last, after the fixed set. */
	const struct bx_vm_port *ports;
	size_t n_ports;
	const struct bx_vm_volume *volumes;
	size_t n_volumes;
};

struct bx_engine_ops {
	const char *name;
	/* Builds a NULL-terminated argv (malloc'd array of malloc'd strings). */
	int (*build_argv)(const struct bx_vm_spec *spec, char ***argv_out, struct bx_error *err);
};

extern const struct bx_engine_ops bx_engine_qemu_microvm;

/* What a QEMU binary can do (qemu_probe.c): two short runs of it. */
struct bx_engine_caps {
	char version[32]; /* "10.0.2"; "" when it could not be asked */
	int ram_file_cow; /* memory-backend-file maps a read-only file private and
			   * writable (rom=off, QEMU >= 8.2): BX_MEM_CLONE works */
};
void bx_engine_qemu_probe(const char *qemu, struct bx_engine_caps *caps);

void bx_argv_free(char **argv);
const char *bx_accel_name(enum bx_accel a);

/* Spawns the engine with the given argv; stdin /dev/null, stdout /dev/null,
 * stderr to stderr_fd (or /dev/null when -1). Returns 0 and *pid. */
int bx_engine_spawn(char **argv, int stderr_fd, pid_t *pid, struct bx_error *err);
/* The same, and keep_fd (>= 0) is also inherited, as fd 3 of the child
 * (for spec.incoming_fd = 3). */
int bx_engine_spawn_fd(char **argv, int stderr_fd, int keep_fd, pid_t *pid, struct bx_error *err);
/* The same as bx_engine_spawn_fd (keep_fd -1: none), but hook(arg) runs in the child after fork, with fds 0-2 set
 * up and the caller's other fds still open, just before they are closed
 * and argv executed; a negative return makes the child _exit(126) instead.
 * Uses fork (not vfork), which copies the caller's page tables; the child
 * calls only async-signal-safe functions (hook must too), so a process with
 * other threads may call it. */
int bx_engine_spawn_hook(char **argv, int stderr_fd, int keep_fd, int (*hook)(void *arg), void *arg,
			 pid_t *pid, struct bx_error *err);

#endif
