#!/usr/bin/env bash
# boxlite info and version: the accelerator verdict and its reason.
. "$(dirname "$0")/lib.sh"

out=$("$BOXLITE" version); rc=$?
expect_eq "version exits 0" "$rc" "0"
expect_contains "version" "$out" "boxlite 0."

out=$("$BOXLITE" info); rc=$?
expect_eq "info exits 0" "$rc" "0"
accel=$(echo "$out" | sed -n 's/^Accelerator: *//p')
why=$(echo "$out" | sed -n 's/^ *why: *//p')
case "$accel" in kvm|tcg) pass "accelerator is $accel" ;; *) fail "accelerator '$accel'" ;; esac
[ -n "$why" ] && pass "reason given: $why" || fail "no reason for the accelerator"
if [ ! -r /dev/kvm ]; then expect_eq "no /dev/kvm means tcg" "$accel" "tcg"; fi

# The verdict is cached for this host boot: a second call says so.
out=$("$BOXLITE" info)
if [ "${BOXLITE_ACCEL:-auto}" = auto ] && [ -r /dev/kvm ]; then
	expect_contains "verdict cached" "$out" "cached"
fi

expect_contains "warm start on, no template in a new home" "$(BOXLITE_WARM_START= "$BOXLITE" info)" \
	"Warm start:   on, 0 templates (0.0 MiB) in $BOXLITE_HOME/templates"
expect_contains "warm start off" "$(BOXLITE_WARM_START=0 "$BOXLITE" info)" "Warm start:   off"

# The engine's version, as QEMU itself gives it, and whether clones share
# their template's memory (QEMU >= 8.2 has memory-backend-file's "rom").
qv=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1)
expect_contains "engine version" "$out" "Engine:       qemu microvm $qv (/"
if qemu-system-x86_64 -object memory-backend-file,help 2>/dev/null | grep -q '^ *rom='; then
	expect_contains "clones share template memory" "$out" "clones share their template's RAM"
else
	expect_contains "clones load their RAM" "$out" "each clone loads its own copy"
fi

BOXLITE_ACCEL=tcg "$BOXLITE" info | grep -q 'forced by BOXLITE_ACCEL=tcg' && pass "BOXLITE_ACCEL=tcg honoured" || fail "BOXLITE_ACCEL=tcg"
out=$(BOXLITE_ACCEL=bogus "$BOXLITE" info 2>&1); rc=$?
expect_eq "bad BOXLITE_ACCEL exits 125" "$rc" "125"
expect_contains "bad BOXLITE_ACCEL message" "$out" "auto, kvm, tcg"
t_done
