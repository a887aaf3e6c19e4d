#!/usr/bin/env bash
# A secret in the box configuration appears in no command line, no
# environment but the guest's, and no log.
. "$(dirname "$0")/lib.sh"

SECRET="s3cr3t-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
API_KEY=$SECRET "$BOXLITE" run -e API_KEY localhost/busybox:latest sh -c 'sleep 4; echo ${#API_KEY}' > "$T_HOME/out" 2>&1 &
cli=$!

# While the box runs, look at every process of this test.
found_box=0
for i in $(seq 150); do
	pids=$(t_procs_in_home)
	[ -n "$pids" ] && { found_box=1; break; }
	sleep 0.1
done
sleep 1
pids="$(t_procs_in_home) $cli"
[ "$found_box" = 1 ] && pass "box processes found" || fail "no box process seen"
for p in $pids; do
	if tr '\0' '\n' < /proc/$p/cmdline 2>/dev/null | grep -q "$SECRET"; then fail "secret in /proc/$p/cmdline: $(tr '\0' ' ' < /proc/$p/cmdline)"; fi
	if [ "$p" != "$cli" ] && tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -q "$SECRET"; then fail "secret in /proc/$p/environ"; fi
done
# The shim's argv is just its name. (The CLI's environment holds the secret:
# that is where the user put it.)
for p in $pids; do
	exe=$(readlink /proc/$p/exe 2>/dev/null)
	case "$exe" in *boxlite-shim) expect_eq "shim has no arguments" "$(tr '\0' ' ' < /proc/$p/cmdline)" "$exe " ;; esac
done
wait $cli; rc=$?
expect_eq "box ran" "$rc" "0"
expect_eq "the guest got the secret" "$(cat "$T_HOME/out")" "${#SECRET}"
# The box's config (env included) is kept in the store, readable by its owner only.
expect_eq "store is private" "$(stat -c %a "$BOXLITE_HOME/boxlite.db")" "600"
if grep -rq --exclude='boxlite.db*' "$SECRET" "$BOXLITE_HOME"; then fail "secret found in a file under the home: $(grep -rl --exclude='boxlite.db*' "$SECRET" "$BOXLITE_HOME")"; else pass "no file in the home but the store holds the secret"; fi
ls "$BOXLITE_HOME"/boxes/*/shim.stderr >/dev/null 2>&1 && pass "shim.stderr kept" || fail "no shim.stderr"
grep -q "bytes" "$BOXLITE_HOME"/boxes/*/shim.stderr && pass "shim logged the config size" || fail "shim did not log the config size"
expect_no_leftovers "after run"
"$BOXLITE" rm $("$BOXLITE" ls -aq) >/dev/null
if grep -rq "$SECRET" "$BOXLITE_HOME"; then fail "secret left after rm: $(grep -rl "$SECRET" "$BOXLITE_HOME")"; else pass "no trace of the secret after rm"; fi
t_done
