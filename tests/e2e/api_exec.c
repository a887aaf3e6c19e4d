/* Exec handles and copy, end to end through the public API, in one box:
 * stdin round trip with sha256, 8 concurrent output streams with sha256
 * while another exec answers, tty resize, timeout, user, copy in/out of a
 * tree byte-identically, escape attempts refused, and garbage on box.sock
 * ending only that connection.
 * Sizes scale with BOXLITE_TEST_MIB (default 32; the acceptance
 * sizes are larger, for a KVM host). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "boxlite.h"
#include "test.h"

#define NSTREAMS 8

static boxlite_box *box;
static char tmp[256];

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static boxlite_exec *start(const char *const *argv, int tty, const char *user, uint32_t timeout_ms)
{
	boxlite_exec_options o = { .struct_size = sizeof(o), .argv = argv, .tty = (uint32_t)tty,
				   .user = user, .timeout_ms = timeout_ms };
	boxlite_error *err = NULL;
	boxlite_exec *x = NULL;

	if (boxlite_exec_start(box, &o, &x, &err) < 0) {
		fprintf(stderr, "exec_start %s: %s\n", argv[0], boxlite_error_message(err));
		boxlite_error_free(err);
		return NULL;
	}
	return x;
}

/* Reads an fd to EOF into a malloc'd string (capped at 1 MiB). */
static char *slurp(int fd)
{
	size_t cap = 1 << 20, len = 0;
	char *b = malloc(cap + 1);
	ssize_t n;

	while ((n = read(fd, b + len, cap - len)) > 0)
		len += (size_t)n;
	b[len] = '\0';
	return b;
}

static char *run_out(const char *cmd)
{
	const char *argv[] = { "sh", "-c", cmd, NULL };
	boxlite_exec *x = start(argv, 0, NULL, 0);
	char *s;

	if (!x)
		return strdup("");
	boxlite_exec_close_stdin(x);
	s = slurp(boxlite_exec_stdout_fd(x));
	boxlite_exec_wait(x, -1, NULL, NULL);
	boxlite_exec_free(x);
	return s;
}

static void test_stdin(size_t mib)
{
	const char *argv[] = { "sha256sum", NULL };
	boxlite_exec *x = start(argv, 0, NULL, 0);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[32];
	char want[65], *got;
	uint64_t s = 88172645463325252ull;
	static uint64_t buf[8192];
	boxlite_exit_status st;

	CHECK(x != NULL);
	if (!x)
		return;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	double t0 = now_s();
	for (size_t i = 0; i < mib * 16; i++) { /* 64 KiB each */
		for (size_t k = 0; k < 8192; k++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			buf[k] = s;
		}
		EVP_DigestUpdate(md, buf, sizeof(buf));
		if (boxlite_exec_write_stdin(x, buf, sizeof(buf), NULL) < 0) {
			CHECK(!"write_stdin failed");
			break;
		}
	}
	CHECK(boxlite_exec_close_stdin(x) == 0);
	EVP_DigestFinal_ex(md, d, NULL);
	EVP_MD_CTX_free(md);
	hex(d, 32, want);
	got = slurp(boxlite_exec_stdout_fd(x));
	CHECK(boxlite_exec_wait(x, -1, &st, NULL) == 0 && st.exit_code == 0);
	CHECK(!strncmp(got, want, 64));
	fprintf(stderr, "stdin: %zu MiB through sha256sum in %.1f s, digest %s\n", mib, now_s() - t0,
		!strncmp(got, want, 64) ? "matches" : "DIFFERS");
	free(got);
	boxlite_exec_free(x);
}

static void test_streams(size_t mib)
{
	boxlite_exec *x[NSTREAMS];
	EVP_MD_CTX *md[NSTREAMS];
	char *errs[NSTREAMS], cmd[512];
	size_t errlen[NSTREAMS] = { 0 }, total[NSTREAMS] = { 0 };
	int open_[NSTREAMS][3];
	static unsigned char buf[65536];
	double t0 = now_s(), echo_s = -1;

	for (int i = 0; i < NSTREAMS; i++) {
		snprintf(cmd, sizeof(cmd),
			 "rm -f /tmp/p%d && mkfifo /tmp/p%d && { sha256sum < /tmp/p%d >&2 & } &&"
			 " head -c %zu /dev/urandom | tee /tmp/p%d; wait; rm /tmp/p%d",
			 i, i, i, mib << 20, i, i);
		const char *argv[] = { "sh", "-c", cmd, NULL };
		x[i] = start(argv, 0, NULL, 0);
		CHECK(x[i] != NULL);
		if (!x[i])
			return;
		boxlite_exec_close_stdin(x[i]);
		md[i] = EVP_MD_CTX_new();
		EVP_DigestInit_ex(md[i], EVP_sha256(), NULL);
		errs[i] = calloc(1, 4096);
		open_[i][1] = open_[i][2] = 1;
	}
	for (int left = 2 * NSTREAMS; left > 0;) {
		struct pollfd p[2 * NSTREAMS];
		for (int i = 0; i < NSTREAMS; i++)
			for (int s = 1; s <= 2; s++)
				p[2 * i + s - 1] = (struct pollfd){
					.fd = open_[i][s] ? (s == 1 ? boxlite_exec_stdout_fd(x[i])
								   : boxlite_exec_stderr_fd(x[i]))
							  : -1,
					.events = POLLIN };
		if (poll(p, 2 * NSTREAMS, -1) < 0)
			break;
		for (int i = 0; i < NSTREAMS; i++)
			for (int s = 1; s <= 2; s++) {
				struct pollfd *q = &p[2 * i + s - 1];
				ssize_t n;
				if (q->fd < 0 || !q->revents)
					continue;
				n = read(q->fd, buf, sizeof(buf));
				if (n <= 0) {
					open_[i][s] = 0;
					left--;
				} else if (s == 1) {
					EVP_DigestUpdate(md[i], buf, (size_t)n);
					total[i] += (size_t)n;
				} else if (errlen[i] + (size_t)n < 4096) {
					memcpy(errs[i] + errlen[i], buf, (size_t)n);
					errlen[i] += (size_t)n;
				}
			}
		/* Once the streams run, another exec must still answer. */
		if (echo_s < 0 && total[0] > (mib << 19)) {
			double e0 = now_s();
			char *o = run_out("echo pong");
			CHECK(!strcmp(o, "pong\n"));
			free(o);
			echo_s = now_s() - e0;
		}
	}
	double dt = now_s() - t0;
	int ok = 0;
	for (int i = 0; i < NSTREAMS; i++) {
		unsigned char d[32];
		char h[65];
		boxlite_exit_status st;
		EVP_DigestFinal_ex(md[i], d, NULL);
		EVP_MD_CTX_free(md[i]);
		hex(d, 32, h);
		CHECK(boxlite_exec_wait(x[i], -1, &st, NULL) == 0 && st.exit_code == 0);
		CHECK(total[i] == mib << 20);
		CHECK(!strncmp(errs[i], h, 64));
		ok += !strncmp(errs[i], h, 64) && total[i] == mib << 20;
		if (strncmp(errs[i], h, 64))
			fprintf(stderr, "stream %d: %zu bytes, stderr: %s\n", i, total[i], errs[i]);
		free(errs[i]);
		boxlite_exec_free(x[i]);
	}
	fprintf(stderr, "streams: %d x %zu MiB in %.1f s, %d/%d sha256 match; echo during them took %.2f s\n",
		NSTREAMS, mib, dt, ok, NSTREAMS, echo_s);
}

static void test_tty(void)
{
	const char *argv[] = { "sh", NULL };
	boxlite_exec *x = start(argv, 1, NULL, 0);
	boxlite_exit_status st;
	char *out;

	CHECK(x != NULL);
	if (!x)
		return;
	CHECK(boxlite_exec_write_stdin(x, "stty size\n", 10, NULL) == 0);
	usleep(300000);
	CHECK(boxlite_exec_resize(x, 50, 132) == 0);
	usleep(300000);
	CHECK(boxlite_exec_write_stdin(x, "stty size; tty; exit 3\n", 23, NULL) == 0);
	out = slurp(boxlite_exec_stdout_fd(x));
	CHECK(boxlite_exec_wait(x, -1, &st, NULL) == 0 && st.exit_code == 3);
	CHECK(strstr(out, "24 80") != NULL);
	CHECK(strstr(out, "50 132") != NULL);
	CHECK(strstr(out, "/dev/pts/") != NULL);
	/* stderr of a tty session is empty and at EOF */
	char c;
	CHECK(read(boxlite_exec_stderr_fd(x), &c, 1) == 0);
	free(out);
	boxlite_exec_free(x);
	CHECK(boxlite_exec_resize(NULL, 1, 1) == -EINVAL);
}

static void test_timeout_user_signal(void)
{
	const char *sl[] = { "sleep", "100", NULL };
	boxlite_exit_status st;
	double t0 = now_s();
	boxlite_exec *x = start(sl, 0, NULL, 1000);

	CHECK(x != NULL);
	if (x) {
		boxlite_exec_close_stdin(x);
		CHECK(boxlite_exec_wait(x, -1, &st, NULL) == 0);
		CHECK(st.signal == 15 && st.exit_code == -1);
		fprintf(stderr, "timeout: sleep 100 with 1 s timeout ended after %.2f s, signal %d\n",
			now_s() - t0, st.signal);
		boxlite_exec_free(x);
	}
	/* wait with a timeout, then a signal */
	x = start(sl, 0, NULL, 0);
	CHECK(x != NULL);
	if (x) {
		CHECK(boxlite_exec_wait(x, 0, &st, NULL) == -ETIMEDOUT);
		CHECK(boxlite_exec_wait(x, 200, &st, NULL) == -ETIMEDOUT);
		CHECK(boxlite_exec_signal(x, 9) == 0);
		CHECK(boxlite_exec_wait(x, -1, &st, NULL) == 0 && st.signal == 9);
		CHECK(boxlite_exec_signal(x, 9) == -ESRCH);
		boxlite_exec_free(x);
	}
	/* free while running kills it; the box goes on */
	x = start(sl, 0, NULL, 0);
	boxlite_exec_free(x);
	const char *id[] = { "id", NULL };
	x = start(id, 0, "nobody", 0);
	CHECK(x != NULL);
	if (x) {
		char *o = slurp(boxlite_exec_stdout_fd(x));
		CHECK(strstr(o, "uid=65534(nobody)") != NULL);
		fprintf(stderr, "user: %s", o);
		free(o);
		boxlite_exec_wait(x, -1, NULL, NULL);
		boxlite_exec_free(x);
	}
	/* a caller that never reads: the command blocks, nothing grows */
	const char *flood[] = { "sh", "-c", "head -c 50000000 /dev/zero; echo done >&2", NULL };
	x = start(flood, 0, NULL, 0);
	CHECK(x != NULL);
	if (x) {
		CHECK(boxlite_exec_wait(x, 1500, &st, NULL) == -ETIMEDOUT);
		boxlite_exec_free(x);
	}
}

#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n = snprintf(cmd, sizeof(cmd), "cd %s && ", tmp);

	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void test_copy(void)
{
	boxlite_error *err = NULL;
	char p[512], q[512];
	int rc;

	CHECK(sh("mkdir -p tree/sub/empty && echo hi > tree/a && chmod 0741 tree/a && chmod 0700 tree/sub"
		 " && head -c 20971520 /dev/urandom > tree/sub/big && ln -s a tree/link && ln -s / tree/root"
		 " && ln -s ../../etc tree/sub/up && touch -d 2001-02-03T04:05:06 tree/a tree/sub/big") == 0);
	snprintf(p, sizeof(p), "%s/tree", tmp);
	double t0 = now_s();
	rc = boxlite_box_copy_in(box, p, "/tmp/tree", &err);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "copy_in: %s\n", boxlite_error_message(err));
	double t1 = now_s();
	char *o = run_out("cd /tmp/tree && stat -c '%n %a %Y' a sub sub/big && for l in root link sub/up; do readlink $l; done"
			  " && md5sum sub/big | cut -c1-32");
	char *want = NULL;
	size_t wl = 0;
	FILE *f = open_memstream(&want, &wl);
	fprintf(f, "a 741 981173106\nsub 700 %s\nsub/big 644 981173106\n/\na\n../../etc\n", "");
	fclose(f);
	CHECK(strstr(o, "a 741 981173106\n") != NULL);
	CHECK(strstr(o, "sub/big 644 981173106\n") != NULL);
	CHECK(strstr(o, "\n/\na\n../../etc\n") != NULL);
	free(want);
	free(o);
	/* into an existing dir, and back out to a new name */
	snprintf(q, sizeof(q), "%s/back", tmp);
	rc = boxlite_box_copy_out(box, "/tmp/tree", q, &err);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "copy_out: %s\n", boxlite_error_message(err));
	fprintf(stderr, "copy: 20 MiB tree in %.2f s, out in %.2f s\n", t1 - t0, now_s() - t1);
	CHECK(sh("diff -r --no-dereference tree back") == 0);
	CHECK(sh("test \"$(stat -c '%%a %%Y' tree/a tree/sub tree/sub/big)\" = \"$(stat -c '%%a %%Y' back/a back/sub back/sub/big)\"") == 0);
	/* file into dir; file to file; contents with /. */
	snprintf(p, sizeof(p), "%s/tree/a", tmp);
	CHECK(boxlite_box_copy_in(box, p, "/tmp", NULL) == 0);
	CHECK(boxlite_box_copy_in(box, p, "/tmp/renamed", NULL) == 0);
	snprintf(q, sizeof(q), "%s/contents", tmp);
	CHECK(boxlite_box_copy_out(box, "/tmp/tree/sub/.", q, NULL) == 0);
	o = run_out("cat /tmp/a /tmp/renamed");
	CHECK(!strcmp(o, "hi\nhi\n"));
	free(o);
	CHECK(sh("cmp contents/big tree/sub/big && test -d contents/empty") == 0);
	/* errors name the path and the reason */
	boxlite_error_free(err);
	err = NULL;
	rc = boxlite_box_copy_out(box, "/no/such", q, &err);
	CHECK(rc == -ENOENT);
	CHECK(err && strstr(boxlite_error_message(err), "/no/such"));
	if (err)
		fprintf(stderr, "expected error: %s\n", boxlite_error_message(err));
	boxlite_error_free(err);
	err = NULL;
	rc = boxlite_box_copy_in(box, p, "/no/such/x", &err);
	CHECK(rc == -ENOENT);
	boxlite_error_free(err);
	err = NULL;
	/* ".." in a box path stays in the box's root */
	snprintf(q, sizeof(q), "%s/passwd", tmp);
	CHECK(boxlite_box_copy_out(box, "../../../../etc/passwd", q, NULL) == 0);
	CHECK(sh("grep -q '^nobody:' passwd && ! cmp -s passwd /etc/passwd") == 0);
	/* crafted tar streams: .., and a symlink to / then a file through it */
	CHECK(sh("python3 -c '\nimport tarfile,io\n"
		 "def add(t,name,data=b\"x\"):\n ti=tarfile.TarInfo(name);ti.size=len(data);t.addfile(ti,io.BytesIO(data))\n"
		 "def ln(t,name,target):\n ti=tarfile.TarInfo(name);ti.type=tarfile.SYMTYPE;ti.linkname=target;t.addfile(ti)\n"
		 "with tarfile.open(\"e1.tar\",\"w\") as t: add(t,\"../escaped1\")\n"
		 "with tarfile.open(\"e2.tar\",\"w\") as t: ln(t,\"l\",\"/\"); add(t,\"l/escaped2\")\n"
		 "'") == 0);
	free(run_out("mkdir -p /tmp/jail"));
	for (int i = 1; i <= 2; i++) {
		snprintf(p, sizeof(p), "%s/e%d.tar", tmp, i);
		int fd = open(p, O_RDONLY);
		rc = boxlite_box_copy_in_tar(box, fd, "/tmp/jail", &err);
		close(fd);
		CHECK(rc == -EPERM);
		if (err)
			fprintf(stderr, "expected error: %s\n", boxlite_error_message(err));
		CHECK(err && strstr(boxlite_error_message(err), "escaped"));
		boxlite_error_free(err);
		err = NULL;
	}
	o = run_out("ls /tmp/escaped1 /escaped2 2>&1 | grep -c 'No such'");
	CHECK(!strcmp(o, "2\n"));
	free(o);
	/* the guest's symlink to / is copied as a link, never followed */
	snprintf(q, sizeof(q), "%s/rootlink", tmp);
	CHECK(boxlite_box_copy_out(box, "/tmp/tree/root", q, NULL) == 0);
	CHECK(sh("test -L rootlink && test \"$(readlink rootlink)\" = /") == 0);
	/* tar stream out */
	snprintf(q, sizeof(q), "%s/out.tar", tmp);
	int fd = open(q, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(boxlite_box_copy_out_tar(box, "/tmp/tree", fd, NULL) == 0);
	close(fd);
	CHECK(sh("mkdir x && tar -C x -xf out.tar && diff -r --no-dereference tree x/tree") == 0);
}

/* Garbage on box.sock ends that connection; the box keeps serving. */
static void test_garbage(const char *home)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), n;
	static const unsigned char bad_hdr[12] = { 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 7, 0, 0, 0 };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/boxes/%s/box.sock", home, boxlite_box_id(box));
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	memset(buf, 'G', sizeof(buf));
	(void)!write(fd, bad_hdr, sizeof(bad_hdr));
	(void)!write(fd, buf, sizeof(buf));
	/* the shim greets, then drops us: read to EOF within 10 s */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int eof = 0;
	for (int i = 0; i < 100 && !eof; i++) {
		if (poll(&p, 1, 100) > 0) {
			n = (int)read(fd, buf, sizeof(buf));
			eof = n <= 0;
		}
	}
	CHECK(eof);
	close(fd);
	/* the shim logged why */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/boxes/%s/shim.stderr", home, boxlite_box_id(box));
	FILE *log = fopen(sa.sun_path, "r");
	int logged = 0;
	while (log && fgets(buf, sizeof(buf), log))
		logged |= strstr(buf, "dropped") != NULL;
	if (log)
		fclose(log);
	CHECK(logged);
	char *o = run_out("echo still-here");
	CHECK(!strcmp(o, "still-here\n"));
	free(o);
}

int main(void)
{
	char home[] = "/tmp/bx-exec.XXXXXX";
	boxlite_runtime *rt = NULL;
	boxlite_box_options *o;
	boxlite_error *err = NULL;
	const char *mib_s = getenv("BOXLITE_TEST_MIB");
	size_t mib = mib_s ? (size_t)atoi(mib_s) : 32;

	signal(SIGPIPE, SIG_IGN);
	CHECK(mkdtemp(home) != NULL);
	snprintf(tmp, sizeof(tmp), "%s/files", home);
	mkdir(tmp, 0755);
	if (boxlite_runtime_open(home, &rt, &err) < 0) {
		fprintf(stderr, "%s\n", boxlite_error_message(err));
		return 1;
	}
	o = boxlite_box_options_new("localhost/busybox:latest");
	boxlite_box_options_set_memory_mib(o, 1024);
	/* The box lives as long as its main command. */
	const char *forever[] = { "sleep", "1000000", NULL };
	boxlite_box_options_set_command(o, forever);
	if (boxlite_box_create(rt, o, &box, &err) < 0 || boxlite_box_start(box, &err) < 0) {
		fprintf(stderr, "%s\n", boxlite_error_message(err));
		return 1;
	}
	const char *only = getenv("BOXLITE_TEST_ONLY");
	if (!only || strstr(only, "garbage"))
		test_garbage(home);
	if (!only || strstr(only, "tty"))
		test_tty();
	if (!only || strstr(only, "timeout"))
		test_timeout_user_signal();
	if (!only || strstr(only, "copy"))
		test_copy();
	if (!only || strstr(only, "stdin"))
		test_stdin(mib);
	if (!only || strstr(only, "streams"))
		test_streams(mib);
	boxlite_box_remove(box, NULL);
	boxlite_box_options_free(o);
	boxlite_runtime_close(rt);
	if (!test_failures) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
		(void)!system(cmd);
	}
	TEST_MAIN_END();
}
