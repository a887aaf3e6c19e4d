#!/usr/bin/env bash
# bench/server: what the REST server costs over the C API, same box, same run.
#   1. `exec true` round trip, median and p90 of N: C: boxlite_box_run on a
#      box handle; REST: POST /exec + WebSocket attach until the exit frame,
#      by a small C client (raw sockets, keep-alive for the POST) so the
#      figure is the server's, not a client library's.
#   2. GET /v1/boxes requests per second with wrk, 16 connections, 2 threads.
#   3. Remote mode (docs/remote.md): `boxlite exec BOX -- true` through the
#      CLI with --url against the local CLI, and `exec("true")` + wait in the
#      Python SDK on Boxlite.rest against a local Boxlite, medians of M.
# Prints both round trips, their ratio and difference, and wrk's rate.
# Goals (issue 27): REST/C <= 1.5x, <= 3 ms added at p50.
# Usage: bench/server.sh [N] [SECONDS] [M]   (defaults 100, 5, 20)
set -euo pipefail
N=${1:-100}
SECS=${2:-5}
M=${3:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
WORK=$(mktemp -d /tmp/boxlite-bench-server.XXXXXX)
export BOXLITE_HOME=$WORK/home
SERVER=
cleanup() {
	[ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }
	rm -rf "$WORK"
}
trap cleanup EXIT
command -v wrk >/dev/null || { echo "bench/server: wrk is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }

cat > "$WORK/rt_bench.c" <<'C'
/* rt_bench c|rest BOX N [PORT KEY]: median and p90 of an `exec true` round trip. */
#include <arpa/inet.h>
#include <boxlite.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static void die(const char *m) { fprintf(stderr, "rt_bench: %s\n", m); exit(1); }

static int dial(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads one HTTP response's head and body (Content-Length) into buf. */
static int http_read(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	char *end;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0) die("read");
		len += n;
		buf[len] = 0;
		if ((end = strstr(buf, "\r\n\r\n"))) {
			char *cl = strcasestr(buf, "Content-Length:");
			size_t want = (end - buf) + 4 + (cl ? strtoul(cl + 15, NULL, 10) : 0);
			while (len < want) {
				n = read(fd, buf + len, cap - 1 - len);
				if (n <= 0) die("read body");
				len += n;
			}
			buf[len] = 0;
			return atoi(buf + 9);
		}
	}
}

static void rest_once(int *post, int port, const char *key, const char *box)
{
	char req[1024], buf[8192], id[64], *p;
	const char *body = "{\"command\":\"true\"}";
	int n = snprintf(req, sizeof(req), "POST /v1/boxes/%s/exec HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", box, key, strlen(body), body);
	if (write(*post, req, n) != n || http_read(*post, buf, sizeof(buf)) != 201) die("POST exec");
	if (!(p = strstr(buf, "\"execution_id\":\"")) || sscanf(p + 16, "%63[^\"]", id) != 1) die("execution_id");
	int ws = dial(port);
	n = snprintf(req, sizeof(req), "GET /v1/boxes/%s/executions/%s/attach HTTP/1.1\r\nHost: x\r\n"
		     "Authorization: Bearer %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", box, id, key);
	if (write(ws, req, n) != n) die("attach");
	/* Everything up to the exit frame: the 101, then frames. */
	size_t len = 0;
	for (;;) {
		ssize_t k = read(ws, buf + len, sizeof(buf) - 1 - len);
		if (k <= 0) die("attach read");
		len += k;
		buf[len] = 0;
		if (memmem(buf, len, "\"type\":\"exit\"", 13)) break;
	}
	close(ws);
}

int main(int argc, char **argv)
{
	int n = atoi(argv[3]);
	double *t = calloc(n, sizeof(double));
	if (!strcmp(argv[1], "rest")) {
		int port = atoi(argv[4]), post = dial(port);
		rest_once(&post, port, argv[5], argv[2]);
		for (int i = 0; i < n; i++) { double t0 = now(); rest_once(&post, port, argv[5], argv[2]); t[i] = now() - t0; }
	} else {
		boxlite_runtime *rt; boxlite_box *b; boxlite_error *err = NULL; boxlite_exit_status st;
		const char *a[] = { "true", NULL };
		if (boxlite_runtime_open(NULL, &rt, &err) < 0 || boxlite_box_get(rt, argv[2], &b, &err) < 0) die(boxlite_error_message(err));
		boxlite_box_run(b, a, &st, NULL, NULL, NULL);
		for (int i = 0; i < n; i++) {
			double t0 = now();
			if (boxlite_box_run(b, a, &st, NULL, NULL, &err) < 0) die(boxlite_error_message(err));
			t[i] = now() - t0;
		}
	}
	qsort(t, n, sizeof(*t), cmp);
	printf("%.6f %.6f\n", t[n / 2], t[n * 9 / 10]);
	return 0;
}
C
cc -O2 -D_GNU_SOURCE -I"$ROOT/include" -o "$WORK/rt_bench" "$WORK/rt_bench.c" -L"$BUILD/lib" -lboxlite \
	-Wl,-rpath,"$BUILD/lib"

KEY=bench-$RANDOM$RANDOM
BOXLITE_SERVE_API_KEY=$KEY "$BUILD/bin/boxlite" serve --port 0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for i in $(seq 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/serve.out")
[ -n "$PORT" ] || { cat "$WORK/serve.err" >&2; exit 1; }
api() { curl -sf -H "Authorization: Bearer $KEY" "$@"; }
BOX=$(api -X POST -d '{"image":"localhost/busybox:latest","detach":false}' "http://127.0.0.1:$PORT/v1/boxes" |
	sed -n 's/.*"box_id":"\([^"]*\)".*/\1/p')
api -X POST "http://127.0.0.1:$PORT/v1/boxes/$BOX/start" >/dev/null

read -r c50 c90 < <("$WORK/rt_bench" c "$BOX" "$N")
read -r r50 r90 < <("$WORK/rt_bench" rest "$BOX" "$N" "$PORT" "$KEY")
printf 'exec true round trip (N=%s)  C API: p50 %.2f ms p90 %.2f ms   REST: p50 %.2f ms p90 %.2f ms\n' \
	"$N" "$(echo "$c50*1000" | bc -l)" "$(echo "$c90*1000" | bc -l)" "$(echo "$r50*1000" | bc -l)" "$(echo "$r90*1000" | bc -l)"
printf 'REST/C p50 ratio: %.2f   added at p50: %.2f ms\n' "$(echo "$r50/$c50" | bc -l)" "$(echo "($r50-$c50)*1000" | bc -l)"

rps=$(wrk -t2 -c16 -d"${SECS}s" -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/boxes" |
	sed -n 's/^Requests\/sec: *//p')
echo "GET /v1/boxes with wrk (16 connections, ${SECS} s): $rps requests/s"

# 3. Remote mode: the CLI and the Python SDK, each against its local self.
cli_median() { # cli_median ARGS...: median wall time of `boxlite ARGS` over M runs
	for i in $(seq "$M"); do
		s=$(date +%s.%N); "$BUILD/bin/boxlite" "$@" >/dev/null; e=$(date +%s.%N)
		echo "$e - $s" | bc -l
	done | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
cl=$(cli_median exec "$BOX" -- true)
cr=$(BOXLITE_API_KEY=$KEY cli_median --url "http://127.0.0.1:$PORT" exec "$BOX" -- true)
printf 'CLI exec true (median of %s)  local: %.1f ms  remote: %.1f ms  remote/local: %.2f\n' "$M" \
	"$(echo "$cl*1000" | bc -l)" "$(echo "$cr*1000" | bc -l)" "$(echo "$cr/$cl" | bc -l)"
read -r pl pr < <(PYTHONPATH="$BUILD/python" /usr/bin/python3 - "$BOX" "$M" "http://127.0.0.1:$PORT" "$KEY" <<'PY'
import asyncio, statistics, sys, time
import boxlite

async def median(rt, box_id, m):
    box = await rt.get(box_id)
    await (await box.exec("true")).wait()
    t = []
    for _ in range(m):
        t0 = time.monotonic()
        await (await box.exec("true")).wait()
        t.append(time.monotonic() - t0)
    return statistics.median(t)

async def main(box_id, m, url, key):
    local = await median(boxlite.Boxlite(), box_id, m)
    remote = await median(boxlite.Boxlite.rest(boxlite.BoxliteRestOptions(url, credential=boxlite.ApiKeyCredential(key))),
                          box_id, m)
    print(f"{local:.6f} {remote:.6f}")

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
PY
)
printf 'Python exec("true") (median of %s)  local: %.2f ms  remote: %.2f ms  remote/local: %.2f\n' "$M" \
	"$(echo "$pl*1000" | bc -l)" "$(echo "$pr*1000" | bc -l)" "$(echo "$pr/$pl" | bc -l)"
