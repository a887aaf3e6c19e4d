/* The egress supervisor of a box with an allow-list (--allow-net,
 * docs/networking-volumes.md "Egress policy"). QEMU runs under a seccomp
 * filter that hands every connect() and every sendto() with an address to
 * the shim (user notification); the shim's poll loop checks the destination
 * against the policy and either refuses it or performs the call itself on
 * its own duplicate of QEMU's socket (pidfd_getfd), with its own copy of
 * the address and data. DNS: the guest agent asks the shim (RESOLVE); only
 * permitted names are resolved, and their addresses join the allow-set.
 * One box per shim: the state is process-wide. */
#ifndef BOXLITE_SHIM_EGRESS_H
#define BOXLITE_SHIM_EGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct shim;
struct bx_shim_config;

/* Builds the policy from cfg->allow_net; nothing (and egress_active() 0)
 * when the list is empty. */
int egress_init(const struct bx_shim_config *cfg, struct bx_error *err);
int egress_active(void);

/* Spawns QEMU (argv) under the notify filter, then the DNS resolver
 * process. Only when egress_active(); the process must have one thread. */
int egress_spawn(char **argv, int stderr_fd, pid_t *pid, struct bx_error *err);

/* QEMU's notifications: poll egress_notify_fd() (-1: none) for POLLIN and
 * call egress_notify_io(); it decides and answers what is pending. */
int egress_notify_fd(void);
void egress_notify_io(void);

/* DNS: a RESOLVE frame from the agent (chan 0). Answered later through
 * egress_dns_io (RESOLVED), when egress_dns_fd() is readable. */
int egress_resolve(struct shim *s, const uint8_t *payload, size_t len);
int egress_dns_fd(void); /* -1 when inactive */
void egress_dns_io(struct shim *s);
pid_t egress_dns_pid(void);

#endif
