#!/usr/bin/env bash
# bench/exec: the command channel on one running box (localhost/busybox).
#   1. `exec true` round trip through the C API (boxlite_box_run: connect to
#      the shim, HELLO, EXEC, EXIT), p50 and p99 over N runs.
#   2. stdout throughput: `cat` of a file in the guest's tmpfs read to nowhere
#      through an exec handle (library pump thread, socketpair, credit policy)
#      against the RAW CHANNEL measured in the same run: a minimal protocol
#      client on box.sock running the same `cat`, granting the largest window
#      the shim accepts (64 MiB) and counting DATA payloads in place. The raw
#      figure therefore includes everything below the library (guest pipe,
#      agent, virtio-serial, QEMU chardev, shim); the ratio is what the
#      library's exec handle keeps of it (goal >= 0.8). Best of 3, interleaved.
#   3. copy-in throughput: boxlite_box_copy_in of one file into /dev/shm.
# Usage: bench/exec.sh [N] [MIB]   (defaults 100 and 128)
set -euo pipefail
N=${1:-100}
MIB=${2:-128}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
WORK=$(mktemp -d /tmp/boxlite-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export BOXLITE_HOME=$WORK/home

cc -O2 -D_GNU_SOURCE -I"$ROOT/include" -I"$ROOT/src/protocol" -o "$WORK/exec_bench" \
	"$ROOT/bench/exec_bench.c" "$ROOT/src/protocol/protocol.c" \
	-L"$BUILD/lib" -lboxlite -Wl,-rpath,"$BUILD/lib"
accel=$("$BUILD/bin/boxlite" info | sed -n 's/^Accelerator: *//p')
echo "bench/exec ($accel)"
"$WORK/exec_bench" "$N" "$MIB"
