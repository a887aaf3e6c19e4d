#!/usr/bin/env bash
# A fork bomb inside a box (issue 5: "exhaust pids, the host and other boxes
# stay fine"). Guest processes are the guest kernel's, not the host's: box A
# bombs itself while box B keeps answering, the host sees no new processes
# and QEMU's thread count stays bounded; removing A cleans everything up.
# Also: a CLI whose command ignores a forwarded SIGTERM can still be ended.
. "$(dirname "$0")/lib.sh"

b=$("$BOXLITE" run -d localhost/busybox:latest sleep 600); rc=$?
expect_eq "box B up" "$rc" "0"
before=$(t_procs_in_home | wc -l)

# The bomb runs beside A's main command: every process forks two more,
# forever, and offers itself to the guest's OOM killer first (raising one's
# own oom_score_adj needs no privilege), so the main command (a sleep) is not
# the one killed when memory runs out: that would stop box A mid-test.
a=$("$BOXLITE" run -d localhost/busybox:latest sh -c \
	'b() { echo 1000 > /proc/self/oom_score_adj; b & b & wait; }; b & exec sleep 100000'); rc=$?
expect_eq "box A (fork bomb) up" "$rc" "0"
qemu_a=""
for p in $(t_procs_in_home); do
	case "$(readlink /proc/$p/exe 2>/dev/null)" in *qemu-system*) ;; *) continue ;; esac
	case "$(readlink /proc/$p/cwd 2>/dev/null)" in */boxes/$a) qemu_a=$p ;; esac
done
sleep 8 # let it spread through the guest
# The bomb really runs: its processes fill the guest's memory (a quiet busybox
# guest uses about 20 MiB). The agent answers stats without forking.
# A guest that busy may miss a stats ping ("-"): ask again.
for i in $(seq 15); do
	used=$("$BOXLITE" stats --no-stream "$a" | awk 'NR == 2 { split($(NF - 1), m, "/"); print int(m[1]) }')
	[ "${used:-0}" -gt 100 ] && break
	sleep 1
done
[ "${used:-0}" -gt 100 ] && pass "A's guest uses ${used} MiB" || fail "A's guest uses '${used}' MiB: no bomb?"

out=$(timeout 120 "$BOXLITE" exec "$b" echo alive); rc=$?
expect_eq "box B answers during A's fork bomb" "$out" "alive"
expect_eq "the host sees only the two boxes' shims and QEMUs" "$(t_procs_in_home | wc -l)" "$((before * 2))"
if [ -n "$qemu_a" ]; then
	threads=$(ls /proc/$qemu_a/task | wc -l)
	[ "$threads" -lt 64 ] && pass "A's QEMU has $threads threads" || fail "A's QEMU has $threads threads"
else
	fail "could not find A's QEMU"
fi
bash -c 'exit 0' && pass "the host can still fork" || fail "the host cannot fork"

"$BOXLITE" rm -f "$a" >/dev/null; rc=$?
expect_eq "rm -f of the bombed box" "$rc" "0"
out=$(timeout 120 "$BOXLITE" exec "$b" echo alive); rc=$?
expect_eq "box B answers after A is gone" "$out" "alive"
# A command that ignores the SIGTERM the CLI forwards does not make the CLI
# unkillable: the second SIGTERM ends it, and the box kills the command.
"$BOXLITE" exec "$b" sh -c 'trap "" TERM; echo started; exec sleep 600' >"$T_HOME/ign.out" 2>"$T_HOME/ign.err" &
cli=$!
for i in $(seq 100); do [ -s "$T_HOME/ign.out" ] && break; sleep 0.2; done
kill -TERM $cli; sleep 1; kill -TERM $cli 2>/dev/null
wait $cli; rc=$?
expect_eq "CLI exit after two SIGTERMs" "$rc" "143"
expect_contains "CLI says why it left" "$(cat "$T_HOME/ign.err")" "did not end after"
for i in $(seq 20); do
	out=$(timeout 120 "$BOXLITE" exec "$b" sh -c 'ps -o comm | grep -c "^sleep"')
	[ "$out" = 1 ] && break
	sleep 0.5
done
expect_eq "the ignoring command was killed (only the main sleep left)" "$out" "1"
"$BOXLITE" rm -f "$b" >/dev/null
expect_no_leftovers "guest_pids"
t_done
