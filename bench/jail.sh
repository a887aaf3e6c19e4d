#!/usr/bin/env bash
# Startup cost of the jail (issue 5): median wall time of
#   boxlite run --rm localhost/busybox:latest true
# jailed (default) and with --security development, interleaved in one run.
# Usage: bench/jail.sh [RUNS]   (default 9 each)
set -u
BUILD=${BOXLITE_BUILD:-$(cd "$(dirname "$0")/../build" && pwd)}
B="$BUILD/bin/boxlite"
N=${1:-9}
T=$(mktemp -d /tmp/boxlite-bench-jail.XXXXXX)
export BOXLITE_HOME="$T/home"
trap 'rm -rf "$T"' EXIT

run_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$B" run --rm "$@" localhost/busybox:latest true >/dev/null 2>&1 || { echo "run failed: $*" >&2; exit 1; }
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

run_ms >/dev/null # warm caches (image base, accel probe)
for i in $(seq "$N"); do
	echo "jail $(run_ms)"
	echo "dev $(run_ms --security development)"
done >"$T/times"
j=$(awk '$1 == "jail" {print $2}' "$T/times" | median)
d=$(awk '$1 == "dev" {print $2}' "$T/times" | median)
echo "boxlite run --rm busybox true, median of $N ($(id -un)):"
echo "  jail (default)        ${j} ms"
echo "  --security development ${d} ms"
echo "  jail cost             $((j - d)) ms ($(awk -v j="$j" -v d="$d" 'BEGIN {printf "%.2fx", j / d}'))"
