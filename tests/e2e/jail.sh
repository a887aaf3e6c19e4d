#!/usr/bin/env bash
# The jail (issue 5, docs/security.md): checks on a running jailed QEMU, a guest
# memory hog, and a compromised-QEMU stand-in (jail_attacker) that attacks from
# inside the jail. One booted box shared by the /proc and guest checks.
. "$(dirname "$0")/lib.sh"

root=0; [ "$(id -u)" -eq 0 ] && root=1
MEM=256

# ---- a running jailed box (no network: it also gets an empty net namespace)
id=$("$BOXLITE" run -d --network none --memory $MEM localhost/busybox:latest sleep 600); rc=$?
expect_eq "detached jailed box starts" "$rc" "0"
box_dir="$BOXLITE_HOME/boxes/$id"
shim=$(cut -d' ' -f1 "$box_dir/shim.pid")
qemu=$(pgrep -P "$shim" qemu-system)
[ -n "$qemu" ] || fail "no QEMU under shim $shim"
st=/proc/$qemu/status
expect_eq "QEMU Seccomp" "$(awk '/^Seccomp:/{print $2}' $st)" "2"
expect_eq "QEMU NoNewPrivs" "$(awk '/^NoNewPrivs:/{print $2}' $st)" "1"
expect_eq "QEMU CapEff" "$(awk '/^CapEff:/{print $2}' $st)" "0000000000000000"
expect_eq "QEMU CapBnd" "$(awk '/^CapBnd:/{print $2}' $st)" "0000000000000000"
expect_eq "shim Seccomp" "$(awk '/^Seccomp:/{print $2}' /proc/$shim/status)" "2"
# The jail's two filters (allow-list + argument kills), then QEMU's -sandbox.
sf=$(awk '/^Seccomp_filters:/{print $2}' /proc/$shim/status)
qf=$(awk '/^Seccomp_filters:/{print $2}' $st)
[ "${sf:-0}" -ge 2 ] && pass "shim has the jail's filters ($sf)" || fail "shim Seccomp_filters '$sf' < 2"
[ "${qf:-0}" -gt "${sf:-0}" ] && pass "QEMU adds its own -sandbox filter ($qf)" ||
	fail "QEMU Seccomp_filters '$qf' not above the shim's '$sf'"
expect_eq "shim CapEff" "$(awk '/^CapEff:/{print $2}' /proc/$shim/status)" "0000000000000000"
if [ $root -eq 1 ]; then
	u=$(awk '/^Uid:/{print $2}' $st)
	[ "$u" -ge 1073741824 ] && pass "QEMU runs as box uid $u" || fail "QEMU uid $u is not a box uid"
fi
for ns in user mnt pid ipc uts net; do
	[ "$(readlink /proc/$qemu/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ] &&
		pass "QEMU has its own $ns namespace" || fail "QEMU shares the host's $ns namespace"
done
qr=/proc/$qemu/root
[ -e "$qr$box_dir/disk.qcow2" ] && pass "jail root holds the box dir" || fail "box dir not in the jail"
for p in /etc/passwd "$BOXLITE_HOME/boxlite.db" "$BUILD/bin/boxlite" /proc/1 /root /home "$T_HOME/other"; do
	[ -e "$qr$p" ] && fail "jail shows $p" || pass "jail hides $p"
done
if [ $root -eq 1 ]; then
	mem_cg=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/$qemu/cgroup)
	pids_cg=$(awk -F: '$2 ~ /(^|,)pids(,|$)/ {print $3}' /proc/$qemu/cgroup)
	cpu_cg=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/$qemu/cgroup)
	expect_contains "QEMU in the box's memory cgroup" "$mem_cg" "boxlite/$id"
	expect_eq "memory limit = RAM + overhead" "$(cat /sys/fs/cgroup/memory$mem_cg/memory.limit_in_bytes)" \
		"$(( (MEM + 384 + MEM / 8) * 1024 * 1024 ))"
	expect_eq "pids limit" "$(cat /sys/fs/cgroup/pids$pids_cg/pids.max)" "512"
	expect_eq "cpu quota = 1 cpu" "$(cat /sys/fs/cgroup/cpu$cpu_cg/cpu.cfs_quota_us)" "100000"
fi

# From inside the guest: no NIC to reach the host with; a memory hog is killed
# by the guest's own OOM killer and the box lives on.
out=$("$BOXLITE" exec "$id" ls /sys/class/net)
expect_eq "guest without network has only lo" "$out" "lo"
# (timeout: once, under load, this exec hung until the box's main command ended)
timeout 60 "$BOXLITE" exec "$id" sh -c 'head -c 600m /dev/zero | tail >/dev/null' >/dev/null 2>&1; rc=$?
[ "$rc" -eq 124 ] && fail "memory hog exec hung (guest: $(timeout 10 "$BOXLITE" exec "$id" dmesg | grep -i killed | tail -2))"
[ "$rc" -ne 0 ] && pass "guest memory hog fails (status $rc)" || fail "a 600 MiB hog succeeded in a $MEM MiB guest"
out=$("$BOXLITE" exec "$id" echo alive)
expect_eq "box alive after the hog" "$out" "alive"
kill -0 "$qemu" 2>/dev/null && pass "QEMU survived the hog" || fail "QEMU died"
if [ $root -eq 1 ]; then
	used=$(cat /sys/fs/cgroup/memory$mem_cg/memory.max_usage_in_bytes)
	[ "$used" -le "$(( (MEM + 384 + MEM / 8) * 1024 * 1024 ))" ] && pass "peak memory $((used >> 20)) MiB within the limit" ||
		fail "peak memory $used above the limit"
fi

"$BOXLITE" stop "$id" >/dev/null
"$BOXLITE" rm "$id" >/dev/null
if [ $root -eq 1 ]; then
	for i in $(seq 50); do [ -d "/sys/fs/cgroup/memory$mem_cg" ] || break; sleep 0.1; done
	[ -d "/sys/fs/cgroup/memory$mem_cg" ] && fail "cgroup $mem_cg left behind" || pass "cgroup removed with the shim"
	[ -d "/sys/fs/cgroup/pids$pids_cg" ] && fail "cgroup pids$pids_cg left behind" || pass "pids cgroup removed"
fi

# ---- a compromised QEMU: the stand-in attacks from inside the jail
err=$(BOXLITE_QEMU="$BUILD/bin/jail_attacker" "$BOXLITE" run --name atk --network none \
	localhost/busybox:latest true 2>&1 >/dev/null)
res=$(cat "$BOXLITE_HOME"/boxes/*/jail-attack.txt 2>/dev/null)
expect_contains "attacker ran to the end" "$res" "done"
# It ends with a syscall outside the allow-list (syslog), as "QEMU" itself.
expect_contains "the box's error names the seccomp filter" "$err" "QEMU was killed by the seccomp filter"
want="read-etc-passwd errno:ENOENT
read-etc-shadow errno:ENOENT
read-home-db errno:ENOENT
read-proc errno:ENOENT
read-root-home errno:ENOENT
read-source-tree errno:ENOENT
create-in-root errno:EROFS
open-disk-device errno:ENOENT
connect-host-loopback errno:ENETUNREACH
ptrace-parent killed:SYS
unshare-user killed:SYS
mount killed:SYS
bpf killed:SYS
keyctl killed:SYS
init-module killed:SYS
perf-event-open killed:SYS
clone-newns killed:SYS
mknod-char-device killed:SYS
setuid-0 killed:SYS
setgid-0 killed:SYS
personality killed:SYS
socket-packet killed:SYS
socket-netlink-audit killed:SYS
prctl-securebits killed:SYS
prlimit-parent killed:SYS
ioctl-tiocsti-high-bits killed:SYS
process-vm-readv killed:SYS
pidfd-open killed:SYS
mkfifo ok"
while read -r line; do
	expect_contains "attack ${line%% *}" "$res" "$line"
done <<<"$want"
for a in write-engine-binary; do
	r=$(awk -v a=$a '$1 == a {print $2}' <<<"$res")
	case "$r" in errno:*) pass "attack $a fails ($r)" ;; *) fail "attack $a: $r" ;; esac
done
"$BOXLITE" rm atk >/dev/null 2>&1

# ---- a shim killed by the filter (a stand-in that dies of SIGSYS): the library says so
printf '#!/bin/sh\ncat >/dev/null\nkill -SYS $$\n' >"$T_HOME/sigsys-shim"
chmod +x "$T_HOME/sigsys-shim"
err=$(BOXLITE_SHIM="$T_HOME/sigsys-shim" "$BOXLITE" run --rm localhost/busybox:latest true 2>&1)
expect_contains "a shim killed by SIGSYS is named" "$err" "boxlite-shim was killed by the seccomp filter"

# ---- development mode says so, loudly
out=$("$BOXLITE" run --rm --security development localhost/busybox:latest true 2>&1); rc=$?
expect_eq "development mode runs" "$rc" "0"
expect_contains "development mode warns" "$out" "WITHOUT the jail"

expect_no_leftovers "jail"
t_done
