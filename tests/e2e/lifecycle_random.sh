#!/usr/bin/env bash
# Random lifecycle operations over a few boxes, with random kill -9 of the
# CLI (mid-operation) and of shims. Afterwards `ls -a` must match the
# processes that really run, the store must be intact, and removing
# everything must leave no process. BOXLITE_RANDOM_OPS / _BOXES / _SEED
# scale it (the issue's acceptance run: 200 ops over 10 boxes).
. "$(dirname "$0")/lib.sh"
B="$BOXLITE"
OPS=${BOXLITE_RANDOM_OPS:-40}
BOXES=${BOXLITE_RANDOM_BOXES:-4}
SEED=${BOXLITE_RANDOM_SEED:-$$}
RANDOM=$SEED
echo "seed $SEED, $OPS ops over $BOXES boxes"

# Prints the operation on fd 3 (the test's stdout), then runs it.
op() {
	local n="r$((RANDOM % BOXES))"
	case $((RANDOM % 11)) in
	0) echo "create $n" >&3; "$B" create --name "$n" localhost/busybox:latest sleep 1000 ;;
	1) echo "run -d $n" >&3; "$B" run -d --name "$n" localhost/busybox:latest sleep 1000 ;;
	2|3) echo "start $n" >&3; "$B" start "$n" ;;
	4) echo "stop $n" >&3; "$B" stop -t 1 "$n" ;;
	5) echo "restart $n" >&3; "$B" restart -t 1 "$n" ;;
	6) echo "rm -f $n" >&3; "$B" rm -f "$n" ;;
	7) echo "exec $n" >&3; "$B" exec "$n" true ;;
	8) echo "pause $n" >&3; "$B" pause "$n" ;;
	9) echo "unpause $n" >&3; "$B" unpause "$n" ;;
	10) echo "run --rm (non-detached) $n" >&3; "$B" run --rm localhost/busybox:latest sh -c 'sleep 0.5' ;;
	esac
}

exec 3>&1
for i in $(seq "$OPS"); do
	case $((RANDOM % 6)) in
	0)	# kill -9 the CLI in the middle of its operation
		op >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 10))"
		pkill -9 -P "$pid" 2>/dev/null
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo "  (killed the CLI)" ;;
	1)	# kill -9 a random shim
		shims=$(for p in $(t_procs_in_home); do
			[ "$(readlink /proc/$p/exe 2>/dev/null)" = "$BUILD/bin/boxlite-shim" ] && echo "$p"; done)
		if [ -n "$shims" ]; then
			set -- $shims
			shift $((RANDOM % $#)); kill -9 "$1" 2>/dev/null; echo "kill -9 shim $1"
		fi ;;
	*)	timeout 60 bash -c "$(declare -f op); B='$B' BOXES=$BOXES RANDOM=$RANDOM op" >/dev/null 2>&1
		echo "  -> $?" ;;
	esac
done

# Non-detached boxes of killed CLIs shut down within seconds (watchdog).
sleep 6
json=$("$B" ls -a --format json)
check=$(python3 - "$json" "$BOXLITE_HOME" <<'PY'
import json, os, sys
boxes = json.loads(sys.argv[1]); home = sys.argv[2]
def alive(pid, box):
    try:
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        return f"BOXLITE_BOX_ID={box}".encode() in env
    except OSError:
        return False
procs = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            cwd = os.readlink(f"/proc/{p}/cwd")
        except OSError:
            continue
        if cwd.startswith(home + "/boxes/"):
            procs.setdefault(cwd[len(home) + 7:].split("/")[0], []).append(p)
bad = []
for b in boxes:
    active = b["state"] in ("running", "paused")
    if b["state"] in ("starting", "stopping"):
        bad.append(f"{b['id']} left {b['state']}")
    if active and not alive(b["shim_pid"], b["id"]):
        bad.append(f"{b['id']} says {b['state']} but shim {b['shim_pid']} is not running")
    if not active and procs.get(b["id"]):
        bad.append(f"{b['id']} says {b['state']} but has processes {procs[b['id']]}")
ids = {b["id"] for b in boxes}
for d, ps in procs.items():
    if d not in ids:
        bad.append(f"processes {ps} of unknown box {d}")
print("; ".join(bad) if bad else "ok")
PY
)
expect_eq "ls -a matches the processes ($(echo "$json" | grep -c '"id"') boxes)" "$check" "ok"
integrity=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$BOXLITE_HOME/boxlite.db")
expect_eq "store integrity" "$integrity" "ok"
ids=$("$B" ls -aq)
[ -n "$ids" ] && "$B" rm -f $ids >/dev/null
expect_eq "everything removed" "$("$B" ls -aq)" ""
expect_no_leftovers "after rm -f of every box"
left=$(ls "$BOXLITE_HOME/boxes" | wc -l)
expect_eq "no box directory left" "$left" "0"
t_done
