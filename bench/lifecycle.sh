#!/usr/bin/env bash
# bench/lifecycle: the cost of a box's whole life through the CLI.
#   A: median wall time of one cycle: create, start, exec true, stop, rm
#      (five CLI processes, each opening the store and locking the box)
#   B: median wall time of `boxlite run --rm localhost/busybox:latest true`
#      (the same life in one process: the baseline a user would pick)
# Prints the per-step medians, A, B and A/B. With IDLE > 0 it then starts
# IDLE detached idle boxes and reports host memory (RSS of shim + QEMU) per
# box and how many answer `exec true` within 2 s.
# Usage: bench/lifecycle.sh [N] [IDLE]   (defaults 10, 0)
set -euo pipefail
N=${1:-10}
IDLE=${2:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
B=$BUILD/bin/boxlite
WORK=$(mktemp -d /tmp/boxlite-bench.XXXXXX)
export BOXLITE_HOME=$WORK/home
cleanup() { ids=$("$B" ls -aq 2>/dev/null || true); [ -n "$ids" ] && "$B" rm -f $ids >/dev/null 2>&1; rm -rf "$WORK"; }
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }
step() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo "$t1 - $t0" | bc -l; }

"$B" run --rm localhost/busybox:latest true >/dev/null # import the image, decide the accelerator
: > "$WORK/create"; : > "$WORK/start"; : > "$WORK/exec"; : > "$WORK/stop"; : > "$WORK/rm"; : > "$WORK/cycle"; : > "$WORK/run"
for i in $(seq "$N"); do
	t0=$(now)
	id=$("$B" create localhost/busybox:latest sleep 1000); t1=$(now); echo "$t1 - $t0" | bc -l >> "$WORK/create"
	step "$B" start "$id" >> "$WORK/start"
	step "$B" exec "$id" true >> "$WORK/exec"
	step "$B" stop "$id" >> "$WORK/stop"
	step "$B" rm "$id" >> "$WORK/rm"
	echo "$(now) - $t0" | bc -l >> "$WORK/cycle"
	step "$B" run --rm localhost/busybox:latest true >> "$WORK/run"
done
for s in create start exec stop rm; do printf "  %-7s median %.3f s\n" "$s" "$(median < "$WORK/$s")"; done
A=$(median < "$WORK/cycle"); Bm=$(median < "$WORK/run")
printf "A: create+start+exec+stop+rm cycle  median %.3f s (N=%d)\n" "$A" "$N"
printf "B: run --rm true (baseline)         median %.3f s\n" "$Bm"
printf "A/B: %.2f\n" "$(echo "$A / $Bm" | bc -l)"

[ "$IDLE" -gt 0 ] || exit 0
for i in $(seq "$IDLE"); do "$B" run -d localhost/busybox:latest sleep 100000 >/dev/null; done
ok=0; rss=0
for id in $("$B" ls -q); do
	t0=$(now); timeout 10 "$B" exec "$id" true && t=$(echo "$(now) - $t0" | bc -l) || t=99
	[ "$(echo "$t < 2" | bc -l)" = 1 ] && ok=$((ok + 1))
done
for p in $("$B" ls -a --format json | python3 -c "import json,sys; [print(b['shim_pid'], b['qemu_pid']) for b in json.load(sys.stdin)]"); do
	[ "$p" -gt 0 ] && rss=$((rss + $(awk '/VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)))
done
printf "idle boxes: %d started, %d answered exec true within 2 s; host RSS per box %.1f MiB\n" \
	"$IDLE" "$ok" "$(echo "$rss / 1024 / $IDLE" | bc -l)"
