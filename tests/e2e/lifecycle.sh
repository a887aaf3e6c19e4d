#!/usr/bin/env bash
# Box lifecycle from the CLI, as a new user would try it: detached boxes
# found again by name from other processes, ls telling the truth at each
# step, stop / rm / pause / logs / wait / inspect, resources visible in the
# guest, a killed shim, and recovery of a directory with no record.
. "$(dirname "$0")/lib.sh"
B="$BOXLITE"

state_of() { "$B" ls -a --format json | python3 -c "import json,sys; print(' '.join(b['state'] for b in json.load(sys.stdin) if b['name']==sys.argv[1] or b['id']==sys.argv[1]))" "$1"; }

# run -d --name w, then other processes exec, stop, rm.
id=$("$B" run -d --name w localhost/busybox:latest sleep 1000); rc=$?
expect_eq "run -d exits 0" "$rc" "0"
expect_eq "run -d prints a 12-char id" "${#id}" "12"
expect_eq "ls: w running" "$(state_of w)" "running"
expect_contains "ls without -a shows w" "$("$B" ls)" "$id"
expect_eq "exec w echo ok" "$("$B" exec w echo ok)" "ok"
expect_eq "exec by id prefix" "$("$B" exec "${id:0:5}" sh -c 'echo $((6*7))')" "42"
"$B" exec w sh -c 'exit 5'; expect_eq "exec exit status" "$?" "5"
"$B" run -d --name w localhost/busybox:latest true >/dev/null 2>&1; rc=$?
expect_eq "a taken name is refused" "$rc" "125"
"$B" rm w >/dev/null 2>&1; expect_eq "rm of a running box needs -f" "$?" "125"

# inspect: env keys only.
"$B" pause w >/dev/null; expect_eq "pause" "$(state_of w)" "paused"
"$B" unpause w >/dev/null; expect_eq "unpause" "$(state_of w)" "running"
expect_eq "exec after unpause" "$("$B" exec w echo back)" "back"
"$B" stop w >/dev/null; rc=$?
expect_eq "stop exits 0" "$rc" "0"
expect_eq "ls -a: w stopped" "$(state_of w)" "stopped"
expect_eq "ls (running only) no longer shows w" "$("$B" ls -q)" ""
expect_eq "stopped main command: 128+SIGTERM" "$("$B" wait w)" "143"
"$B" exec w true >/dev/null 2>&1; expect_eq "exec into a stopped box fails" "$?" "125"
"$B" rm w >/dev/null; expect_eq "rm exits 0" "$?" "0"
expect_eq "ls -a: w gone" "$("$B" ls -aq)" ""
[ -d "$BOXLITE_HOME/boxes/$id" ] && fail "box directory left after rm" || pass "box directory removed"

# create is lazy; the main command defines the box's life; logs and wait.
id=$("$B" create --name job -e SECRET_TOKEN=hunter2 --memory 256 --cpus 2 --disk-size 4 \
	localhost/busybox:latest sh -c 'echo out; echo err >&2; exit 3')
expect_eq "create: configured" "$(state_of job)" "configured"
[ -z "$(t_procs_in_home)" ] && pass "create boots nothing" || fail "create started processes"
insp=$("$B" inspect job)
expect_contains "inspect shows the env key" "$insp" '"SECRET_TOKEN=***"'
case "$insp" in *hunter2*) fail "inspect shows a secret value" ;; *) pass "inspect hides env values" ;; esac
"$B" start job >/dev/null
expect_eq "wait: main command's code" "$("$B" wait job)" "3"
expect_eq "state after main exit" "$(state_of job)" "stopped"
expect_eq "logs: main output" "$("$B" logs job 2>&1)" "$(printf 'out\nerr')"
expect_eq "logs -n 1" "$("$B" logs -n 1 job)" "err"
grep -q "boxlite-guest" "$BOXLITE_HOME/boxes/$id/console.log" && pass "console log kept" || fail "no console log"

# Resources are visible in the guest (restart runs the main command again:
# use exec while the box is up with a long main command).
"$B" rm job >/dev/null
"$B" run -d --name res --memory 256 --cpus 2 --disk-size 4 localhost/busybox:latest sleep 1000 >/dev/null
expect_eq "nproc" "$("$B" exec res nproc)" "2"
mem=$("$B" exec res sh -c "free -m | awk '/Mem:/ {print \$2}'")
[ "$mem" -gt 180 ] && [ "$mem" -le 256 ] && pass "free: $mem MiB of 256" || fail "free says $mem MiB"
disk=$("$B" exec res sh -c "df -m / | awk 'NR==2 {print \$2}'")
[ "$disk" -gt 3500 ] && [ "$disk" -le 4096 ] && pass "df: $disk MiB of 4 GiB" || fail "df says $disk MiB"
stats=$("$B" stats --no-stream res)
expect_contains "stats lists the box" "$stats" "res"
# Columns: BOX ID, NAME, CPU %, HOST MEM, GUEST MEM used/total (MiB), BOOT (ms).
read -r gtotal boot <<<"$(awk '$2 == "res" { split($5, m, "/"); print m[2], $6 }' <<<"$stats")"
awk -v t="${gtotal:-0}" 'BEGIN { exit !(t >= 0.8 * 256 && t <= 256) }' &&
	pass "stats: guest memory total $gtotal MiB of 256" || fail "stats: guest memory total '$gtotal' (of 256): $stats"
[[ "$boot" =~ ^[0-9]+$ ]] && pass "stats: boot $boot ms" || fail "stats: boot time '$boot': $stats"

# A shim killed with SIGKILL: the box is failed, and says so.
shim=$("$B" inspect res | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['pids']['shim'])")
kill -9 "$shim"
for i in $(seq 50); do [ "$(state_of res)" = failed ] && break; sleep 0.1; done
expect_eq "killed shim: failed" "$(state_of res)" "failed"
out=$("$B" stats --no-stream res 2>&1); rc=$?
expect_eq "stats of a failed box exits 125" "$rc" "125"
expect_contains "stats of a failed box says why" "$out" "is failed: stats are for running boxes"
expect_no_leftovers "after the shim was killed"
"$B" rm res >/dev/null

# Recovery: a directory with no record is cleaned when a runtime opens.
mkdir -p "$BOXLITE_HOME/boxes/zzzzzzzzzzzz"
"$B" ls -a >/dev/null
[ -d "$BOXLITE_HOME/boxes/zzzzzzzzzzzz" ] && fail "unrecorded directory kept" || pass "unrecorded directory cleaned"

# run --rm removes; run -d --rm keeps the box (the reference CLI drops --rm
# with -d, so its scripts can rm it later); create --rm + start removes it
# once the main command ended.
"$B" run --rm localhost/busybox:latest true; expect_eq "run --rm" "$?" "0"
id=$("$B" run -d --rm localhost/busybox:latest sh -c 'exit 5')
expect_eq "run -d --rm: the box stays" "$("$B" wait "$id" 2>/dev/null; "$B" ls -aq)" "5
$id"
"$B" rm "$id" >/dev/null
# (The command outlives `start` by a moment: a --rm box that already ended
# may be removed by the next process that opens the home, as docker's would.)
id=$("$B" create --rm localhost/busybox:latest sh -c 'sleep 2; exit 4')
"$B" start "$id" >/dev/null
expect_eq "wait on an auto-remove box" "$("$B" wait "$id" 2>/dev/null)" "4"
expect_eq "auto-removed" "$("$B" ls -aq)" ""
python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" \
	"$BOXLITE_HOME/boxlite.db" | grep -qx ok && pass "store integrity" || fail "store integrity"
expect_no_leftovers "at the end"
t_done
