#!/usr/bin/env bash
# bench/memory: host memory per idle box, warm start (the default) against
# booting cold (BOXLITE_WARM_START=0), in the same run.
# For each variant: start N detached boxes running `sleep 100000`, wait until
# every one answers `exec true`, let the host settle, then report per box
#   MemAvailable drop / N  (what the host lost: the figure that limits density)
#   PSS of shim + QEMU     (shared pages split fairly between the sharers)
#   RSS and anonymous RSS of QEMU
# and the warm/cold ratio. The boxes are removed between variants, and the
# host rests SETTLE seconds first so that freed memory is back.
# Usage: bench/memory.sh [N] (default 4).
set -euo pipefail
N=${1:-4}
SETTLE=${SETTLE:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
B=$BUILD/bin/boxlite
IMAGE=localhost/busybox:latest
WORK=$(mktemp -d /tmp/boxlite-bench-mem.XXXXXX)
export BOXLITE_HOME=$WORK/home
remove_all() { local ids; ids=$("$B" ls -aq 2>/dev/null || true); [ -z "$ids" ] || "$B" rm -f $ids >/dev/null 2>&1 || true; }
cleanup() { remove_all; rm -rf "$WORK"; }
trap cleanup EXIT

mem_available_kib() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
# sum_field FIELD PID...: the sum of FIELD (kB) of /proc/PID/smaps_rollup.
sum_field() {
	local f=$1 p t=0 v
	shift
	for p in "$@"; do
		v=$(awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
pids() {   # pids shim|qemu: the pids of every box's process of that kind
	"$B" ls -a --format json | python3 -c "
import json, sys
for b in json.load(sys.stdin):
    p = b.get('$1_pid') or 0
    if p > 0: print(p)"
}

measure() {   # measure VARIANT WARM
	local variant=$1 warm=$2 before after ok=0 id shims qemus
	remove_all
	sleep "$SETTLE"
	before=$(mem_available_kib)
	for i in $(seq "$N"); do
		BOXLITE_WARM_START=$warm "$B" run -d "$IMAGE" sleep 100000 >/dev/null
	done
	for id in $("$B" ls -q); do
		timeout 30 "$B" exec "$id" true && ok=$((ok + 1))
	done
	sleep "$SETTLE"
	after=$(mem_available_kib)
	shims=$(pids shim); qemus=$(pids qemu)
	# shellcheck disable=SC2086
	{
		echo "drop $(( (before - after) / N ))"
		echo "pss $(( ( $(sum_field Pss $shims $qemus) ) / N ))"
		echo "rss $(( $(sum_field Rss $qemus) / N ))"
		echo "anon $(( $(sum_field Anonymous $qemus) / N ))"
		echo "ok $ok"
	} > "$WORK/$variant"
}
get() { awk -v k="$2" '$1 == k {print $2}' "$WORK/$1"; }
mib() { printf '%.1f' "$(echo "$1 / 1024" | bc -l)"; }

# Warm-up: imports the image, decides the accelerator, makes the template.
"$B" run --rm "$IMAGE" true >/dev/null
BOXLITE_WARM_START=0 "$B" run --rm "$IMAGE" true >/dev/null

measure cold 0
measure warm 1
remove_all

printf 'bench/memory (N=%d idle boxes per variant, %s)\n' "$N" "$("$B" info | sed -n 's/^Accelerator: *//p')"
printf '  %-8s %-26s %-22s %-18s %-18s %s\n' "" "MemAvailable drop / box" "PSS shim+QEMU / box" "QEMU RSS / box" "QEMU anon / box" "answered exec true"
for v in cold warm; do
	printf '  %-8s %-26s %-22s %-18s %-18s %s/%s\n' "$v" "$(mib "$(get $v drop)") MiB" "$(mib "$(get $v pss)") MiB" \
		"$(mib "$(get $v rss)") MiB" "$(mib "$(get $v anon)") MiB" "$(get $v ok)" "$N"
done
printf '  warm / cold: MemAvailable drop %.2f, PSS %.2f\n' \
	"$(echo "$(get warm drop) / $(get cold drop)" | bc -l)" "$(echo "$(get warm pss) / $(get cold pss)" | bc -l)"
