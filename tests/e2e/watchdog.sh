#!/usr/bin/env bash
# Killing the creator of a non-detached box with SIGKILL shuts the box down
# and leaves no shim or QEMU behind.
. "$(dirname "$0")/lib.sh"

"$BOXLITE" run --rm localhost/busybox:latest sleep 300 >/dev/null 2>&1 &
cli=$!
for i in $(seq 300); do
	[ -n "$(t_procs_in_home)" ] && [ -S "$(ls -d "$BOXLITE_HOME"/boxes/*/ 2>/dev/null | head -1)box.sock" ] && break
	sleep 0.1
done
# Wait until the command really runs (the box is up).
for i in $(seq 300); do
	grep -q "ready" "$BOXLITE_HOME"/boxes/*/shim.stderr 2>/dev/null && break
	sleep 0.1
done
[ -n "$(t_procs_in_home)" ] && pass "box is running" || fail "box did not start"
kill -9 $cli
wait $cli 2>/dev/null
expect_no_leftovers "after SIGKILL of the creator"
t_done
