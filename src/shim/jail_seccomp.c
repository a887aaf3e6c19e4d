/* The jail's seccomp filter: a deny-list. Everything is allowed except
 * syscalls neither the shim nor QEMU needs and that an attacker would want
 * (kernel attack surface, other processes, namespaces, mounts, modules):
 * those kill the whole process. An allow-list for QEMU proved too brittle
 * to keep in step with its device set, accelerators and glibc; QEMU adds
 * its own (-sandbox on,...) on top of this one. Inherited by QEMU. */
#include "jail.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>

static const char *const kill_list[] = {
	/* other processes */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	/* namespaces, mounts, roots */
	"unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig",
	"fsmount", "fspick", "move_mount", "open_tree", "mount_setattr", "open_by_handle_at",
	"name_to_handle_at",
	/* kernel attack surface */
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "kexec_load",
	"kexec_file_load", "init_module", "finit_module", "delete_module", "iopl", "ioperm",
	"lookup_dcookie", "quotactl", "quotactl_fd", "nfsservctl", "uselib", "vhangup", "syslog",
	"acct", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime",
	"adjtimex", "sethostname", "setdomainname", "fanotify_init",
	"lsm_set_self_attr",
};

/* Not dangerous enough to kill for, but QEMU copes without them. */
static const char *const enosys_list[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* clone3 hides its flags behind a pointer: glibc falls back to clone. */
	"clone3",
};

int bx_jail_seccomp(struct bx_error *err)
{
	static const unsigned long ns_flags[] = { CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
						  CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP,
						  CLONE_NEWTIME };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = 0;

	if (!ctx)
		return bx_err(err, -ENOMEM, "seccomp: init");
	for (size_t i = 0; i < sizeof(kill_list) / sizeof(kill_list[0]) && rc == 0; i++) {
		int nr = seccomp_syscall_resolve_name(kill_list[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp */
		rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
	}
	for (size_t i = 0; i < sizeof(enosys_list) / sizeof(enosys_list[0]) && rc == 0; i++) {
		int nr = seccomp_syscall_resolve_name(enosys_list[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	}
	/* clone/clone with a new namespace: the same as unshare. */
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	/* A terminal's input queue is a way out of any sandbox. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0x5412 /* TIOCSTI */));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return bx_err_sys(err, rc, "seccomp: installing the filter");
	return 0;
}
