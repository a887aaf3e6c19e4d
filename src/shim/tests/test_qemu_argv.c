/* Unit tests for the QEMU microvm command line and bx_engine_spawn. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"

static const char *const full[] = {
	"/usr/bin/qemu-system-x86_64",
	"-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off,memory-backend=mem",
	"-object", "memory-backend-file,id=mem,size=512M,mem-path=guest.mem,share=off",
	"-accel", "tcg", "-cpu", "max", "-m", "512", "-smp", "2",
	"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
	"-chardev", "file,id=con,path=console.log", "-serial", "chardev:con",
	"-kernel", "/k/vmlinux", "-initrd", "/k/initramfs.cpio.gz",
	"-append", "console=ttyS0 quiet panic=-1 reboot=t tsc=reliable no_timer_check noreplace-smp noapictimer",
	"-chardev", "socket,id=agent,path=agent.sock,server=on,wait=off",
	"-device", "virtio-serial-device,max_ports=2",
	"-device", "virtserialport,chardev=agent,name=boxlite.agent",
	"-drive", "id=root,file=disk.qcow2,format=qcow2,if=none",
	"-device", "virtio-blk-device,drive=root",
	"-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0",
	"-qmp", "unix:qmp.sock,server=on,wait=off",
	NULL,
};

static struct bx_vm_spec base_spec(void)
{
	return (struct bx_vm_spec){
		.qemu = "/usr/bin/qemu-system-x86_64", .accel = BX_ACCEL_TCG,
		.kernel = "/k/vmlinux", .initramfs = "/k/initramfs.cpio.gz",
		.cpus = 2, .memory_mib = 512, .root_disk = "disk.qcow2", .network = 1,
		.agent_sock = "agent.sock", .qmp_sock = "qmp.sock", .console_log = "console.log",
		.mem_path = "guest.mem",
	};
}

static char **build(const struct bx_vm_spec *spec)
{
	struct bx_error err = { 0 };
	char **argv = NULL;
	int rc = bx_engine_qemu_microvm.build_argv(spec, &argv, &err);

	CHECK_MSG(rc == 0, "build_argv: %s", err.msg);
	return argv;
}

/* argv must equal want (NULL-terminated), entry by entry. */
static void expect(char **argv, const char *const *want)
{
	size_t i = 0;

	for (size_t w = 0; want[w]; w++) {
		CHECK_MSG(argv[i] && !strcmp(argv[i], want[w]), "argv[%zu] = %s, want %s", i,
			  argv[i] ? argv[i] : "(end)", want[w]);
		if (!argv[i])
			return;
		i++;
	}
	CHECK_MSG(argv[i] == NULL, "extra argument %s", argv[i]);
}

static int has(char **argv, const char *needle)
{
	for (; *argv; argv++)
		if (strstr(*argv, needle))
			return 1;
	return 0;
}

static void test_full_order(void)
{
	struct bx_vm_spec spec = base_spec();
	char **argv = build(&spec);

	if (argv)
		expect(argv, full);
	bx_argv_free(argv);
}

static void test_no_network(void)
{
	struct bx_vm_spec spec = base_spec();
	const char *want[64];
	size_t k = 0;
	char **argv;

	/* The same line minus "-netdev user,id=n0 -device virtio-net-device,...". */
	for (size_t i = 0; full[i]; i++) {
		if (!strcmp(full[i], "-netdev")) {
			i += 3;
			continue;
		}
		want[k++] = full[i];
	}
	want[k] = NULL;
	spec.network = 0;
	argv = build(&spec);
	if (argv) {
		CHECK(!has(argv, "netdev") && !has(argv, "virtio-net"));
		expect(argv, want);
	}
	bx_argv_free(argv);
}

static void test_variants(void)
{
	struct bx_vm_spec spec = base_spec();
	char **argv;

	spec.accel = BX_ACCEL_KVM;
	spec.mem_path = NULL;
	spec.console_log = NULL;
	spec.qmp_sock = NULL;
	spec.cmdline = "console=ttyS0 custom";
	spec.root_disk = "a,b.qcow2";
	argv = build(&spec);
	if (argv) {
		CHECK(!strcmp(argv[2], "microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off"));
		CHECK(!has(argv, "memory-backend") && !has(argv, "-object"));
		CHECK(!strcmp(argv[3], "-accel") && !strcmp(argv[4], "kvm"));
		CHECK(!strcmp(argv[5], "-cpu") && !strcmp(argv[6], "host"));
		CHECK(has(argv, "id=root,file=a,,b.qcow2,format=qcow2,if=none"));
		CHECK(has(argv, "console=ttyS0 custom"));
		CHECK(!has(argv, "-qmp") && !has(argv, "chardev:con"));
		int serial_null = 0;
		for (char **p = argv; p[0] && p[1]; p++)
			serial_null |= !strcmp(p[0], "-serial") && !strcmp(p[1], "null");
		CHECK(serial_null);
	}
	bx_argv_free(argv);

	spec = base_spec();
	spec.root_disk = NULL; /* the KVM probe boots without a disk */
	argv = build(&spec);
	CHECK(argv && !has(argv, "virtio-blk") && !has(argv, "-drive"));
	bx_argv_free(argv);
}

/* Guest RAM in a file: a cold box's own (private), a template being made
 * (shared), a clone of it (read-only file, private copy-on-write), which
 * loads its state only when told (-incoming defer). */
static void test_memory_modes(void)
{
	static const struct {
		enum bx_vm_mem mode;
		const char *backend, *incoming;
	} cases[] = {
		{ BX_MEM_PRIVATE, "memory-backend-file,id=mem,size=512M,mem-path=guest.mem,share=off", "fd:3" },
		{ BX_MEM_SHARED, "memory-backend-file,id=mem,size=512M,mem-path=guest.mem,share=on", "fd:3" },
		{ BX_MEM_CLONE,
		  "memory-backend-file,id=mem,size=512M,mem-path=guest.mem,share=off,readonly=on,rom=off",
		  "defer" },
	};
	struct bx_vm_spec spec = base_spec();
	struct bx_error err = { 0 };
	char **argv;

	spec.incoming_fd = 3;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		int backend = 0, incoming = 0, fdset = 0;

		spec.mem_mode = cases[c].mode;
		argv = build(&spec);
		for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++) {
			backend += !strcmp(argv[i], "-object") && !strcmp(argv[i + 1], cases[c].backend);
			incoming += !strcmp(argv[i], "-incoming") && !strcmp(argv[i + 1], cases[c].incoming);
			/* a clone's state file reaches QEMU in the fd set its "file:" URI names */
			fdset += !strcmp(argv[i], "-add-fd") && !strcmp(argv[i + 1], "fd=3,set=1,opaque=template-state");
		}
		CHECK(fdset == (cases[c].mode == BX_MEM_CLONE) && !strcmp(BX_VM_INCOMING_URI, "file:/dev/fdset/1"));
		CHECK_MSG(backend == 1, "mode %d: no %s", (int)cases[c].mode, cases[c].backend);
		CHECK_MSG(incoming == 1, "mode %d: no -incoming %s", (int)cases[c].mode, cases[c].incoming);
		bx_argv_free(argv);
	}
	spec.mem_mode = (enum bx_vm_mem)7;
	argv = (char **)1;
	CHECK(bx_engine_qemu_microvm.build_argv(&spec, &argv, &err) == -EINVAL && argv == NULL);
}

/* The probe asks the binary: a stand-in that answers like QEMU 10, then
 * like 7.2 (no "rom"), then one that cannot run. */
static void test_probe(void)
{
	static const char *const answers[] = {
		"QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2)",
		"  readonly=<bool>\n  rom=<OnOffAuto>        - Whether to create Read Only Memory (ROM)",
		"QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)",
		"  readonly=<bool>\n  share=<bool>           - Mark the memory as private (copy-on-write)",
	};
	char path[] = "/tmp/boxlite-fake-qemu-XXXXXX";
	struct bx_engine_caps caps;
	int fd;

	for (int v = 0; v < 2; v++) {
		FILE *f;

		fd = mkstemp(path);
		CHECK(fd >= 0 && (f = fdopen(fd, "w")));
		if (fd < 0 || !f)
			return;
		fprintf(f, "#!/bin/sh\nif [ \"$1\" = --version ]; then printf '%%s\\n' '%s'; else printf '%s\\n'; fi\n",
			answers[2 * v], answers[2 * v + 1]);
		fclose(f);
		chmod(path, 0700);
		bx_engine_qemu_probe(path, &caps);
		unlink(path);
		CHECK_MSG(!strcmp(caps.version, v ? "7.2.22" : "10.0.2"), "version '%s'", caps.version);
		CHECK(caps.ram_file_cow == !v);
		strcpy(path, "/tmp/boxlite-fake-qemu-XXXXXX");
	}
	bx_engine_qemu_probe("/nonexistent/qemu", &caps);
	CHECK(caps.version[0] == '\0' && !caps.ram_file_cow);
}

static void test_invalid(void)
{
	struct bx_error err = { 0 };
	struct bx_vm_spec spec = base_spec();
	char **argv = (char **)1;

	spec.kernel = NULL;
	CHECK(bx_engine_qemu_microvm.build_argv(&spec, &argv, &err) == -EINVAL && argv == NULL);
	CHECK(strstr(err.msg, "kernel") != NULL);
	spec = base_spec();
	spec.cpus = 0;
	bx_err_clear(&err);
	CHECK(bx_engine_qemu_microvm.build_argv(&spec, &argv, &err) == -EINVAL);
	CHECK(!strcmp(bx_accel_name(BX_ACCEL_KVM), "kvm") && !strcmp(bx_accel_name(BX_ACCEL_TCG), "tcg"));
	bx_argv_free(NULL);
}

/* The engine child gets fds 0-2 only, an empty signal mask, default dispositions. */
static void test_spawn(void)
{
	struct bx_error err = { 0 };
	char script[512], out[512] = "";
	sigset_t set, old;
	int p[2], leak, status;
	pid_t pid;
	ssize_t n;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	leak = dup(p[1]); /* not close-on-exec */
	snprintf(script, sizeof(script),
		 "test -e /proc/self/fd/%d && echo leak >&2; "
		 "grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status && echo mask-ok >&2; "
		 /* glibc itself ignores its internal signals 32 and 33 */
		 "v=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status); "
		 "[ $((0x$v & 0x7fffffff)) -eq 0 ] && echo ign-ok >&2; "
		 "read x && echo stdin-not-null >&2; echo done >&2",
		 leak);
	char sh[] = "/bin/sh", dash_c[] = "-c";
	char *argv[] = { sh, dash_c, script, NULL };
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	CHECK(bx_engine_spawn(argv, p[1], &pid, &err) == 0);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	close(leak);
	n = read(p[0], out, sizeof(out) - 1);
	while (n > 0 && !strstr(out, "done")) {
		ssize_t m = read(p[0], out + n, sizeof(out) - 1 - (size_t)n);
		if (m <= 0)
			break;
		n += m;
	}
	close(p[0]);
	waitpid(pid, &status, 0);
	CHECK_MSG(!strstr(out, "leak") && strstr(out, "mask-ok") && strstr(out, "ign-ok") &&
			  !strstr(out, "stdin-not-null"), "child said: %s", out);

	char nonexistent[] = "/nonexistent/qemu";
	char *bad[] = { nonexistent, NULL };
	bx_err_clear(&err);
	CHECK(bx_engine_spawn(bad, -1, &pid, &err) == -ENOENT);
	CHECK(strstr(err.msg, "/nonexistent/qemu") != NULL);
}

/* Warm start: paused, loading from an inherited fd; spawn_fd hands it over as fd 3. */
static void test_incoming(void)
{
	struct bx_vm_spec spec = base_spec();
	struct bx_error err = { 0 };
	char **argv = NULL, out[256] = "", file[] = "/tmp/boxlite-argv-XXXXXX";
	int p[2], fd, status;
	pid_t pid;
	ssize_t n;

	spec.incoming_fd = 3;
	argv = build(&spec);
	for (size_t i = 0; argv && argv[i]; i++)
		if (!strcmp(argv[i], "-incoming")) {
			CHECK(i > 0 && !strcmp(argv[i - 1], "-S"));
			CHECK(argv[i + 1] && !strcmp(argv[i + 1], "fd:3"));
		}
	CHECK(argv && has(argv, "fd:3"));
	bx_argv_free(argv);
	spec.incoming_fd = 0;
	argv = build(&spec);
	CHECK(argv && !has(argv, "-incoming") && !has(argv, "-S"));
	bx_argv_free(argv);
	spec.incoming_fd = 1;
	CHECK(bx_engine_qemu_microvm.build_argv(&spec, &argv, &err) == -EINVAL);

	fd = mkstemp(file);
	CHECK(fd >= 0 && write(fd, "state", 5) == 5);
	unlink(file);
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	CHECK(lseek(hi, 0, SEEK_SET) == 0);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	char sh[] = "/bin/sh", dash_c[] = "-c",
	     script[] = "cat <&3 >&2; test -e /proc/self/fd/4 && echo leak >&2; echo; echo done >&2";
	char *sargv[] = { sh, dash_c, script, NULL };
	bx_err_clear(&err);
	CHECK(bx_engine_spawn_fd(sargv, p[1], 3, &pid, &err) == -EINVAL);
	CHECK(bx_engine_spawn_fd(sargv, p[1], hi, &pid, &err) == 0);
	close(p[1]);
	n = 0;
	while (!strstr(out, "done")) {
		ssize_t m = read(p[0], out + n, sizeof(out) - 1 - (size_t)n);
		if (m <= 0)
			break;
		n += m;
	}
	close(p[0]);
	close(hi);
	waitpid(pid, &status, 0);
	CHECK_MSG(!strncmp(out, "state", 5) && !strstr(out, "leak"), "child said: %s", out);
}

int main(void)
{
	test_incoming();
	test_full_order();
	test_no_network();
	test_variants();
	test_memory_modes();
	test_probe();
	test_invalid();
	test_spawn();
	return check_summary("test_qemu_argv");
}
