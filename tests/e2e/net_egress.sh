#!/usr/bin/env bash
# The egress policy (--allow-net; docs/networking-volumes.md "Egress
# policy"): with --allow-net 127.0.0.1 only the host's loopback (reached as
# host.boxlite.internal) works; TCP and UDP to another IP, slirp's DNS and
# other DNS servers are refused by the shim's supervisor; the agent's DNS
# proxy answers permitted names only. One VM boot for all the checks.
# EGRESS_SECURITY=development runs the box without the jail (the policy
# does not depend on it).
. "$(dirname "$0")/lib.sh"

SEC=()
[ -n "${EGRESS_SECURITY:-}" ] && SEC=(--security "$EGRESS_SECURITY")

# ---- the CLI refuses what cannot work, before any VM
out=$("$BOXLITE" run --rm --allow-net 'bad name!' localhost/busybox:latest true 2>&1); rc=$?
expect_eq "bad --allow-net: exit" "$rc" "125"
expect_contains "bad --allow-net: message" "$out" "--allow-net wants a host name, *.domain, an IPv4/IPv6 address or a CIDR"
out=$("$BOXLITE" run --rm --allow-net 10.0.0.0/33 localhost/busybox:latest true 2>&1); rc=$?
expect_eq "bad CIDR: exit" "$rc" "125"
out=$("$BOXLITE" run --rm --network none --allow-net 127.0.0.1 localhost/busybox:latest true 2>&1); rc=$?
expect_eq "--allow-net with --network none: exit" "$rc" "125"
expect_contains "--allow-net with --network none: message" "$out" "cannot be combined with --network none"

# ---- host servers: TCP on all interfaces (so it is the destination IP that
# decides, not the server), UDP on all interfaces logging what it receives.
HOST_IP=$(ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ "$HOST_IP" = "127.0.0.1" ] && HOST_IP=""
TPORT=$(free_port)
UPORT=$(free_port)
mkdir -p "$T_HOME/www"
echo hello-egress > "$T_HOME/www/index.html"
(cd "$T_HOME/www" && exec python3 -m http.server --bind 0.0.0.0 "$TPORT" >/dev/null 2>&1) &
HTTP_PID=$!
python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(2048)
    print(d.decode(errors="replace").strip(), flush=True)
' "$UPORT" > "$T_HOME/udp.log" 2>&1 &
UDP_PID=$!
trap 'kill $HTTP_PID $UDP_PID 2>/dev/null; t_cleanup' EXIT
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$TPORT/" && break; sleep 0.1; done

id=$("$BOXLITE" run -d "${SEC[@]}" --name eg --allow-net 127.0.0.1 --allow-net localhost \
	--allow-net '*.boxlite.test' localhost/busybox:latest sleep 600); rc=$?
expect_eq "box with --allow-net starts" "$rc" "0"
LOG="$BOXLITE_HOME/boxes/$id/shim.stderr"

insp=$("$BOXLITE" inspect eg)
expect_contains "inspect shows allow_net" "$(echo "$insp" | tr -d ' \n')" '"allow_net":["127.0.0.1","localhost","*.boxlite.test"]'

# TCP: the allowed destination works; the same server on another IP of the
# host, and any other address, is refused at once (RST: "Connection refused").
out=$("$BOXLITE" exec eg sh -c "
cat /etc/resolv.conf
printf 'GET /index.html HTTP/1.0\r\n\r\n' | nc -w 5 host.boxlite.internal $TPORT | tail -1
nc -w 5 1.1.1.1 80 </dev/null 2>&1 || echo tcp-1.1.1.1-failed
nc -w 5 10.0.2.3 53 </dev/null 2>&1 || echo tcp-slirp-dns-failed
" 2>&1)
expect_eq "TCP: allowed works, others refused" "$out" "nameserver 127.0.0.1
hello-egress
nc: can't connect to remote host (1.1.1.1): Connection refused
tcp-1.1.1.1-failed
nc: can't connect to remote host (10.0.2.3): Connection refused
tcp-slirp-dns-failed"
expect_contains "shim log: supervisor refused 1.1.1.1" "$(cat "$LOG")" "egress: refused connect to 1.1.1.1:80"
if [ -n "$HOST_IP" ]; then
	out=$("$BOXLITE" exec eg sh -c "nc -w 5 $HOST_IP $TPORT </dev/null 2>&1 || echo failed" 2>&1)
	expect_eq "TCP: same host server via $HOST_IP refused" "$out" \
		"nc: can't connect to remote host ($HOST_IP): Connection refused
failed"
	expect_contains "shim log: refused $HOST_IP" "$(cat "$LOG")" "egress: refused connect to $HOST_IP:$TPORT"
else
	echo "skip: no non-loopback host address for the other-IP TCP/UDP checks"
fi

# UDP (busybox tftp: its read request carries the file name) and ICMP:
# datagrams to the allowed destination arrive, others never do.
"$BOXLITE" exec eg sh -c "timeout 2 tftp -g -r udp-allowed -l /tmp/x 10.0.2.2 $UPORT" >/dev/null 2>&1
[ -n "$HOST_IP" ] && "$BOXLITE" exec eg sh -c "timeout 2 tftp -g -r udp-denied -l /tmp/x $HOST_IP $UPORT" >/dev/null 2>&1
"$BOXLITE" exec eg sh -c "timeout 2 tftp -g -r udp-denied2 -l /tmp/x 192.0.2.77 $UPORT" >/dev/null 2>&1
out=$("$BOXLITE" exec eg sh -c "ping -c 1 -W 2 1.1.1.1 >/dev/null 2>&1 && echo ping-answered || echo ping-failed" 2>&1)
expect_eq "ICMP to a refused IP" "$out" "ping-failed"
expect_contains "shim log: refused ICMP datagram" "$(cat "$LOG")" "egress: refused datagram to 1.1.1.1:"
for i in $(seq 50); do grep -q udp-allowed "$T_HOME/udp.log" && break; sleep 0.1; done
expect_contains "UDP: allowed datagram arrives" "$(tr -d '\0' < "$T_HOME/udp.log")" "udp-allowed"
case "$(tr -d '\0' < "$T_HOME/udp.log")" in *udp-denied*) fail "UDP: a refused datagram arrived" ;; *) pass "UDP: refused datagrams never arrive" ;; esac
[ -n "$HOST_IP" ] && expect_contains "shim log: refused datagram to $HOST_IP" "$(cat "$LOG")" "egress: refused datagram to $HOST_IP:$UPORT"

# DNS: the agent's proxy answers permitted names (resolved by the host),
# NXDOMAIN for the rest; other DNS servers (slirp's, public ones) are refused.
out=$("$BOXLITE" exec eg sh -c "
nslookup -type=a localhost 2>&1 | grep -A1 '^Name:' | tail -1
nslookup example.com 2>&1 | grep -q NXDOMAIN && echo example.com-nxdomain
nslookup no-such-name.boxlite.test 2>&1 | grep -q NXDOMAIN && echo boxlite.test-nxdomain
nslookup -type=mx localhost >/dev/null 2>&1; echo mx=\$?
" 2>&1)
expect_eq "DNS through the proxy" "$out" "Address: 127.0.0.1
example.com-nxdomain
boxlite.test-nxdomain
mx=0"
expect_contains "shim log: name refused" "$(cat "$LOG")" "egress: DNS name not in allow-net: example.com"
"$BOXLITE" exec eg sh -c "nslookup example.com 10.0.2.3 >/dev/null 2>&1 && echo answered || echo no-answer
nslookup example.com 8.8.8.8 >/dev/null 2>&1 && echo answered || echo no-answer" > "$T_HOME/dns.out" 2>&1
expect_eq "other DNS servers get nothing" "$(cat "$T_HOME/dns.out")" "no-answer
no-answer"
expect_contains "shim log: refused datagram to 8.8.8.8:53" "$(cat "$LOG")" "egress: refused datagram to 8.8.8.8:53"

# A name learned from DNS becomes reachable: localhost -> 127.0.0.1 was
# allowed anyway; the allow-set only grows with permitted names.
# IPv6: the guest kernel has no IPv6 stack; the supervisor refuses IPv6
# destinations not in the list regardless (unit-tested).
out=$("$BOXLITE" exec eg sh -c "nc -w 2 ::1 80 </dev/null >/dev/null 2>&1 && echo reached || echo ipv6-failed" 2>&1)
expect_eq "IPv6 from the guest fails" "$out" "ipv6-failed"

"$BOXLITE" rm -f eg >/dev/null 2>&1
kill $HTTP_PID $UDP_PID 2>/dev/null
wait $HTTP_PID $UDP_PID 2>/dev/null
expect_no_leftovers "egress box"
t_done
