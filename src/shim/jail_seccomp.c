/* The jail's seccomp wall: an ALLOW-LIST. The shim installs it on itself at
 * the end of bx_jail_enter; QEMU inherits it (and adds its own -sandbox on
 * top). Any syscall not listed here kills the whole process (SIGSYS): the
 * shim reports "QEMU was killed by the seccomp filter" (shutdown.c).
 *
 * The list is measured, not guessed: scripts/seccomp-trace.sh runs the test
 * suite (and a few extra paths, root and non-root) with the shim under
 * strace and prints every syscall the shim and QEMU make after this filter
 * is in place that is missing here. Refresh it when QEMU, glibc or the
 * device set changes (docs/security.md, "The seccomp wall"). A few entries
 * were not seen under TCG but are on paths the suite cannot reach here (KVM,
 * vDSO fallbacks, guest-driven 9p operations); each group says so.
 *
 * Two filters, because libseccomp cannot express "any ioctl but one" in an
 * allow-list (an unconditional rule swallows the conditional one): the
 * allow-list, then a small default-allow filter of argument kills. The
 * kernel runs both and takes the stricter verdict. */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#ifdef BX_SECCOMP_TRACE
/* Only in the shim that scripts/seccomp-trace.sh builds for itself: what
 * the allow-list would kill is let through (and logged), so that strace
 * sees all of it in one run. Never in a real build. */
#define ALLOW_LIST_DEFAULT SCMP_ACT_LOG
#else
#define ALLOW_LIST_DEFAULT SCMP_ACT_KILL_PROCESS
#endif

static const char *const allow_list[] = {
	/* memory (TCG's code buffer, glibc malloc, guest RAM as a memfd) */
	"brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "memfd_create", "mlock", "munlock",
	"membarrier", "mincore",
	/* QEMU >= 8 after loading a migration: writeback of file-backed RAM (a
	 * warm-start clone's template RAM is a private mapping: nothing reaches
	 * the file, which the clone opened read-only anyway) */
	"msync",
	/* NUMA policy of its own memory (QEMU's memory backend: mbind) */
	"get_mempolicy", "set_mempolicy", "mbind",
	/* glibc >= 2.39 on CET hosts (not measurable here) */
	"map_shadow_stack",
	/* threads and their synchronisation (QEMU's vCPU, I/O and RCU threads;
	 * glibc's pthread_create, clone is argument-checked below) */
	"futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address", "gettid", "exit",
	"exit_group", "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
	"sched_getscheduler", "getcpu", "arch_prctl",
	/* signals (QEMU's signalfd and SIG_IPI kicks; the shim's signalfd; the
	 * shim signals QEMU; KVM waits with sigtimedwait: not measurable here) */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigpending",
	"rt_sigsuspend", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "signalfd4", "kill",
	"tgkill", "tkill", "restart_syscall", "pause",
	/* time and timers (vDSO fallbacks when the host clock is not vDSO-readable) */
	"clock_gettime", "clock_getres", "gettimeofday", "time", "clock_nanosleep", "nanosleep",
	"setitimer", "getitimer", "alarm", "timer_create", "timer_settime", "timer_gettime",
	"timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	/* event loops (QEMU's main loop and AIO threads, the shim's mux) */
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	/* file descriptors, pipes */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "lseek", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "pipe", "pipe2",
	"ioctl" /* KVM_*, terminals, FIONBIO; TIOCSTI killed below */, "sendfile", "splice", "tee",
	/* files: the disk (qcow2 growth, discard, flushes), config, logs,
	 * sockets in the box dir, /proc/self; and the 9p volume server, which
	 * runs whatever the guest does on a volume (mkdir, ln -s, mv, chmod,
	 * xattrs, mkfifo: a few of these only a guest can reach) */
	"openat", "open", "creat", "access", "faccessat", "faccessat2", "newfstatat", "fstat",
	"stat", "lstat", "statx", "statfs", "fstatfs", "readlink", "readlinkat", "getdents64",
	"getcwd", "chdir", "fchdir", "umask", "fsync", "fdatasync", "sync_file_range", "syncfs",
	"ftruncate", "truncate", "fallocate", "fadvise64", "flock", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "symlink", "symlinkat", "link", "linkat",
	"chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utimensat",
	"futimesat", "utimes", "utime", "getxattr", "lgetxattr", "fgetxattr", "setxattr",
	"lsetxattr", "fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
	"lremovexattr", "fremovexattr", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
	/* mknod/mknodat: argument-checked below (FIFOs and sockets only) */
	/* sockets: box.sock, QMP, the agent's vsock-over-unix, user-mode
	 * networking and port forwards (slirp), the egress supervisor's DNS
	 * lookups (getaddrinfo asks netlink for addresses); socket() and
	 * socketpair() are argument-checked below */
	"bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "setsockopt",
	"getsockopt", "sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg", "recvmmsg", "shutdown",
	/* processes: the shim starts QEMU (posix_spawn: clone + execve; QEMU's
	 * own -sandbox then forbids it to spawn), waits for it, and (egress
	 * supervisor) watches its syscalls through a seccomp listener */
	"execve", "wait4", "waitid", "getpid", "getppid", "getpgrp", "getpgid", "getsid", "setsid",
	"setpgid", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "process_vm_readv", "seccomp",
	/* identity and limits (read-only, or lowering; prlimit64 on itself only) */
	"getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid", "capget",
	"getrlimit", "setrlimit", "getrusage", "getpriority", "setpriority", "ioprio_get", "ioprio_set",
	"sysinfo", "uname", "getrandom", "times",
};

/* Not dangerous enough to kill for, and callers cope without them. */
static const char *const enosys_list[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	/* clone3 hides its flags behind a pointer: glibc falls back to clone. */
	"clone3",
};

/* prctl options: thread names, timer slack, dumpable (jail.c clears it
 * after the filter), QEMU's MCE policy, no_new_privs (libseccomp sets it
 * before QEMU's -sandbox), read-only queries. Not PR_SET_MM, SECUREBITS,
 * PTRACER, CHILD_SUBREAPER... */
static const int prctl_ok[] = {
	PR_SET_NAME, PR_GET_NAME, PR_SET_DUMPABLE, PR_GET_DUMPABLE, PR_SET_TIMERSLACK,
	PR_GET_TIMERSLACK, PR_MCE_KILL, PR_MCE_KILL_GET, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS,
	PR_GET_SECCOMP, PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_CAPBSET_READ, PR_GET_SECUREBITS,
	PR_SET_VMA,
};

static int add_named(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]), rc;

		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp */
		if ((rc = seccomp_rule_add(ctx, action, nr, 0)) < 0)
			return rc;
	}
	return 0;
}

/* The allow-list proper, with its argument-checked entries. */
static int allow_rules(scmp_filter_ctx ctx)
{
	/* clone(2)'s low byte is the exit signal; CLONE_NEWTIME only exists
	 * for clone3 and unshare. A new namespace is an unshare in disguise. */
	const uint64_t ns = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			    CLONE_NEWUTS | CLONE_NEWCGROUP;
	static const int families[] = { AF_UNIX, AF_INET, AF_INET6 };
	static const unsigned node_types[] = { S_IFIFO, S_IFSOCK, S_IFREG, 0 };
	int rc = 0;

	rc = add_named(ctx, SCMP_ACT_ALLOW, allow_list, N_ELEMENTS(allow_list));
	if (rc == 0)
		rc = add_named(ctx, SCMP_ACT_ERRNO(ENOSYS), enosys_list, N_ELEMENTS(enosys_list));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, ns, 0));
	/* Sockets: unix, IPv4, IPv6; netlink only for routes (getaddrinfo).
	 * No packet, raw-netlink, vsock, bluetooth, alg... sockets. */
	for (size_t i = 0; i < N_ELEMENTS(families) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)families[i]));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				      SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* mkfifo on a 9p volume, never a device node. */
	for (size_t i = 0; i < N_ELEMENTS(node_types) && rc == 0; i++) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mknodat), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, node_types[i]));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mknod), 1,
					      SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, node_types[i]));
	}
	for (size_t i = 0; i < N_ELEMENTS(prctl_ok) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				      SCMP_A0(SCMP_CMP_EQ, (uint64_t)prctl_ok[i]));
	/* personality: only the query (sanitizer runtimes ask); no
	 * READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE... */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
				      SCMP_A0(SCMP_CMP_EQ, 0xffffffffu));
	/* Limits of itself only (glibc's getrlimit/setrlimit are prlimit64(0, ...)). */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A0(SCMP_CMP_EQ, 0));
	return rc;
}

/* The second filter: everything the first one lets through, minus these. */
static int arg_kill_rules(scmp_filter_ctx ctx)
{
	/* A terminal's input queue (TIOCSTI) or a console's selection
	 * (TIOCLINUX) is a way out of any sandbox. ioctl's cmd is 32 bits. */
	int rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ioctl), 1,
				  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0x5412 /* TIOCSTI */));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0x541c /* TIOCLINUX */));
	return rc;
}

static int load(uint32_t def, int (*rules)(scmp_filter_ctx))
{
	scmp_filter_ctx ctx = seccomp_init(def);
	int rc;

	if (!ctx)
		return -ENOMEM;
	/* A binary tree of syscall numbers, not a 200-deep if-chain: every
	 * syscall of QEMU's runs through this (libseccomp >= 2.5; else linear). */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	rc = rules(ctx);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int bx_jail_seccomp(struct bx_error *err)
{
	int rc;

	/* The argument filter first: the allow-list must let seccomp() through
	 * anyway (the egress supervisor), but this order needs nothing of it. */
	if ((rc = load(SCMP_ACT_ALLOW, arg_kill_rules)) < 0)
		return bx_err_sys(err, rc, "seccomp: installing the argument filter");
	if ((rc = load(ALLOW_LIST_DEFAULT, allow_rules)) < 0)
		return bx_err_sys(err, rc, "seccomp: installing the allow-list");
	return 0;
}

/* What only the shim needs (the egress supervisor reads QEMU's memory and
 * takes its sockets): QEMU, whose filters inherit the shim's, loses it. */
static const char *const shim_only[] = { "pidfd_open", "pidfd_getfd", "process_vm_readv" };

static int qemu_kill_rules(scmp_filter_ctx ctx)
{
	return add_named(ctx, SCMP_ACT_KILL_PROCESS, shim_only, N_ELEMENTS(shim_only));
}

int bx_jail_seccomp_qemu(void)
{
	return load(SCMP_ACT_ALLOW, qemu_kill_rules);
}
