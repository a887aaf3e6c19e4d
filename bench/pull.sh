#!/usr/bin/env bash
# bench/pull: `boxlite pull` (download + verify + unpack + ext4 root disk) of a
# Debian bookworm minbase image from a loopback registry, against the tool
# chain doing the same work: skopeo copy + umoci unpack + mke2fs -d, same run,
# same registry, cold store each time. Then a second image sharing the layer:
# how many layer bytes boxlite downloads again (goal: none).
# Usage: bench/pull.sh [N] (default 3 runs each, median). Needs network for
# mmdebstrap once; the rootfs is cached in $BOXLITE_BENCH_CACHE
# (default /tmp/boxlite-bench-cache).
set -euo pipefail
N=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
BOXLITE=$BUILD/bin/boxlite
CACHE=${BOXLITE_BENCH_CACHE:-/tmp/boxlite-bench-cache}
WORK=$(mktemp -d /tmp/boxlite-bench-pull.XXXXXX)
REG_PID=
cleanup() { [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

now() { date +%s.%N; }
# shellcheck source=../scripts/apt-sources.sh
. "$ROOT/scripts/apt-sources.sh"

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# 1. The image: Debian minbase in an OCI layout (one gzip layer), cached.
if [ ! -f "$CACHE/oci/index.json" ]; then
	mkdir -p "$CACHE"
	rm -rf "$CACHE/rootfs" "$CACHE/oci"
	bookworm_sources > "$WORK/sources.list"
	mmdebstrap --quiet --variant=minbase bookworm "$CACHE/rootfs" "$WORK/sources.list"
	umoci init --layout "$CACHE/oci"
	umoci new --image "$CACHE/oci:1"
	umoci insert --image "$CACHE/oci:1" "$CACHE/rootfs" / > /dev/null
	umoci config --image "$CACHE/oci:1" --config.cmd /bin/bash --architecture amd64 --os linux
	umoci config --image "$CACHE/oci:1" --tag 2 --config.env BENCH=2   # same layer, other config
	umoci gc --layout "$CACHE/oci"
	rm -rf "$CACHE/rootfs"
fi

# 2. A registry on loopback.
mkdir -p "$WORK/reg/data"
cat > "$WORK/reg/config.yml" <<YML
version: 0.1
log: {level: info}
storage: {filesystem: {rootdirectory: $WORK/reg/data}}
http: {addr: 127.0.0.1:0, secret: bench}
YML
setsid docker-registry serve "$WORK/reg/config.yml" > "$WORK/reg/log" 2>&1 < /dev/null &
REG_PID=$!
for _ in $(seq 200); do
	PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/reg/log" | head -1 | sed 's/.*://') && [ -n "$PORT" ] && break
	sleep 0.05
done
REG=127.0.0.1:$PORT
skopeo copy -q --dest-tls-verify=false "oci:$CACHE/oci:1" "docker://$REG/bench/debian:1"
skopeo copy -q --dest-tls-verify=false "oci:$CACHE/oci:2" "docker://$REG/bench/debian:2"
layer_mb=$(du -m "$(ls -S "$CACHE"/oci/blobs/sha256/* | head -1)" | cut -f1)

# 3. The runs (each from a cold store; page cache warm after the first).
boxlite_once() {
	rm -rf "$WORK/home"
	local t0 t1
	t0=$(now)
	BOXLITE_HOME=$WORK/home "$BOXLITE" pull "$REG/bench/debian:1" > /dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc
}
tools_once() {
	rm -rf "$WORK/t"
	mkdir -p "$WORK/t"
	local t0 t1
	t0=$(now)
	skopeo copy -q --src-tls-verify=false "docker://$REG/bench/debian:1" "oci:$WORK/t/oci:1"
	umoci unpack --image "$WORK/t/oci:1" "$WORK/t/bundle" > /dev/null
	mke2fs -q -t ext4 -b 4096 -d "$WORK/t/bundle/rootfs" "$WORK/t/img.ext4" 1G
	t1=$(now)
	echo "$t1 - $t0" | bc
}
boxlite_once > /dev/null; tools_once > /dev/null   # warm the page cache for both
A=$(for _ in $(seq "$N"); do boxlite_once; done | median)
B=$(for _ in $(seq "$N"); do tools_once; done | median)

# 4. A second image sharing the layer.
rm -rf "$WORK/home"
BOXLITE_HOME=$WORK/home "$BOXLITE" pull "$REG/bench/debian:1" > /dev/null
before=$(grep -c '"GET /v2/bench/debian/blobs/' "$WORK/reg/log" || true)
t0=$(now)
out=$(BOXLITE_HOME=$WORK/home "$BOXLITE" pull "$REG/bench/debian:2")
t1=$(now)
after=$(grep -c '"GET /v2/bench/debian/blobs/' "$WORK/reg/log" || true)

echo "image: Debian bookworm minbase, one gzip layer of ${layer_mb} MB, loopback registry, $N runs (median)"
printf "boxlite pull (download+verify+unpack+ext4):        %.3f s\n" "$A"
printf "skopeo copy + umoci unpack + mke2fs -d:            %.3f s\n" "$B"
printf "ratio boxlite/tools:                               %.2f (goal <= 1.0)\n" "$(echo "$A / $B" | bc -l)"
printf "second image sharing the layer: %.3f s, blob GETs: %d (config only), layers reported present: %d\n" \
	"$(echo "$t1 - $t0" | bc)" "$((after - before))" "$(echo "$out" | grep -c 'already exists')"
