#!/usr/bin/env bash
# Publishing and unpublishing ports after create (boxlite port add/rm): live
# on a running box through QMP, kept in the record for a stopped one and
# across restarts; clear errors for a taken port, a duplicate, an unknown
# port and a box without a network. One python box, started twice.
. "$(dirname "$0")/lib.sh"

# Waits for the guest's http.server behind host port $1; prints its /etc/hosts.
fetch() {
	local got=""
	for i in $(seq 100); do got=$(curl -s -m 5 "http://127.0.0.1:$1/hosts") && [ -n "$got" ] && break; sleep 0.3; done
	echo "$got"
}

id=$("$BOXLITE" run -d localhost/python:3.11 python3 -m http.server --directory /etc 8000); rc=$?
expect_eq "detached python box without ports" "$rc" "0"
expect_eq "no ports at first" "$("$BOXLITE" port "$id")" ""

# ---- add on a running box: a free host port, reachable at once
line=$("$BOXLITE" port add "$id" 0:8000); rc=$?
expect_eq "port add exit" "$rc" "0"
case "$line" in "8000/tcp -> 127.0.0.1:"[0-9]*) pass "port add printed $line" ;; *) fail "port add printed '$line'" ;; esac
p1=${line##*:}
expect_contains "curl reaches the guest through the added port" "$(fetch "$p1")" "host.boxlite.internal"
expect_eq "boxlite port lists it" "$("$BOXLITE" port "$id")" "8000/tcp -> 127.0.0.1:$p1"

# ---- errors: the same port twice, a port another process holds
out=$("$BOXLITE" port add "$id" "$p1:8000" 2>&1); rc=$?
expect_eq "duplicate exits 125" "$rc" "125"
expect_contains "duplicate message" "$out" "already publishes 127.0.0.1:$p1/tcp"
busy=$(free_port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$busy)); s.listen(); time.sleep(60)" &
HOLDER=$!
trap 'kill $HOLDER 2>/dev/null; t_cleanup' EXIT
for i in $(seq 50); do ss -ltn | grep -q "127.0.0.1:$busy " && break; sleep 0.1; done
out=$("$BOXLITE" port add "$id" "$busy:8000" 2>&1); rc=$?
expect_eq "taken port exits 125" "$rc" "125"
expect_contains "taken port message" "$out" "127.0.0.1:$busy/tcp is already in use"
kill $HOLDER 2>/dev/null; wait $HOLDER 2>/dev/null

# ---- remove: refused at once, gone from the list; removing twice is an error
"$BOXLITE" port rm "$id" "$p1"; rc=$?
expect_eq "port rm exit" "$rc" "0"
curl -s -m 5 -o /dev/null "http://127.0.0.1:$p1/hosts" && fail "removed port still answers" ||
	pass "removed port no longer answers"
expect_eq "list empty after rm" "$("$BOXLITE" port "$id")" ""
out=$("$BOXLITE" port rm "$id" "$p1" 2>&1); rc=$?
expect_eq "rm of an unpublished port exits 125" "$rc" "125"
expect_contains "rm of an unpublished port message" "$out" "does not publish 127.0.0.1:$p1/tcp"

# ---- a stopped box: the change waits for the next start and survives it
p2=$("$BOXLITE" port add "$id" 0:8000); p2=${p2##*:}
"$BOXLITE" stop "$id" >/dev/null
udp=$("$BOXLITE" port add "$id" 0:53/udp); rc=$?
expect_eq "port add on a stopped box" "$rc" "0"
"$BOXLITE" start "$id" >/dev/null; rc=$?
expect_eq "restart" "$rc" "0"
expect_contains "port added before the stop answers after the restart" "$(fetch "$p2")" "host.boxlite.internal"
expect_eq "both ports listed after the restart" "$("$BOXLITE" port "$id")" "8000/tcp -> 127.0.0.1:$p2
$udp"
"$BOXLITE" rm -f "$id" >/dev/null

# ---- no network, bad spec
nid=$("$BOXLITE" create --network none localhost/busybox:latest true)
out=$("$BOXLITE" port add "$nid" 0:80 2>&1); rc=$?
expect_eq "no-network box exits 125" "$rc" "125"
expect_contains "no-network message" "$out" "has no network"
out=$("$BOXLITE" port add "$nid" 80:http 2>&1)
expect_contains "bad spec message" "$out" "port add wants"
"$BOXLITE" rm -f "$nid" >/dev/null

expect_no_leftovers "net_ports_live"
t_done
