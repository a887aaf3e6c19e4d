#!/usr/bin/env bash
# Networking and volumes (issue 6, docs/networking-volumes.md): guest network
# setup without DHCP, the host alias, --network none, published ports (0 =
# free port, port in use), virtio-9p volumes (round trip, :ro, symlinks out,
# missing host path). Four VM boots in all.
. "$(dirname "$0")/lib.sh"

# A server on the host's loopback.
mkdir -p "$T_HOME/www" "$T_HOME/vol/sub" "$T_HOME/ro"
echo hello-from-host > "$T_HOME/www/index.html"
t_host_http "$T_HOME/www"

# Volume fixtures: data, a secret outside the volume, symlinks pointing out.
echo host-data > "$T_HOME/vol/h.txt"
echo read-only-data > "$T_HOME/ro/r.txt"
echo TOPSECRET > "$T_HOME/secret"
ln -s "$T_HOME/secret" "$T_HOME/vol/abs_out"
ln -s ../secret "$T_HOME/vol/rel_out"

# ---- user-mode network + volumes, one box
out=$("$BOXLITE" run --rm -v "$T_HOME/vol:/data" -v "$T_HOME/ro:/ro:ro" localhost/busybox:latest sh -c "
ip addr show eth0 | grep -o 'inet [0-9./]*'
ip route | grep -o '^default via [0-9.]*'
ip addr show lo | grep -o 'inet [0-9./]*'
cat /etc/resolv.conf
grep -c host.boxlite.internal /etc/hosts
wget -q -O- http://host.boxlite.internal:$HPORT/index.html
echo vol:\$(cat /data/h.txt)
echo guest-data > /data/g.txt && mkdir /data/gdir && echo wrote
echo ro:\$(cat /ro/r.txt)
touch /ro/x 2>/dev/null && echo ro-writable || echo ro-refused
cat /data/abs_out 2>/dev/null || echo abs-out-blocked
cat /data/rel_out 2>/dev/null || echo rel-out-blocked
cat /data/../secret 2>/dev/null || echo dotdot-blocked
seq 1 20000 > /data/last.txt
" 2>"$T_HOME/err"); rc=$?
expect_eq "user-mode box exit" "$rc" "0"
expect_eq "guest network, volumes" "$out" "inet 10.0.2.15/24
default via 10.0.2.2
inet 127.0.0.1/8
nameserver 10.0.2.3
1
hello-from-host
vol:host-data
wrote
ro:read-only-data
ro-refused
abs-out-blocked
rel-out-blocked
dotdot-blocked"
expect_eq "host sees the guest's file" "$(cat "$T_HOME/vol/g.txt" 2>&1)" "guest-data"
[ -d "$T_HOME/vol/gdir" ] && pass "host sees the guest's directory" || fail "no gdir on the host"
# run --rm kills the VM as soon as the command ends (no guest shutdown): a
# volume write that was the command's last act is on the host all the same.
seq 1 20000 | cmp -s - "$T_HOME/vol/last.txt" && pass "last write before exit reached the host" ||
	fail "last write before exit: $(wc -c < "$T_HOME/vol/last.txt" 2>&1) bytes on the host"
expect_eq "guest file owner on the host = the volume's owner" \
	"$(stat -c %u:%g "$T_HOME/vol/g.txt")" "$(stat -c %u:%g "$T_HOME/vol")"
[ -e "$T_HOME/ro/x" ] && fail ":ro volume was written" || pass ":ro volume untouched on the host"

# ---- --network none: loopback only, the host is unreachable
out=$("$BOXLITE" run --rm --network none localhost/busybox:latest sh -c "
ip -o link | grep -c -v ': lo:'
ip addr show lo | grep -o 'inet [0-9./]*'
nc -w 2 10.0.2.2 $HPORT </dev/null 2>/dev/null && echo reached || echo unreachable
") ; rc=$?
expect_eq "--network none box exit" "$rc" "0"
expect_eq "--network none: lo only, host unreachable" "$out" "0
inet 127.0.0.1/8
unreachable"

# ---- published port: host port 0, reported by port and inspect, curl works
id=$("$BOXLITE" run -d -p 0:8000 localhost/python:3.11 python3 -m http.server --directory /etc 8000); rc=$?
expect_eq "detached python box" "$rc" "0"
line=$("$BOXLITE" port "$id")
case "$line" in "8000/tcp -> 127.0.0.1:"[0-9]*) pass "boxlite port: $line" ;; *) fail "boxlite port: '$line'" ;; esac
pport=${line##*:}
got=""
for i in $(seq 100); do got=$(curl -s -m 5 "http://127.0.0.1:$pport/hosts") && [ -n "$got" ] && break; sleep 0.3; done
expect_contains "curl from the host reaches the guest server" "$got" "10.0.2.2	host.boxlite.internal"
expect_eq "inspect shows the port" \
	"$("$BOXLITE" inspect "$id" | python3 -c 'import json,sys; p=json.load(sys.stdin)[0]["config"]["ports"][0]; print(p["host_ip"], p["host_port"], p["guest_port"], p["proto"])')" \
	"127.0.0.1 $pport 8000 tcp"

# ---- that host port is now in use: a clear error, nothing left behind
out=$("$BOXLITE" run --rm -p "127.0.0.1:$pport:80" localhost/busybox:latest true 2>&1); rc=$?
expect_eq "port in use exits 125" "$rc" "125"
expect_contains "port in use message" "$out" "127.0.0.1:$pport/tcp is already in use"
"$BOXLITE" rm -f "$id" >/dev/null

# ---- bad specs and a missing host path
out=$("$BOXLITE" run --rm -v "$T_HOME/nosuchdir:/x" localhost/busybox:latest true 2>&1); rc=$?
expect_eq "missing volume exits 125" "$rc" "125"
expect_contains "missing volume message" "$out" "host path does not exist"
out=$("$BOXLITE" run --rm -v "$T_HOME:/x" localhost/busybox:latest true 2>&1); rc=$?
expect_eq "volume holding the home exits 125" "$rc" "125"
expect_contains "volume holding the home message" "$out" "contains boxlite's home"
out=$("$BOXLITE" run --rm -v "$BOXLITE_HOME/boxes:/x" localhost/busybox:latest true 2>&1); rc=$?
expect_contains "volume inside the home refused" "$out" "is inside boxlite's home"
out=$("$BOXLITE" run --rm -p 80:http localhost/busybox:latest true 2>&1); rc=$?
expect_contains "bad -p message" "$out" "-p wants"
out=$("$BOXLITE" run --rm -v "$T_HOME/vol:relative" localhost/busybox:latest true 2>&1); rc=$?
expect_contains "bad -v message" "$out" "-v wants"
out=$("$BOXLITE" run --rm -v "$T_HOME/vol:/a/../b" localhost/busybox:latest true 2>&1); rc=$?
expect_contains "-v with .. refused" "$out" "-v wants"

kill $HTTP_PID 2>/dev/null; wait $HTTP_PID 2>/dev/null
expect_no_leftovers "net_vol"
t_done
