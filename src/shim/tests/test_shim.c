/* The real boxlite-shim, spawned the way the library does it: config
 * failures (clean exit, clear message, no secret in shim.stderr), and with
 * a fake QEMU (fake_qemu.c) the boot handshake, the channel multiplexer and
 * every stop path (client SHUTDOWN, SIGTERM ladder, watchdog, QEMU death). */
#include "shim_test.h"

static const char *fake_qemu;

static char *config_for(const struct box *b, const char *qemu, const char *kernel, unsigned timeout_ms,
			int detach)
{
	static char json[4096];

	snprintf(json, sizeof(json),
		 "{\"version\":1,\"box_id\":\"testbox01\",\"box_dir\":\"%s\",\"detach\":%s,"
		 "\"qemu\":\"%s\",\"accel\":\"tcg\",\"kernel\":\"%s\",\"initramfs\":\"%s/initramfs\","
		 "\"cpus\":1,\"memory_mib\":64,\"root_disk\":\"disk.qcow2\",\"network\":\"user\","
		 "\"hostname\":\"testhost\",\"env\":[\"PATH=/bin\",\"SECRET=" SECRET "\"],"
		 "\"ready_timeout_ms\":%u}",
		 b->dir, detach ? "true" : "false", qemu, kernel, b->dir, timeout_ms);
	return json;
}

static void box_init(struct box *b, const char *mode)
{
	strcpy(b->dir, "/tmp/bx-shim-XXXXXX");
	CHECK(mkdtemp(b->dir) != NULL);
	put_file(b->dir, "vmlinux", "not a kernel");
	put_file(b->dir, "initramfs", "not an initramfs");
	put_file(b->dir, "disk.qcow2", "not a disk");
	put_file(b->dir, "fake-mode", mode);
	b->pid = -1;
	b->wfd = -1;
}

/* ---- config failures: clear message, exit 1, secret never logged */

static void expect_config_failure(const char *config, const char *want)
{
	struct box b;
	const char *log;

	box_init(&b, "normal");
	box_spawn(&b, config, 0);
	CHECK(box_wait(&b, 5000) == 1);
	log = slurp(b.dir, "shim.stderr");
	CHECK_MSG(strstr(log, want) != NULL, "want \"%s\" in:\n%s", want, log);
	CHECK_MSG(strstr(log, "cannot start the box") != NULL, "%s", log);
	box_done(&b);
}

static void test_config_failures(void)
{
	static char big[(1 << 20) + 2];
	struct box b;

	box_init(&b, "normal"); /* only for its path in the config */
	expect_config_failure(config_for(&b, "/usr/bin/qemu-system-x86_64", "/nonexistent/vmlinux", 1000, 0),
			      "guest kernel /nonexistent/vmlinux: No such file or directory");
	expect_config_failure("{\"env\":[\"SECRET=" SECRET "\"] " SECRET, "invalid JSON at line 1");
	expect_config_failure("{\"version\":2,\"env\":[\"SECRET=" SECRET "\"]}", "unsupported version 2");
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	memcpy(big + 1, "\"" SECRET "\":1}", strlen(SECRET) + 5);
	expect_config_failure(big, "exceeds 1048576 bytes");
	box_done(&b);

	/* No argv, ever. */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s --config x </dev/null 2>/dev/null", shim_path);
	int st = system(cmd);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

/* ---- boot, mux, shutdown with a fake QEMU */

static void test_mux(void)
{
	static struct frame f;
	const char *echo[] = { "echo", "hello", "world", NULL }, *cat[] = { "cat", NULL },
		   *sleep_[] = { "sleep", NULL };
	struct box b;
	int a, bb, c, d;
	const char *log, *fake;

	box_init(&b, "normal");
	box_spawn(&b, config_for(&b, fake_qemu, "/dev/null", 10000, 0), 0);
	/* Clients may connect before the box is ready; they are held. */
	a = client_connect(&b);
	CHECK(recv_frame(a, &f, 10000) == 1 && f.h.type == BXP_HELLO && f.h.chan == 0);
	CHECK(field_u64(&f, BXT_VERSION) == BXP_VERSION);
	CHECK(field_u64(&f, BXT_T_AGENT_START) == 1000000 && field_u64(&f, BXT_T_READY) == 2000000);
	CHECK(field_u64(&f, BXT_T_SETUP_DONE) == 3000000);
	uint64_t t0 = field_u64(&f, BXT_H_SHIM_START), t1 = field_u64(&f, BXT_H_QEMU_START),
		 t2 = field_u64(&f, BXT_H_AGENT_HELLO), t3 = field_u64(&f, BXT_H_READY);
	CHECK(t0 > 0 && t0 <= t1 && t1 <= t2 && t2 <= t3);
	fprintf(stderr, "fake boot: shim start -> qemu %.2f ms -> agent hello %.2f ms -> ready %.2f ms\n",
		(t1 - t0) / 1e6, (t2 - t0) / 1e6, (t3 - t0) / 1e6);

	/* Once ready, the shim passes PING to the agent and its PONG back
	 * (the fake agent echoes the payload and adds guest memory). */
	uint8_t ping[10];
	struct bxp_writer w;
	bxp_writer_init(&w, ping, sizeof(ping));
	bxp_put_u32(&w, BXT_PID, 42);
	CHECK(bxp_send(a, 0, BXP_PING, 0, ping, w.len) == 0);
	CHECK(expect_frame(a, &f, 0, BXP_PONG) == 0 && field_u64(&f, BXT_PID) == 42 &&
	      field_u64(&f, BXT_GUEST_MEM_TOTAL) == 123456789);

	send_exec(a, 1, echo);
	CHECK(expect_frame(a, &f, 1, BXP_EXEC_STARTED) == 0);
	CHECK(expect_frame(a, &f, 1, BXP_DATA) == 0 && f.h.stream == BXP_STDOUT &&
	      f.h.len == 12 && !memcmp(f.p, "hello world\n", 12));
	CHECK(expect_frame(a, &f, 1, BXP_EXIT) == 0 && field_u64(&f, BXT_EXIT_CODE) == 0);

	/* Two clients using the same channel number get distinct sessions. */
	bb = client_connect(&b);
	CHECK(recv_frame(bb, &f, 5000) == 1 && f.h.type == BXP_HELLO);
	send_exec(bb, 1, cat);
	CHECK(expect_frame(bb, &f, 1, BXP_EXEC_STARTED) == 0);
	send_exec(a, 1, sleep_); /* channel 1 of client a is free again after EXIT */
	CHECK(expect_frame(a, &f, 1, BXP_EXEC_STARTED) == 0);
	CHECK(bxp_send(bb, 1, BXP_DATA, BXP_STDIN, "via-b", 5) == 0);
	CHECK(expect_frame(bb, &f, 1, BXP_DATA) == 0 && f.h.len == 5 && !memcmp(f.p, "via-b", 5));

	/* Each agent PONG goes back to the client that pinged, in order; one
	 * for a client gone meanwhile is dropped. */
	c = client_connect(&b);
	CHECK(recv_frame(c, &f, 5000) == 1 && f.h.type == BXP_HELLO);
	bxp_writer_init(&w, ping, sizeof(ping));
	bxp_put_u32(&w, BXT_PID, 7);
	CHECK(bxp_send(c, 0, BXP_PING, 0, ping, w.len) == 0);
	close(c);
	bxp_writer_init(&w, ping, sizeof(ping));
	bxp_put_u32(&w, BXT_PID, 8);
	CHECK(bxp_send(bb, 0, BXP_PING, 0, ping, w.len) == 0);
	bxp_writer_init(&w, ping, sizeof(ping));
	bxp_put_u32(&w, BXT_PID, 9);
	CHECK(bxp_send(a, 0, BXP_PING, 0, ping, w.len) == 0);
	CHECK(expect_frame(bb, &f, 0, BXP_PONG) == 0 && field_u64(&f, BXT_PID) == 8);
	CHECK(expect_frame(a, &f, 0, BXP_PONG) == 0 && field_u64(&f, BXT_PID) == 9 &&
	      field_u64(&f, BXT_GUEST_MEM_TOTAL) == 123456789);

	/* A client that breaks the protocol is dropped alone. */
	c = client_connect(&b);
	CHECK(recv_frame(c, &f, 5000) == 1 && f.h.type == BXP_HELLO);
	uint8_t bad[BXP_HEADER_SIZE] = { 0, 0, 0, 0, 1, 0, 0, 0, BXP_DATA, 0, 0, 0x80 };
	CHECK(write(c, bad, sizeof(bad)) == sizeof(bad));
	CHECK(recv_frame(c, &f, 5000) == 0);
	close(c);
	d = client_connect(&b); /* a frame type a client may not send */
	CHECK(recv_frame(d, &f, 5000) == 1 && f.h.type == BXP_HELLO);
	CHECK(bxp_send(d, 3, BXP_EXIT, 0, NULL, 0) == 0);
	CHECK(recv_frame(d, &f, 5000) == 0);
	close(d);
	CHECK(bxp_send(bb, 1, BXP_DATA, BXP_STDIN, "still", 5) == 0);
	CHECK(expect_frame(bb, &f, 1, BXP_DATA) == 0 && f.h.len == 5 && !memcmp(f.p, "still", 5));

	/* Client a leaves with "sleep" running: the agent gets CLOSE for it. */
	close(a);
	for (int i = 0; i < 200 && !strstr(slurp(b.dir, "fake.log"), "close "); i++)
		usleep(10000);
	fake = slurp(b.dir, "fake.log");
	CHECK_MSG(count_lines(fake, "\nexec ") == 3, "%s", fake);
	CHECK(count_lines(fake, "\nclose ") == 1);
	/* Agent channels are unique although both clients used channel 1. */
	unsigned e[3] = { 0 }, cl = 0;
	const char *p = fake;
	for (int i = 0; i < 3 && (p = strstr(p, "exec ")); i++, p++)
		sscanf(p, "exec %u", &e[i]);
	if ((p = strstr(fake, "close ")))
		sscanf(p, "close %u", &cl);
	unsigned e1 = e[0], e2 = e[1], e3 = e[2];
	CHECK(e1 && e2 && e3 && e1 != e2 && e2 != e3 && e1 != e3);
	CHECK(cl == e3); /* the sleep session */

	/* SETUP carried the box identity and environment to the agent. */
	CHECK(strstr(fake, "setup 16 /dev/vda") && strstr(fake, "setup 17 ext4") &&
	      strstr(fake, "setup 18 testhost") && strstr(fake, "setup seed 32 bytes") &&
	      strstr(fake, "setup clock"));
	CHECK(strstr(fake, "setup env SECRET=" SECRET));

	CHECK(bxp_send(bb, 1, BXP_EOF, BXP_STDIN, NULL, 0) == 0);
	CHECK(expect_frame(bb, &f, 1, BXP_EXIT) == 0);
	CHECK(bxp_send(bb, 0, BXP_SHUTDOWN, 0, NULL, 0) == 0);
	CHECK(recv_frame(bb, &f, 5000) == 0); /* closed when the box is gone */
	close(bb);
	CHECK(box_wait(&b, 5000) == 0);
	log = slurp(b.dir, "shim.stderr");
	CHECK(strstr(log, "stage shim_start") && strstr(log, "stage qemu_start") &&
	      strstr(log, "stage agent_hello") && strstr(log, "stage ready"));
	CHECK(strstr(log, "config ") && strstr(log, " bytes"));
	CHECK(strstr(log, "box stopped (client"));
	CHECK(strstr(slurp(b.dir, "fake.log"), "shutdown"));
	CHECK(!exists(b.dir, "agent.sock") && !exists(b.dir, "qmp.sock"));
	/* The QEMU command line is the engine's, run in the box directory. */
	CHECK(strstr(slurp(b.dir, "fake.argv"), "socket,id=agent,path=agent.sock,server=on,wait=off"));
	box_done(&b);
}

/* SIGTERM: the ladder goes agent -> QMP quit (-> SIGTERM -> SIGKILL). */
static void test_sigterm(const char *mode, const char *want_log, const char *want_fake)
{
	static struct frame f;
	struct box b;
	int a;

	box_init(&b, mode);
	box_spawn(&b, config_for(&b, fake_qemu, "/dev/null", 10000, 0), 0);
	a = client_connect(&b);
	CHECK(recv_frame(a, &f, 10000) == 1 && f.h.type == BXP_HELLO);
	kill(b.pid, SIGTERM);
	CHECK(box_wait(&b, 5000) == 0);
	CHECK(recv_frame(a, &f, 1000) == 0);
	close(a);
	CHECK_MSG(strstr(slurp(b.dir, "shim.stderr"), want_log), "want %s", want_log);
	CHECK_MSG(strstr(slurp(b.dir, "fake.log"), want_fake), "want %s", want_fake);
	box_done(&b);
}

/* The parent goes away: the watchdog pipe closes, the box stops. */
static void test_watchdog(void)
{
	static struct frame f;
	struct box b;
	int a;

	box_init(&b, "normal");
	box_spawn(&b, config_for(&b, fake_qemu, "/dev/null", 10000, 0), 0);
	a = client_connect(&b);
	CHECK(recv_frame(a, &f, 10000) == 1 && f.h.type == BXP_HELLO);
	close(b.wfd);
	b.wfd = -1;
	CHECK(box_wait(&b, 6000) == 0);
	close(a);
	CHECK(strstr(slurp(b.dir, "shim.stderr"), "parent process gone"));
	CHECK(strstr(slurp(b.dir, "fake.log"), "shutdown"));
	box_done(&b);
}

/* Detached: no watchdog, own session; stops on SHUTDOWN. */
static void test_detached(void)
{
	static struct frame f;
	struct box b;
	int a;

	box_init(&b, "normal");
	box_spawn(&b, config_for(&b, fake_qemu, "/dev/null", 10000, 1), 1);
	CHECK(b.wfd == -1);
	a = client_connect(&b);
	CHECK(recv_frame(a, &f, 10000) == 1 && f.h.type == BXP_HELLO);
	CHECK(getsid(b.pid) == b.pid);
	char pidfile[64];
	snprintf(pidfile, sizeof(pidfile), "%d ", (int)b.pid);
	CHECK(strncmp(slurp(b.dir, "shim.pid"), pidfile, strlen(pidfile)) == 0);
	CHECK(bxp_send(a, 0, BXP_SHUTDOWN, 0, NULL, 0) == 0);
	CHECK(box_wait(&b, 5000) == 0);
	close(a);
	CHECK(!strstr(slurp(b.dir, "shim.stderr"), "watchdog pipe"));
	box_done(&b);
}

/* Boot failures reach clients that are waiting, as ERROR on channel 0. */
static void test_boot_failure(const char *mode, unsigned timeout_ms, int want_errno, const char *want_msg)
{
	static struct frame f;
	struct box b;
	const char *log;
	int a;

	box_init(&b, mode);
	box_spawn(&b, config_for(&b, fake_qemu, "/dev/null", timeout_ms, 0), 0);
	a = client_connect(&b);
	CHECK(recv_frame(a, &f, 10000) == 1 && f.h.type == BXP_ERROR && f.h.chan == 0);
	CHECK_MSG((int)field_u64(&f, BXT_ERRNO) == want_errno, "errno %d", (int)field_u64(&f, BXT_ERRNO));
	CHECK_MSG(strstr(field_str(&f, BXT_MESSAGE), want_msg), "message: %s", field_str(&f, BXT_MESSAGE));
	CHECK(recv_frame(a, &f, 5000) == 0);
	close(a);
	CHECK(box_wait(&b, 5000) == 1);
	log = slurp(b.dir, "shim.stderr");
	CHECK(strstr(log, "box failed: ") && strstr(log, want_msg));
	box_done(&b);
}

/* QEMU dies, or the agent misbehaves, while a session is open. */
static void test_runtime_failure(const char *cmd, const char *want_log)
{
	static struct frame f;
	const char *argv[] = { cmd, NULL }, *sleep_[] = { "sleep", NULL };
	struct box b;
	int a;

	box_init(&b, "normal");
	box_spawn(&b, config_for(&b, fake_qemu, "/dev/null", 10000, 0), 0);
	a = client_connect(&b);
	CHECK(recv_frame(a, &f, 10000) == 1 && f.h.type == BXP_HELLO);
	send_exec(a, 5, sleep_);
	CHECK(expect_frame(a, &f, 5, BXP_EXEC_STARTED) == 0);
	send_exec(a, 6, argv);
	/* Every open session hears that the box stopped. */
	int got5 = 0;
	for (int i = 0; i < 8; i++) {
		int rc = recv_frame(a, &f, 5000);
		if (rc <= 0)
			break;
		if (f.h.type == BXP_ERROR && f.h.chan == 5)
			got5 = !strcmp(field_str(&f, BXT_MESSAGE), "box stopped");
	}
	CHECK(got5);
	close(a);
	CHECK(box_wait(&b, 5000) == 1);
	CHECK_MSG(strstr(slurp(b.dir, "shim.stderr"), want_log), "want %s", want_log);
	box_done(&b);
}

/* A client that stops reading while a session floods it is dropped once its
 * queue passes the bound; the agent hears CLOSE; other clients carry on. */
static void test_slow_client(void)
{
	static struct frame f;
	const char *flood[] = { "flood", NULL }, *echo[] = { "echo", "alive", NULL };
	struct box b;
	int slow, other;
	long total = 0;

	box_init(&b, "normal");
	box_spawn(&b, config_for(&b, fake_qemu, "/dev/null", 10000, 0), 0);
	slow = client_connect(&b);
	other = client_connect(&b);
	CHECK(recv_frame(slow, &f, 10000) == 1 && f.h.type == BXP_HELLO);
	CHECK(recv_frame(other, &f, 10000) == 1 && f.h.type == BXP_HELLO);
	send_exec(slow, 1, flood);
	for (int i = 0; i < 500 && !strstr(slurp(b.dir, "fake.log"), "close "); i++)
		usleep(10000);
	CHECK_MSG(strstr(slurp(b.dir, "fake.log"), "close 1"), "%s", slurp(b.dir, "fake.log"));
	CHECK(strstr(slurp(b.dir, "shim.stderr"), "client 1 dropped: output queue over"));
	/* What was queued before the drop arrives, then the end of the stream. */
	for (int rc; (rc = recv_frame(slow, &f, 5000)) == 1;)
		total += f.h.len;
	CHECK(total < 16L << 20);
	close(slow);
	send_exec(other, 1, echo);
	CHECK(expect_frame(other, &f, 1, BXP_DATA) == 0 && f.h.len == 6 && !memcmp(f.p, "alive\n", 6));
	CHECK(bxp_send(other, 0, BXP_SHUTDOWN, 0, NULL, 0) == 0);
	CHECK(box_wait(&b, 5000) == 0);
	close(other);
	box_done(&b);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s BOXLITE_SHIM FAKE_QEMU\n", argv[0]);
		return 2;
	}
	shim_path = realpath(argv[1], NULL);
	fake_qemu = realpath(argv[2], NULL);
	if (!shim_path || !fake_qemu) {
		perror("realpath");
		return 2;
	}
	setenv("BOXLITE_LOG", "debug", 1);
	setvbuf(stderr, NULL, _IOLBF, 0);
	test_config_failures();
	test_mux();
	test_sigterm("ignore-shutdown", "QEMU accepted QMP quit", "qmp quit");
	test_sigterm("stubborn", "sending SIGKILL to QEMU", "qmp quit");
	test_watchdog();
	test_detached();
	test_slow_client();
	test_boot_failure("die-at-boot", 10000, EIO, "could not load kernel 'boom'");
	test_boot_failure("no-hello", 300, ETIMEDOUT, "not ready after 300 ms");
	test_runtime_failure("crash", "QEMU exited unexpectedly (exit status 3)");
	test_runtime_failure("garbage", "malformed frame from the guest agent");
	return check_summary("test_shim");
}
