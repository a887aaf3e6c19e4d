#!/usr/bin/env bash
# bench/python: what the Python SDK costs over the C API, same home, same run.
#   1. exec round trip: `exec true` on a running box, median of N;
#      C: boxlite_box_run; Python: await box.exec("true") + wait().
#   2. a box's whole life: C: create + start + run(true) + remove;
#      Python: async with SimpleBox(...) + exec("true"); median of M.
#   3. stdout throughput: `cat` of MIB MiB from the guest's tmpfs; C: read
#      the exec handle's stdout fd; Python: async for over stdout() (str
#      chunks, decoded); best of 3.
# Prints each pair and the ratio Python/C (time) or Python/C (throughput).
# Goals (issue 26): round trip <= 1.1x the C API, throughput >= 0.9x.
# Usage: bench/python.sh [N] [M] [MIB]   (defaults 50, 5, 64)
set -euo pipefail
N=${1:-50}
M=${2:-5}
MIB=${3:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
WORK=$(mktemp -d /tmp/boxlite-bench-py.XXXXXX)
export BOXLITE_HOME=$WORK/home
cleanup() { ids=$("$BUILD/bin/boxlite" ls -aq 2>/dev/null || true); [ -z "$ids" ] || "$BUILD/bin/boxlite" rm -f $ids >/dev/null 2>&1; rm -rf "$WORK"; }
trap cleanup EXIT
IMAGE=localhost/busybox:latest

cat > "$WORK/c_bench.c" <<'C'
#include <boxlite.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n) { qsort(v, n, sizeof(*v), cmp); return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2; }

int main(int argc, char **argv)
{
	const char *what = argv[1];
	int n = atoi(argv[2]);
	boxlite_runtime *rt;
	boxlite_error *err = NULL;
	boxlite_exit_status st;
	double *t = calloc(n, sizeof(double));

	if (boxlite_runtime_open(NULL, &rt, &err) < 0) { fprintf(stderr, "%s\n", boxlite_error_message(err)); return 1; }
	boxlite_box_options *o = boxlite_box_options_new(argv[3]);
	boxlite_box_options_set_memory_mib(o, 1024); /* the Python SDK's default */
	if (!strcmp(what, "life")) {
		const char *a[] = { "true", NULL };
		for (int i = 0; i < n; i++) {
			boxlite_box *b;
			double t0 = now();
			if (boxlite_box_create(rt, o, &b, &err) < 0 || boxlite_box_start(b, &err) < 0 ||
			    boxlite_box_run(b, a, &st, NULL, NULL, &err) < 0) { fprintf(stderr, "%s\n", boxlite_error_message(err)); return 1; }
			boxlite_box_remove(b, NULL);
			t[i] = now() - t0;
		}
		printf("%.6f\n", median(t, n));
		return 0;
	}
	boxlite_box *b;
	if (boxlite_box_create(rt, o, &b, &err) < 0 || boxlite_box_start(b, &err) < 0) { fprintf(stderr, "%s\n", boxlite_error_message(err)); return 1; }
	if (!strcmp(what, "exec")) {
		const char *a[] = { "true", NULL };
		boxlite_box_run(b, a, &st, NULL, NULL, NULL);
		for (int i = 0; i < n; i++) {
			double t0 = now();
			if (boxlite_box_run(b, a, &st, NULL, NULL, &err) < 0) { fprintf(stderr, "%s\n", boxlite_error_message(err)); return 1; }
			t[i] = now() - t0;
		}
		printf("%.6f\n", median(t, n));
	} else { /* stream MIB */
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=/dev/shm/f bs=1M count=%d 2>/dev/null", atoi(argv[4]));
		const char *mk[] = { "sh", "-c", cmd, NULL };
		boxlite_box_run(b, mk, &st, NULL, NULL, NULL);
		double best = 0;
		for (int r = 0; r < n; r++) {
			const char *cat[] = { "cat", "/dev/shm/f", NULL };
			boxlite_exec_options eo = { .struct_size = sizeof(eo), .argv = cat };
			boxlite_exec *x;
			static char buf[1 << 16];
			long long bytes = 0;
			ssize_t k;
			double t0 = now();
			if (boxlite_exec_start(b, &eo, &x, &err) < 0) return 1;
			boxlite_exec_close_stdin(x);
			while ((k = read(boxlite_exec_stdout_fd(x), buf, sizeof(buf))) > 0)
				bytes += k;
			boxlite_exec_wait(x, -1, &st, NULL);
			boxlite_exec_free(x);
			double mibs = bytes / 1048576.0 / (now() - t0);
			if (mibs > best) best = mibs;
		}
		printf("%.3f\n", best);
	}
	boxlite_box_remove(b, NULL);
	return 0;
}
C
cc -O2 -I"$ROOT/include" -o "$WORK/c_bench" "$WORK/c_bench.c" -L"$BUILD/lib" -lboxlite -Wl,-rpath,"$BUILD/lib"

cat > "$WORK/py_bench.py" <<'PY'
import asyncio, statistics, sys, time
import boxlite

async def main(what, n, image, mib):
    rt = boxlite.Boxlite()
    if what == "life":
        t = []
        for _ in range(n):
            t0 = time.monotonic()
            async with boxlite.SimpleBox(image=image, runtime=rt) as sb:
                await sb.exec("true")
            t.append(time.monotonic() - t0)
        print(f"{statistics.median(t):.6f}")
        return
    box = await rt.create(boxlite.BoxOptions(image=image))
    await box.start()
    if what == "exec":
        await (await box.exec("true")).wait()
        t = []
        for _ in range(n):
            t0 = time.monotonic()
            await (await box.exec("true")).wait()
            t.append(time.monotonic() - t0)
        print(f"{statistics.median(t):.6f}")
    else:
        await (await box.exec("sh", ["-c", f"dd if=/dev/zero of=/dev/shm/f bs=1M count={mib} 2>/dev/null"])).wait()
        best = 0.0
        for _ in range(n):
            t0 = time.monotonic()
            ex = await box.exec("cat", ["/dev/shm/f"])
            await ex.stdin().close()
            size = 0
            async for chunk in ex.stdout():
                size += len(chunk)
            await ex.wait()
            best = max(best, size / 1048576 / (time.monotonic() - t0))
        print(f"{best:.3f}")
    await rt.remove(box.id, force=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
PY
py() { PYTHONPATH="$BUILD/python" /usr/bin/python3 "$WORK/py_bench.py" "$@"; }

# Warm-up: imports the image, makes the 1024 MiB template.
"$WORK/c_bench" exec 1 "$IMAGE" >/dev/null

c_exec=$("$WORK/c_bench" exec "$N" "$IMAGE"); p_exec=$(py exec "$N" "$IMAGE" 0)
c_life=$("$WORK/c_bench" life "$M" "$IMAGE"); p_life=$(py life "$M" "$IMAGE" 0)
c_tput=$("$WORK/c_bench" stream 3 "$IMAGE" "$MIB"); p_tput=$(py stream 3 "$IMAGE" "$MIB")

echo "bench/python ($("$BUILD/bin/boxlite" info | sed -n 's/^Accelerator: *//p'); N=$N, M=$M, $MIB MiB)"
printf '  exec true round trip   C %.2f ms   Python %.2f ms   ratio %.2f (goal <= 1.1)\n' \
	"$(echo "$c_exec * 1000" | bc -l)" "$(echo "$p_exec * 1000" | bc -l)" "$(echo "$p_exec / $c_exec" | bc -l)"
printf '  box life (create..rm)  C %.3f s    Python %.3f s    ratio %.2f\n' "$c_life" "$p_life" "$(echo "$p_life / $c_life" | bc -l)"
printf '  stdout throughput      C %.1f MiB/s  Python %.1f MiB/s  ratio %.2f (goal >= 0.9)\n' \
	"$c_tput" "$p_tput" "$(echo "$p_tput / $c_tput" | bc -l)"
