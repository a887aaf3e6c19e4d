#!/usr/bin/env bash
# bench/snapshot: what snapshots and clones cost against making a new box,
# same home, same run (docs/snapshots.md).
#   1. `snapshot create` of a stopped box with MIB MiB written, median of N,
#      against `run --rm IMAGE true` (a new box, booted and removed).
#   2. `clone -n 10` of that box against 10 x `create` of a new box, and
#      the disk space the 10 clones take against what the source holds.
#   3. `snapshot create` of that box while it runs (the guest frozen for the
#      switch), median of N, against the stopped box's.
#   4. `export` of that box against `tar --zstd` of its disk flattened into
#      one file (what export archives), time and size; `import` of the
#      archive against `create`.
#   5. `checkpoint` of a running box and its resume (`start`), median of N,
#      against a cold boot (`start` with BOXLITE_WARM_START=0) of that box.
# Usage: bench/snapshot.sh [N] [MIB]   (defaults 5, 256)
set -euo pipefail
N=${1:-5}
MIB=${2:-256}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
WORK=$(mktemp -d /tmp/boxlite-bench-snap.XXXXXX)
export BOXLITE_HOME=$WORK/home
B="$BUILD/bin/boxlite"
IMG=localhost/busybox:latest
cleanup() { ids=$("$B" ls -aq 2>/dev/null || true); [ -z "$ids" ] || "$B" rm -f $ids >/dev/null 2>&1; rm -rf "$WORK"; }
trap cleanup EXIT

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

"$B" create --name src --disk-size 2 "$IMG" >/dev/null
"$B" exec src -- sh -c "head -c $((MIB << 20)) /dev/urandom > /root/data; sync"
"$B" stop src >/dev/null
"$B" run --rm "$IMG" true # warm the image and the template

snap=$(for i in $(seq "$N"); do
	s=$(now); "$B" snapshot create src "s$i" >/dev/null; e=$(now); echo "$e - $s" | bc -l
done | median)
run=$(for i in $(seq "$N"); do
	s=$(now); "$B" run --rm "$IMG" true >/dev/null; e=$(now); echo "$e - $s" | bc -l
done | median)
printf 'snapshot create (%s MiB written, median of %s): %.1f ms   run --rm true: %.1f ms   ratio %.3f\n' \
	"$MIB" "$N" "$(echo "$snap*1000" | bc -l)" "$(echo "$run*1000" | bc -l)" "$(echo "$snap/$run" | bc -l)"

s=$(now); "$B" clone src -n 10 >"$WORK/clones"; e=$(now); clone=$(echo "$e - $s" | bc -l)
s=$(now); for i in $(seq 10); do "$B" create "$IMG" >>"$WORK/creates"; done; e=$(now); create=$(echo "$e - $s" | bc -l)
printf 'clone -n 10: %.1f ms   10 x create: %.1f ms   ratio %.2f\n' "$(echo "$clone*1000" | bc -l)" \
	"$(echo "$create*1000" | bc -l)" "$(echo "$clone/$create" | bc -l)"
src_kb=$(du -sk "$BOXLITE_HOME/boxes/$("$B" inspect -f '{{.Id}}' src)" | cut -f1)
clones_kb=0
for id in $(cat "$WORK/clones"); do clones_kb=$((clones_kb + $(du -sk "$BOXLITE_HOME/boxes/$id" | cut -f1))); done
printf 'disk: source %d KiB (with its snapshots), the 10 clones %d KiB together (%.4f of the source)\n' \
	"$src_kb" "$clones_kb" "$(echo "$clones_kb/$src_kb" | bc -l)"

live=$(for i in $(seq "$N"); do
	"$B" start src >/dev/null
	s=$(now); "$B" snapshot create src "live$i" >/dev/null; e=$(now); echo "$e - $s" | bc -l
	"$B" stop src >/dev/null
done | median)
printf 'snapshot create of the running box (median of %s): %.1f ms   of the stopped box: %.1f ms   ratio %.2f\n' \
	"$N" "$(echo "$live*1000" | bc -l)" "$(echo "$snap*1000" | bc -l)" "$(echo "$live/$snap" | bc -l)"

dir="$BOXLITE_HOME/boxes/$("$B" inspect -f '{{.Id}}' src)"
# Each median of N, in turns, as the page cache of this machine makes
# single runs of file-heavy work vary by 2x.
: >"$WORK/t.export"; : >"$WORK/t.tar"; : >"$WORK/t.byhand"
for i in $(seq "$N"); do
	s=$(now); "$B" export src -o "$WORK/src.boxlite" >/dev/null; e=$(now); echo "$e - $s" | bc -l >>"$WORK/t.export"
	rm -f "$WORK/flat.qcow2"
	s=$(now); qemu-img convert -O qcow2 "$dir/disk.qcow2" "$WORK/flat.qcow2"; m=$(now)
	(cd "$WORK" && tar --zstd -cf flat.tar.zst flat.qcow2); e=$(now)
	echo "$e - $m" | bc -l >>"$WORK/t.tar"; echo "$e - $s" | bc -l >>"$WORK/t.byhand"
done
export=$(median <"$WORK/t.export"); tarz=$(median <"$WORK/t.tar"); byhand=$(median <"$WORK/t.byhand")
exp_b=$(stat -c %s "$WORK/src.boxlite"); tar_b=$(stat -c %s "$WORK/flat.tar.zst")
printf 'export (median of %s): %.1f ms, %.1f MiB   tar --zstd of the flattened disk: %.1f ms, %.1f MiB   ratios: time %.2f, size %.3f\n' \
	"$N" "$(echo "$export*1000" | bc -l)" "$(echo "$exp_b/1048576" | bc -l)" "$(echo "$tarz*1000" | bc -l)" \
	"$(echo "$tar_b/1048576" | bc -l)" "$(echo "$export/$tarz" | bc -l)" "$(echo "$exp_b/$tar_b" | bc -l)"
printf 'export against the same by hand (qemu-img convert + tar --zstd, %.1f ms): ratio %.2f\n' \
	"$(echo "$byhand*1000" | bc -l)" "$(echo "$export/$byhand" | bc -l)"
s=$(now); "$B" import "$WORK/src.boxlite" >/dev/null; e=$(now); import=$(echo "$e - $s" | bc -l)
s=$(now); "$B" create "$IMG" >/dev/null; e=$(now); create1=$(echo "$e - $s" | bc -l)
printf 'import: %.1f ms   create: %.1f ms   ratio %.1f\n' "$(echo "$import*1000" | bc -l)" \
	"$(echo "$create1*1000" | bc -l)" "$(echo "$import/$create1" | bc -l)"

"$B" run -d --name ck "$IMG" sh -c 'while :; do sleep 1; done' >/dev/null
: >"$WORK/t.ck"; : >"$WORK/t.resume"; : >"$WORK/t.cold"
for i in $(seq "$N"); do
	s=$(now); "$B" checkpoint ck >/dev/null; m=$(now); "$B" start ck >/dev/null; e=$(now)
	echo "$m - $s" | bc -l >>"$WORK/t.ck"; echo "$e - $m" | bc -l >>"$WORK/t.resume"
done
"$B" stop ck >/dev/null
for i in $(seq "$N"); do
	s=$(now); BOXLITE_WARM_START=0 "$B" start ck >/dev/null; e=$(now); echo "$e - $s" | bc -l >>"$WORK/t.cold"
	"$B" stop ck >/dev/null
done
ck=$(median <"$WORK/t.ck"); resume=$(median <"$WORK/t.resume"); cold=$(median <"$WORK/t.cold")
printf 'checkpoint (median of %s): %.1f ms   resume: %.1f ms   cold boot of the same box: %.1f ms   resume/cold %.2f\n' \
	"$N" "$(echo "$ck*1000" | bc -l)" "$(echo "$resume*1000" | bc -l)" "$(echo "$cold*1000" | bc -l)" \
	"$(echo "$resume/$cold" | bc -l)"
