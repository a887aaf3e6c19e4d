/* The measuring half of bench/exec.sh (see its header for what and why). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "boxlite.h"
#include "protocol.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void die(const char *what, boxlite_error *err)
{
	fprintf(stderr, "exec_bench: %s: %s\n", what, err ? boxlite_error_message(err) : "failed");
	exit(1);
}

/* Through the library: exec handle, read stdout to nowhere. Returns bytes. */
static size_t lib_stream(boxlite_box *box, const char *cmd)
{
	const char *argv[] = { "sh", "-c", cmd, NULL };
	boxlite_exec_options o = { .struct_size = sizeof(o), .argv = argv };
	boxlite_exec *x;
	boxlite_error *err = NULL;
	static char buf[1 << 16];
	size_t total = 0;
	ssize_t n;

	if (boxlite_exec_start(box, &o, &x, &err) < 0)
		die("exec", err);
	boxlite_exec_close_stdin(x);
	while ((n = read(boxlite_exec_stdout_fd(x), buf, sizeof(buf))) > 0)
		total += (size_t)n;
	boxlite_exec_wait(x, -1, NULL, NULL);
	boxlite_exec_free(x);
	return total;
}

/* The raw channel: a minimal protocol client on box.sock, same command,
 * the largest window the shim allows, credit returned at once, payloads
 * counted and dropped in place (no thread, no copy). */
static size_t raw_stream(const char *sock, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static struct bxp_framer fr;
	uint8_t req[4096];
	struct bxp_writer w;
	struct bxp_header h;
	const uint8_t *p;
	size_t total = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	uint32_t window = 64u << 20, unacked = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	bxp_framer_init(&fr);
	bxp_writer_init(&w, req, sizeof(req));
	bxp_put_str(&w, BXT_ARG, "sh");
	bxp_put_str(&w, BXT_ARG, "-c");
	bxp_put_str(&w, BXT_ARG, cmd);
	bxp_put_str(&w, BXT_ENV, "PATH=/usr/bin:/bin");
	bxp_put_u32(&w, BXT_WINDOW, window);
	bxp_send(fd, 1, BXP_EXEC, 0, req, w.len);
	for (;;) {
		size_t avail;
		uint8_t *space;
		ssize_t n;
		int rc;

		while ((rc = bxp_framer_next(&fr, &h, &p)) == 1) {
			if (h.chan != 1)
				continue;
			if (h.type == BXP_EXEC_STARTED)
				bxp_send(fd, 1, BXP_EOF, BXP_STDIN, NULL, 0);
			else if (h.type == BXP_DATA && h.stream == BXP_STDOUT) {
				total += h.len;
				unacked += h.len;
				if (unacked >= window / 4) {
					uint8_t g[16];
					struct bxp_writer gw;
					bxp_writer_init(&gw, g, sizeof(g));
					bxp_put_u32(&gw, BXT_CREDIT, unacked);
					bxp_send(fd, 1, BXP_WINDOW, BXP_STDOUT, g, gw.len);
					unacked = 0;
				}
			} else if (h.type == BXP_EXIT || h.type == BXP_ERROR) {
				close(fd);
				return total;
			}
		}
		if (rc < 0)
			break;
		space = bxp_framer_space(&fr, &avail);
		n = read(fd, space, avail);
		if (n <= 0)
			break;
		bxp_framer_commit(&fr, (size_t)n);
	}
	close(fd);
	return total;
}

int main(int argc, char **argv)
{
	boxlite_runtime *rt;
	boxlite_box *box;
	boxlite_box_options *o;
	boxlite_error *err = NULL;
	boxlite_exit_status st;
	int n = argc > 1 ? atoi(argv[1]) : 100;
	int mib = argc > 2 ? atoi(argv[2]) : 128;
	const char *home = getenv("BOXLITE_HOME");
	const char *forever[] = { "sleep", "1000000", NULL };
	const char *t[] = { "true", NULL };
	char sock[512], cmd[256], hostfile[512];
	double *lat = calloc((size_t)n, sizeof(double));

	if (boxlite_runtime_open(home, &rt, &err) < 0)
		die("runtime", err);
	o = boxlite_box_options_new("localhost/busybox:latest");
	boxlite_box_options_set_memory_mib(o, 1024);
	boxlite_box_options_set_command(o, forever);
	if (boxlite_box_create(rt, o, &box, &err) < 0 || boxlite_box_start(box, &err) < 0)
		die("box", err);
	snprintf(sock, sizeof(sock), "%s/boxes/%s/box.sock", boxlite_runtime_home(rt), boxlite_box_id(box));

	/* 1. exec true round trip */
	for (int i = 0; i < 5; i++)
		boxlite_box_run(box, t, &st, NULL, NULL, NULL);
	for (int i = 0; i < n; i++) {
		double t0 = now_s();
		if (boxlite_box_run(box, t, &st, NULL, NULL, &err) < 0)
			die("exec true", err);
		lat[i] = now_s() - t0;
	}
	qsort(lat, (size_t)n, sizeof(double), cmp_d);
	printf("exec true round trip (N=%d): p50 %.2f ms, p99 %.2f ms\n", n, lat[n / 2] * 1e3,
	       lat[(int)(n * 0.99) < n ? (int)(n * 0.99) : n - 1] * 1e3);

	/* 2. stdout throughput: the same file through the library and raw */
	snprintf(cmd, sizeof(cmd), "head -c %d /dev/zero > /dev/shm/big", mib << 20);
	const char *mk[] = { "sh", "-c", cmd, NULL };
	boxlite_box_run(box, mk, &st, NULL, NULL, NULL);
	double lib_best = 0, raw_best = 0;
	for (int r = 0; r < 3; r++) { /* interleaved, best of 3 each */
		double t0 = now_s();
		size_t b = raw_stream(sock, "cat /dev/shm/big");
		double rate = (double)b / (1 << 20) / (now_s() - t0);
		if (b != (size_t)mib << 20)
			fprintf(stderr, "raw: got %zu bytes\n", b);
		raw_best = rate > raw_best ? rate : raw_best;
		t0 = now_s();
		b = lib_stream(box, "cat /dev/shm/big");
		rate = (double)b / (1 << 20) / (now_s() - t0);
		if (b != (size_t)mib << 20)
			fprintf(stderr, "lib: got %zu bytes\n", b);
		lib_best = rate > lib_best ? rate : lib_best;
	}
	printf("stdout throughput (%d MiB, best of 3): library %.1f MiB/s, raw channel %.1f MiB/s, ratio %.2f\n",
	       mib, lib_best, raw_best, lib_best / raw_best);
	const char *rm[] = { "rm", "-f", "/dev/shm/big", NULL };
	boxlite_box_run(box, rm, &st, NULL, NULL, NULL);

	/* 3. copy-in throughput: one file into tmpfs */
	snprintf(hostfile, sizeof(hostfile), "%s/copy-src", boxlite_runtime_home(rt));
	int fd = open(hostfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static char buf[1 << 20];
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < mib; i++)
		(void)!write(fd, buf, sizeof(buf));
	close(fd);
	double best = 0;
	for (int r = 0; r < 2; r++) {
		double t0 = now_s();
		if (boxlite_box_copy_in(box, hostfile, "/dev/shm/copied", &err) < 0)
			die("copy in", err);
		double rate = mib / (now_s() - t0);
		best = rate > best ? rate : best;
	}
	printf("copy-in throughput (%d MiB file to tmpfs, best of 2): %.1f MiB/s\n", mib, best);
	boxlite_box_remove(box, NULL);
	boxlite_box_options_free(o);
	boxlite_runtime_close(rt);
	return 0;
}
