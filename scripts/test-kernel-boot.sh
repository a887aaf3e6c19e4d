#!/usr/bin/env bash
# Manual check of the guest kernel: boots it under QEMU microvm (TCG) with the
# device set the runtime uses (serial console, virtio-serial port
# "boxlite.agent", virtio-blk with a raw ext4, 9p share, user-mode NIC) and a
# busybox initramfs that reports what it sees, then reboots (QEMU exits
# because of -no-reboot).
#
# Usage: scripts/test-kernel-boot.sh [VMLINUX]
#   VMLINUX defaults to the one scripts/build-kernel.sh builds (cached).
# Environment:
#   BOXLITE_TEST_APPEND  kernel command line (default: the one recommended for
#                        TCG in kernel/boxlite.config)
#   BOXLITE_TEST_SMP     number of vCPUs (default 1)
#   BOXLITE_TEST_MACHINE QEMU -M value (default: the one in ENVIRONMENT.md)
#   BOXLITE_TEST_VERBOSE=1  print the whole console log
#
# Succeeds if the guest prints BOOT-OK, sees the agent port, the disk and the
# share, and QEMU exits by itself within 30 s. Prints the guest uptime at
# which /init ran and the wall time of the QEMU process.
set -euo pipefail

die() { printf 'test-kernel-boot: FAIL: %s\n' "$*" >&2; exit 1; }

root=$(dirname -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")")
append=${BOXLITE_TEST_APPEND:-console=ttyS0 quiet panic=-1 reboot=t tsc=reliable no_timer_check noreplace-smp noapictimer}
smp=${BOXLITE_TEST_SMP:-1}
machine=${BOXLITE_TEST_MACHINE:-microvm,x-option-roms=off,isa-serial=on,rtc=off,acpi=off}

for tool in qemu-system-x86_64 busybox mke2fs cpio gzip timeout readelf; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps.sh)"
done
busybox=$(command -v busybox)
readelf -l "$busybox" 2>/dev/null | grep -q 'INTERP' &&
  die "$busybox is dynamically linked: install busybox-static"

work=$(mktemp -d "${TMPDIR:-/tmp}/boxlite-kboot.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

if [ $# -ge 1 ]; then
  vmlinux=$1
else
  vmlinux=$work/vmlinux
  "$root/scripts/build-kernel.sh" "$vmlinux"
fi
[ -r "$vmlinux" ] || die "no kernel at $vmlinux"

# initramfs: busybox and an /init script. No /dev/console node is needed:
# /init mounts devtmpfs and reopens its stdio on the console itself.
mkdir -p "$work/initramfs/bin" "$work/initramfs/"{dev,proc,sys,mnt/host,mnt/disk}
cp "$busybox" "$work/initramfs/bin/busybox"
cat >"$work/initramfs/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "BOOT-OK uptime=$(cut -d' ' -f1 /proc/uptime) cpus=$(grep -c ^processor /proc/cpuinfo)"
for f in /sys/class/virtio-ports/*/name; do echo "PORT $f=$(cat "$f")"; done
up() { cut -d' ' -f1 /proc/uptime; }
t=$(up); ls -l /dev/vda && mount -t ext4 /dev/vda /mnt/disk && echo "DISK $(cat /mnt/disk/disk.txt) ($t-$(up) s)"
t=$(up); mount -t 9p -o trans=virtio,version=9p2000.L hostshare /mnt/host && echo "SHARE $(cat /mnt/host/share.txt) ($t-$(up) s)"
ip link show eth0 >/dev/null 2>&1 && echo "NET eth0"
echo "CPUFLAGS $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)"
echo "RANDOM $(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "END uptime=$(cut -d' ' -f1 /proc/uptime)"
reboot -f
EOF
chmod 0755 "$work/initramfs/init"
(cd "$work/initramfs" && find . | cpio -o -H newc --quiet | gzip -1 >"$work/initrd.cpio.gz")

mkdir -p "$work/disk" "$work/share"
echo disk-ok >"$work/disk/disk.txt"
echo share-ok >"$work/share/share.txt"
mke2fs -q -t ext4 -b 4096 -d "$work/disk" "$work/disk.ext4" 16M >/dev/null

start=$(date +%s.%N)
set +e
timeout 30 qemu-system-x86_64 \
  -M "$machine" \
  -accel tcg -cpu max -m 256 -smp "$smp" -nodefaults -no-user-config -nographic -no-reboot \
  -serial stdio -kernel "$vmlinux" -initrd "$work/initrd.cpio.gz" -append "$append" \
  -chardev socket,id=agent,path="$work/agent.sock",server=on,wait=off \
  -device virtio-serial-device -device virtserialport,chardev=agent,name=boxlite.agent \
  -drive id=root,file="$work/disk.ext4",format=raw,if=none -device virtio-blk-device,drive=root \
  -fsdev local,id=fs0,path="$work/share",security_model=none \
  -device virtio-9p-device,fsdev=fs0,mount_tag=hostshare \
  -netdev user,id=n0 -device virtio-net-device,netdev=n0 \
  -qmp unix:"$work/qmp.sock",server=on,wait=off \
  </dev/null >"$work/console.log" 2>&1
rc=$?
set -e
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')

tr -d '\r' <"$work/console.log" >"$work/console.txt"
if [ "${BOXLITE_TEST_VERBOSE:-0}" = 1 ]; then cat "$work/console.txt"; fi

[ "$rc" -ne 124 ] || { cat "$work/console.txt"; die "QEMU did not exit within 30 s"; }
[ "$rc" -eq 0 ] || { cat "$work/console.txt"; die "QEMU exited with status $rc"; }
fail=
grep -q '^BOOT-OK' "$work/console.txt" || fail="$fail BOOT-OK"
grep -q '^PORT .*=boxlite.agent$' "$work/console.txt" || fail="$fail agent-port"
grep -q '^DISK disk-ok ' "$work/console.txt" || fail="$fail disk"
grep -q '^SHARE share-ok ' "$work/console.txt" || fail="$fail 9p"
grep -q '^NET eth0$' "$work/console.txt" || fail="$fail net"
[ -z "$fail" ] || { cat "$work/console.txt"; die "missing:$fail"; }

init_at=$(sed -n 's/^BOOT-OK uptime=\([0-9.]*\).*/\1/p' "$work/console.txt")
end_at=$(sed -n 's/^END uptime=\([0-9.]*\).*/\1/p' "$work/console.txt")
echo "test-kernel-boot: OK: /init at ${init_at} s guest uptime, checks done at ${end_at} s, QEMU wall ${wall} s"
echo "test-kernel-boot: cmdline: $append"
