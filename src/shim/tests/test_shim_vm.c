/* The real shim with a real VM: QEMU under TCG (or whatever the config
 * says), the project's kernel and agent, a busybox root disk. Boot, exec
 * through the multiplexer from two clients, stop by SHUTDOWN and by the
 * watchdog; nothing left running, the secret never leaves the config.
 * Exits 77 (skipped) when the kernel, the initramfs or a tool is missing. */
#define SECRET "SENTINEL_SECRET_5ca1ab1e"
#include "shim_test.h"

#define QEMU "/usr/bin/qemu-system-x86_64"
#define BUSYBOX "/bin/busybox"

static char kernel[512], initramfs[512], work[] = "/tmp/bx-vm-XXXXXX";

static int run(const char *cmd)
{
	int st = system(cmd);
	CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", cmd);
	return st;
}

/* A read-only ext4 base with busybox, like an image's base disk. */
static void make_base(void)
{
	static const char *const applets[] = { "sh", "echo", "cat", "hostname", "sync", NULL };
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/root/bin %s/root/etc && cp " BUSYBOX " %s/root/bin/busybox && "
		 "echo 'root:x:0:0:root:/root:/bin/sh' > %s/root/etc/passwd && "
		 "echo 'root:x:0:' > %s/root/etc/group",
		 work, work, work, work, work);
	run(cmd);
	for (int i = 0; applets[i]; i++) {
		snprintf(cmd, sizeof(cmd), "ln -s busybox %s/root/bin/%s", work, applets[i]);
		run(cmd);
	}
	snprintf(cmd, sizeof(cmd), "mke2fs -q -t ext4 -b 4096 -d %s/root %s/base.ext4 32M >/dev/null", work, work);
	run(cmd);
}

static void box_init(struct box *b)
{
	char cmd[512];

	strcpy(b->dir, "/tmp/bx-vmbox-XXXXXX");
	CHECK(mkdtemp(b->dir) != NULL);
	snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 -b %s/base.ext4 -F raw %s/disk.qcow2 128M",
		 work, b->dir);
	run(cmd);
	b->pid = -1;
	b->wfd = -1;
}

static char *config_for(const struct box *b)
{
	static char json[4096];

	snprintf(json, sizeof(json),
		 "{\"version\":1,\"box_id\":\"testvm01\",\"box_dir\":\"%s\",\"detach\":false,"
		 "\"qemu\":\"" QEMU "\",\"accel\":\"tcg\",\"kernel\":\"%s\",\"initramfs\":\"%s\","
		 "\"cpus\":1,\"memory_mib\":256,\"root_disk\":\"disk.qcow2\",\"network\":\"none\","
		 "\"hostname\":\"testvm01\",\"env\":[\"SECRET=" SECRET "\"],\"ready_timeout_ms\":60000}",
		 b->dir, kernel, initramfs);
	return json;
}

static pid_t qemu_of(pid_t shim)
{
	char path[64];
	int child = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)shim, (int)shim);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &child) != 1)
			child = -1;
		fclose(f);
	}
	return child;
}

static int greeted(int fd)
{
	static struct frame f;
	int rc = recv_frame(fd, &f, 60000);

	CHECK_MSG(rc == 1 && f.h.type == BXP_HELLO, "greeting: rc %d type %s: %s", rc,
		  rc == 1 ? bxp_type_name(f.h.type) : "-", rc == 1 ? field_str(&f, BXT_MESSAGE) : "");
	if (rc == 1 && f.h.type == BXP_HELLO) {
		uint64_t s = field_u64(&f, BXT_H_SHIM_START);
		fprintf(stderr, "boot: qemu +%.1f ms, agent hello +%.1f ms, ready +%.1f ms "
				"(guest uptime: agent %.0f ms, hello %.0f ms, setup done %.0f ms)\n",
			(field_u64(&f, BXT_H_QEMU_START) - s) / 1e6, (field_u64(&f, BXT_H_AGENT_HELLO) - s) / 1e6,
			(field_u64(&f, BXT_H_READY) - s) / 1e6, field_u64(&f, BXT_T_AGENT_START) / 1e6,
			field_u64(&f, BXT_T_READY) / 1e6, field_u64(&f, BXT_T_SETUP_DONE) / 1e6);
		return 1;
	}
	return 0;
}

/* Collects a session's output until EXIT; returns the exit code or -1. */
static int collect(int fd, uint32_t chan, char *out, char *err, size_t cap)
{
	static struct frame f;
	size_t no = 0, ne = 0;

	out[0] = err[0] = '\0';
	for (int i = 0; i < 1000; i++) {
		if (recv_frame(fd, &f, 30000) != 1)
			return -1;
		if (f.h.chan != chan)
			continue;
		if (f.h.type == BXP_DATA) {
			char *dst = f.h.stream == BXP_STDERR ? err : out;
			size_t *n = f.h.stream == BXP_STDERR ? &ne : &no;
			size_t take = f.h.len < cap - 1 - *n ? f.h.len : cap - 1 - *n;
			memcpy(dst + *n, f.p, take);
			*n += take;
			dst[*n] = '\0';
		} else if (f.h.type == BXP_EXIT) {
			return (int)field_u64(&f, BXT_EXIT_CODE);
		} else if (f.h.type == BXP_ERROR) {
			CHECK_MSG(0, "ERROR on %u: %s", chan, field_str(&f, BXT_MESSAGE));
			return -1;
		}
	}
	return -1;
}

static void test_boot_exec_shutdown(void)
{
	static struct frame f;
	const char *script[] = { "sh", "-c", "echo out-$((6*7)); echo err >&2; hostname; exit 3", NULL },
		   *cat[] = { "cat", NULL };
	char out[4096], err[4096], path[64];
	struct box b;
	int a, c;
	pid_t qemu;

	box_init(&b);
	box_spawn(&b, config_for(&b), 0);
	a = client_connect(&b);
	c = client_connect(&b);
	if (!greeted(a) || !greeted(c))
		goto stop;
	qemu = qemu_of(b.pid);
	snprintf(path, sizeof(path), "/proc/%d", (int)qemu);
	CHECK(qemu > 0 && !strstr(slurp(path, "cmdline"), SECRET) && !strstr(slurp(path, "environ"), SECRET));

	send_exec(a, 1, script);
	send_exec(c, 1, cat); /* the same channel number from another client */
	CHECK(collect(a, 1, out, err, sizeof(out)) == 3);
	CHECK_MSG(!strcmp(out, "out-42\ntestvm01\n") && !strcmp(err, "err\n"), "out [%s] err [%s]", out, err);
	CHECK(expect_frame(c, &f, 1, BXP_EXEC_STARTED) == 0);
	CHECK(bxp_send(c, 1, BXP_DATA, BXP_STDIN, "ping\n", 5) == 0);
	CHECK(bxp_send(c, 1, BXP_EOF, BXP_STDIN, NULL, 0) == 0);
	CHECK(collect(c, 1, out, err, sizeof(out)) == 0 && !strcmp(out, "ping\n"));
	close(c);
stop:
	CHECK(bxp_send(a, 0, BXP_SHUTDOWN, 0, NULL, 0) == 0);
	CHECK(recv_frame(a, &f, 20000) == 0);
	close(a);
	CHECK(box_wait(&b, 20000) == 0);
	CHECK(strstr(slurp(b.dir, "console.log"), "power off") != NULL);
	CHECK(strstr(slurp(b.dir, "console.log"), SECRET) == NULL);
	box_done(&b);
}

static void test_watchdog(void)
{
	struct box b;
	int a;

	box_init(&b);
	box_spawn(&b, config_for(&b), 0);
	a = client_connect(&b);
	greeted(a);
	close(b.wfd); /* as if the parent died */
	b.wfd = -1;
	CHECK(box_wait(&b, 8000) == 0);
	close(a);
	CHECK(strstr(slurp(b.dir, "shim.stderr"), "parent process gone"));
	box_done(&b);
}

int main(int argc, char **argv)
{
	char cmd[128];

	if (argc != 3) {
		fprintf(stderr, "usage: %s BOXLITE_SHIM SHARE_DIR\n", argv[0]);
		return 2;
	}
	shim_path = realpath(argv[1], NULL);
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", argv[2]);
	snprintf(initramfs, sizeof(initramfs), "%s/initramfs.cpio.gz", argv[2]);
	if (!shim_path || access(kernel, R_OK) || access(initramfs, R_OK) || access(QEMU, X_OK) ||
	    access(BUSYBOX, X_OK) || system("command -v mke2fs qemu-img >/dev/null")) {
		fprintf(stderr, "skipped: needs %s, %s, " QEMU ", " BUSYBOX ", mke2fs and qemu-img\n",
			kernel, initramfs);
		return 77;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	CHECK(mkdtemp(work) != NULL);
	make_base();
	test_boot_exec_shutdown();
	test_watchdog();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	CHECK(system(cmd) == 0);
	return check_summary("test_shim_vm");
}
