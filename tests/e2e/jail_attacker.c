/* A compromised-QEMU stand-in for tests/e2e/jail.sh: the shim runs it
 * instead of QEMU (BOXLITE_QEMU), inside the jail. It tries what a guest
 * that broke out of QEMU would try, writes one "name result" line per
 * attempt to jail-attack.txt in its working directory (the box dir), and
 * exits. Results: "ok" (the attack worked: bad), "errno:NAME", or
 * "killed:SIGNAL" (for attempts made in a child). Outside a box directory
 * (e.g. the library's accelerator probe) it just fails. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE *out;

static void report(const char *name, int rc)
{
	if (rc >= 0)
		fprintf(out, "%s ok\n", name);
	else
		fprintf(out, "%s errno:%s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	fflush(out);
}

static void report_open(const char *name, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);
	report(name, fd);
	if (fd >= 0)
		close(fd);
}

/* Runs fn in a child; reports how the child ended. */
static void in_child(const char *name, long (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		report(name, -1);
		return;
	}
	if (pid == 0)
		_exit(fn() < 0 ? 10 : 0);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		fprintf(out, "%s killed:%s\n", name, sigabbrev_np(WTERMSIG(status)));
	else
		fprintf(out, "%s %s\n", name, WEXITSTATUS(status) == 0 ? "ok" : "failed");
	fflush(out);
}

static long do_ptrace(void) { return ptrace(PTRACE_ATTACH, getppid(), NULL, NULL); }
static long do_unshare(void) { return unshare(CLONE_NEWUSER); }
static long do_mount(void) { return mount("none", "/", "tmpfs", 0, NULL); }
static long do_bpf(void) { return syscall(SYS_bpf, 0, NULL, 0); }
static long do_keyctl(void) { return syscall(SYS_keyctl, 0, 0, 0, 0, 0); }
static long do_init_module(void) { return syscall(SYS_init_module, NULL, 0, ""); }
static long do_perf(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long do_clone_ns(void) { return syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, 0); }
/* Outside the old deny-list, and not in the allow-list: */
static long do_mknod_chr(void) { return mknod("evil-null", S_IFCHR | 0666, makedev(1, 3)); }
static long do_setuid(void) { return setuid(0); }
static long do_setgid(void) { return setgid(0); }
static long do_personality(void) { return syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */); }
static long do_socket_packet(void) { return socket(AF_PACKET, SOCK_RAW, 0); }
static long do_socket_netlink_audit(void) { return socket(AF_NETLINK, SOCK_RAW, 9 /* NETLINK_AUDIT */); }
static long do_prctl_securebits(void) { return syscall(SYS_prctl, 28 /* PR_SET_SECUREBITS */, 0, 0, 0, 0); }
static long do_prlimit_parent(void) { return syscall(SYS_prlimit64, getppid(), RLIMIT_NOFILE, NULL, NULL); }
static long do_tiocsti_high(void)
{
	char c = 'x';
	/* ioctl's cmd is 32 bits: the high half must not hide TIOCSTI. */
	return syscall(SYS_ioctl, 0, 0x100005412ul, &c);
}
/* What only the shim needs (the egress supervisor): QEMU's own filter kills
 * it, even against a process it could otherwise read (itself). */
static long do_process_vm_readv(void)
{
	char a = 0, b;
	struct iovec l = { &b, 1 }, r = { &a, 1 };
	return syscall(SYS_process_vm_readv, getpid(), &l, 1, &r, 1, 0);
}
static long do_pidfd_open(void) { return syscall(SYS_pidfd_open, getpid(), 0); }
static long do_mkfifo(void) { return mknod("ok-fifo", S_IFIFO | 0600, 0); }

#ifdef __SANITIZE_ADDRESS__
/* Sanitizer builds: LeakSanitizer stops the world with ptrace, which the
 * jail's seccomp filter kills; leaks are checked in the unjailed programs. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(22) };
	int fd;

	(void)argc;
	if (access("shim.pid", F_OK) < 0)
		return 1;
	out = fopen("jail-attack.txt", "w");
	if (!out)
		return 1;
	fprintf(out, "uid %u gid %u\n", (unsigned)getuid(), (unsigned)getgid());
	report_open("read-etc-passwd", "/etc/passwd", O_RDONLY);
	report_open("read-etc-shadow", "/etc/shadow", O_RDONLY);
	report_open("read-home-db", "../../boxlite.db", O_RDONLY);
	report_open("read-proc", "/proc/1/environ", O_RDONLY);
	report_open("read-root-home", "/root/.bashrc", O_RDONLY);
	report_open("read-source-tree", "/work/main/README.md", O_RDONLY);
	report_open("write-engine-binary", argv[0], O_WRONLY);
	report_open("create-in-root", "/evil", O_WRONLY | O_CREAT);
	report_open("open-disk-device", "/dev/sda", O_RDONLY);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	report("connect-host-loopback", fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	in_child("ptrace-parent", do_ptrace);
	in_child("unshare-user", do_unshare);
	in_child("mount", do_mount);
	in_child("bpf", do_bpf);
	in_child("keyctl", do_keyctl);
	in_child("init-module", do_init_module);
	in_child("perf-event-open", do_perf);
	in_child("clone-newns", do_clone_ns);
	in_child("mknod-char-device", do_mknod_chr);
	in_child("setuid-0", do_setuid);
	in_child("setgid-0", do_setgid);
	in_child("personality", do_personality);
	in_child("socket-packet", do_socket_packet);
	in_child("socket-netlink-audit", do_socket_netlink_audit);
	in_child("prctl-securebits", do_prctl_securebits);
	in_child("prlimit-parent", do_prlimit_parent);
	in_child("ioctl-tiocsti-high-bits", do_tiocsti_high);
	in_child("process-vm-readv", do_process_vm_readv);
	in_child("pidfd-open", do_pidfd_open);
	in_child("mkfifo", do_mkfifo); /* 9p needs it: allowed */
	fprintf(out, "done\n");
	fclose(out);
	/* Last, as "QEMU" itself: the shim must say the filter killed it. */
	syscall(SYS_syslog, 0, NULL, 0);
	return 1;
}
