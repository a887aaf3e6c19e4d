/* The jail: what the shim does to itself, before it starts QEMU, so that a
 * guest that escapes into QEMU finds a process that can see and do almost
 * nothing (docs/security.md). One call from main.c: bx_jail_enter(). */
#ifndef BOXLITE_SHIM_JAIL_H
#define BOXLITE_SHIM_JAIL_H

#include <sys/types.h>

#include "error.h"
#include "shim_config.h"

/* Base of the per-box host uid/gid range used when the shim runs as root:
 * uid = BX_JAIL_UID_BASE + (hash(box_id) % BX_JAIL_UID_RANGE). */
#define BX_JAIL_UID_BASE 0x40000000u
#define BX_JAIL_UID_RANGE 0x100000u

/* Enters the jail: cgroup (root only), new user/mount/pid/ipc/uts (and net
 * when the box has no network) namespaces, pivot_root into a per-box tmpfs
 * root that mirrors only the host paths QEMU needs, an unprivileged uid,
 * no capabilities, no_new_privs, rlimits, and the seccomp filter.
 * Must run in the box directory (cwd), single-threaded, before QEMU starts.
 * Does nothing (but warn) when cfg->security is development. */
int bx_jail_enter(const struct bx_shim_config *cfg, struct bx_error *err);

/* jail_idmap.c (root only): a user namespace mapping owner (inside) to box
 * (outside), held open by a short-lived child (call before unshare: the
 * child must not become a new pid namespace's init); returns its fd or
 * -errno. Then binds src onto tgt (an existing mount point) through it, so
 * the owner's files show as the box uid's. */
int bx_jail_idmap_userns(uid_t owner_uid, gid_t owner_gid, uid_t box_uid, gid_t box_gid);
int bx_jail_bind_idmapped(const char *src, const char *tgt, int userns, struct bx_error *err);

/* jail_seccomp.c: the seccomp wall, an allow-list (kills on anything else). */
int bx_jail_seccomp(struct bx_error *err);
/* In QEMU's child before exec (single-threaded, so no bx_error): one more
 * filter that kills what only the shim needs. 0 or -errno. */
int bx_jail_seccomp_qemu(void);

/* jail_cgroup.c: creates boxlite/<id>.<shim pid> (v2 if delegated, else v1 memory, cpu,
 * pids), sets the limits, moves the calling process in, and forks a tiny
 * cleaner (outside the cgroup) that kills what is left and removes the
 * groups when the shim exits. As non-root: logs a notice and returns 0. */
int bx_jail_cgroup(const struct bx_shim_config *cfg, struct bx_error *err);

#endif
