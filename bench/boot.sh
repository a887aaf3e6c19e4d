#!/usr/bin/env bash
# bench/boot: how close `boxlite run` comes to the floor, with the host's
# memory hot and after an idle gap.
#   floor: raw qemu-system-x86_64 booting the same kernel to a trivial static
#          init that reboots at once, same accelerator and machine options
#   cold:  `boxlite run --rm localhost/busybox:latest true`, BOXLITE_WARM_START=0
#   warm:  the same, as boxlite runs by default: the box clones a template VM
#          (docs/architecture.md, "Warm start"; the template is made first)
# Each variant is timed two ways, N runs each:
#   back to back: the variant's runs follow each other in one block (after
#     one untimed run), so each reuses memory its own previous run freed and
#     no variant inherits another's;
#   after an idle gap: GAP seconds (default 8) of quiet before every run, long
#     enough for freed memory to go back to the hypervisor on hosts with free
#     page reporting (../shared/ENVIRONMENT.md, "Host memory is slow to touch").
# Prints the medians and their ratios to the floor timed the same way, and
# warm/cold. Usage: bench/boot.sh [N] (default 10; GAP=0 skips the idle runs).
# Then, outside the comparison, the median stage breakdown of N more runs
# with --timings (BOOT_BREAKDOWN=0 skips it).
set -euo pipefail
N=${1:-10}
GAP=${GAP:-8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
SHARE=$BUILD/share/boxlite
WORK=$(mktemp -d /tmp/boxlite-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export BOXLITE_HOME=$WORK/home

accel=$("$BUILD/bin/boxlite" info | sed -n 's/^Accelerator: *//p')
# The floor gets every boot-time advantage boxlite has: the same machine
# options and the same kernel command line (src/engine/qemu_microvm.c).
CMDLINE="console=ttyS0 quiet panic=-1 reboot=t tsc=reliable no_timer_check noreplace-smp"
if [ "$accel" = kvm ]; then QACCEL="-accel kvm -cpu host"; else QACCEL="-accel tcg -cpu max"; CMDLINE="$CMDLINE noapictimer"; fi

# The trivial init: reboot at once (QEMU runs with -no-reboot, so it exits).
cat > "$WORK/init.c" <<'C'
#include <sys/reboot.h>
#include <unistd.h>
int main(void) { reboot(RB_AUTOBOOT); for (;;) pause(); }
C
musl-gcc -static -O2 -o "$WORK/init" "$WORK/init.c"
mkdir -p "$WORK/rootfs" && cp "$WORK/init" "$WORK/rootfs/init"
(cd "$WORK/rootfs" && echo init | cpio -o -H newc -R 0:0 --quiet | gzip -1 > "$WORK/init.cpio.gz")

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

raw_once() {
	local t0 t1
	t0=$(now)
	qemu-system-x86_64 -M microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=off $QACCEL \
		-m 512 -smp 1 -nodefaults -no-user-config -nographic -no-reboot -serial null \
		-kernel "$SHARE/vmlinux" -initrd "$WORK/init.cpio.gz" \
		-append "$CMDLINE" </dev/null >/dev/null 2>&1
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

run_once() {   # run_once [WARM]: WARM=1 clones the template
	local t0 t1
	t0=$(now)
	BOXLITE_WARM_START=${1:-0} "$BUILD/bin/boxlite" run --rm localhost/busybox:latest true >/dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

# Warm-up: imports the image into the fresh home, makes the warm-start
# template and fills the page cache.
run_once >/dev/null
run_once 1 >/dev/null
raw_once >/dev/null

variant() {   # variant NAME: one timed run of it
	case $1 in
	floor) raw_once ;;
	cold) run_once 0 ;;
	warm) run_once 1 ;;
	esac
}
VARIANTS="floor cold warm"
for v in $VARIANTS; do   # back to back: one block per variant
	variant "$v" >/dev/null
	: > "$WORK/$v.hot"
	for i in $(seq "$N"); do variant "$v" >> "$WORK/$v.hot"; done
done
if [ "$GAP" != 0 ]; then   # idle gap: interleaved, each run after GAP s of quiet
	for v in $VARIANTS; do : > "$WORK/$v.idle"; done
	for i in $(seq "$N"); do
		for v in $VARIANTS; do sleep "$GAP"; variant "$v" >> "$WORK/$v.idle"; done
	done
fi

ratio() { echo "$1 / $2" | bc -l; }
printf 'bench/boot (%s, N=%d, idle gap %s s)\n' "$accel" "$N" "$GAP"
printf '  %-34s %-22s %s\n' "" "back to back" "after the idle gap"
for v in $VARIANTS; do
	hot=$(median < "$WORK/$v.hot"); eval "${v}_hot=$hot"
	line=$(printf '%.3f s  ratio %.2f' "$hot" "$(ratio "$hot" "$floor_hot")")
	if [ "$GAP" != 0 ]; then
		idle=$(median < "$WORK/$v.idle"); eval "${v}_idle=$idle"
		line=$(printf '%-22s %.3f s  ratio %.2f' "$line" "$idle" "$(ratio "$idle" "$floor_idle")")
	fi
	case $v in
	floor) label="floor: raw qemu to trivial init" ;;
	cold) label="cold: run --rm busybox true" ;;
	warm) label="warm: the same, warm start" ;;
	esac
	printf '  %-34s %s\n' "$label" "$line"
done
line=$(printf '%.2f' "$(ratio "$warm_hot" "$cold_hot")")
[ "$GAP" = 0 ] || line=$(printf '%-22s %.2f' "$line" "$(ratio "$warm_idle" "$cold_idle")")
printf '  %-34s %s\n' "warm / cold" "$line"

# Where the time goes: `run --timings` (ms since the shim's spawn; guest
# uptimes in the second column), median of each stage over N runs, cold
# then warm (a clone's guest uptimes continue its template's).
[ "${BOOT_BREAKDOWN:-1}" = 0 ] && exit 0
breakdown() {   # breakdown WARM LABEL
	: > "$WORK/timings"
	for i in $(seq "$N"); do
		BOXLITE_WARM_START=$1 "$BUILD/bin/boxlite" run --rm --timings localhost/busybox:latest true 2>>"$WORK/timings" >/dev/null
	done
	printf 'breakdown, %s (median of %d runs with --timings; ms since the shim spawn)\n' "$2" "$N"
	# stage LABEL PATTERN FIELD: the median of field FIELD of the lines starting with PATTERN
	# (extra characters "(),"  stripped first).
	stage() {
		local m
		m=$(sed -n "s/^  $2//p" "$WORK/timings" | tr -d '(),' | awk -v f="$3" '{print $f}' | median)
		printf '  %-30s %8.1f\n' "$1" "$m"
	}
	stage "run begins" "run begins" 1
	stage "runtime open" "run begins" 4
	stage "box created" "run begins" 7
	stage "qemu start" "qemu start" 1
	stage "agent hello" "agent hello" 1
	stage "  guest uptime: agent start" "agent hello" 7
	stage "  guest uptime: hello" "agent hello" 10
	stage "ready (root mounted)" "ready" 1
	stage "  guest uptime: root mounted" "ready" 7
	stage "exec running" "exec running" 1
	stage "exit status in" "exit" 1
	stage "stopped + removed" "stopped + rm" 1
}
breakdown 0 cold
breakdown 1 "warm start"
