#!/usr/bin/env bash
# Warm start's memory (docs/architecture.md, "Warm start"): a clone maps its
# template's RAM file read-only and copy-on-write instead of loading the RAM
# from a stream. Two idle clones: each QEMU holds less anonymous memory than
# its guest RAM; with a RAM-file template (QEMU >= 8.2) they share its pages
# (a clone's PSS of the file is below its RSS of it), each holds the file
# open read-only (jailed: through a read-only bind mount, as a uid that cannot
# write it), the file never changes, and what one guest writes in RAM the
# other does not see. Nothing left running.
. "$(dirname "$0")/lib.sh"
export BOXLITE_WARM_START=1
IMG=localhost/busybox:latest
MEM_MIB=512

warm() { grep -q 'from a template' "$BOXLITE_HOME/boxes/$1/shim.stderr" &&
	 ! grep -q 'booting cold' "$BOXLITE_HOME/boxes/$1/shim.stderr"; }
qemu_pid() {
	"$BOXLITE" ls -a --format json | /usr/bin/python3 -c "
import json, sys
print(next(b['qemu_pid'] for b in json.load(sys.stdin) if b['id'] == sys.argv[1]))" "$1"
}
# rollup PID FIELD: a field of /proc/PID/smaps_rollup, in kB.
rollup() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/smaps_rollup"; }
# file_map PID PATH FIELD: FIELD (kB) of PID's mapping of PATH.
file_map() {
	awk -v p="$2" -v f="$3:" '/^[0-9a-f]+-[0-9a-f]+ / {m = ($NF == p)} m && $1 == f {print $2; exit}' \
		"/proc/$1/smaps"
}
ram_file=0
qemu-system-x86_64 -object memory-backend-file,help 2>/dev/null | grep -q '^ *rom=' && ram_file=1

A=$("$BOXLITE" run -d --memory $MEM_MIB $IMG sleep 600)
B=$("$BOXLITE" run -d --memory $MEM_MIB $IMG sleep 600)
warm "$A" && warm "$B" && pass "both boxes cloned the template" \
	|| fail "not warm: $(cat "$BOXLITE_HOME/boxes/$A/shim.stderr" "$BOXLITE_HOME/boxes/$B/shim.stderr")"
expect_eq "a clone answers exec" "$("$BOXLITE" exec "$A" echo alive)" "alive"
expect_eq "the other too" "$("$BOXLITE" exec "$B" echo alive)" "alive"
QA=$(qemu_pid "$A"); QB=$(qemu_pid "$B")
[ -n "$QA" ] && [ -n "$QB" ] && [ -d "/proc/$QA" ] && [ -d "/proc/$QB" ] && pass "both QEMUs found" \
	|| fail "QEMU pids '$QA' '$QB'"

# An idle clone's own memory is what its guest wrote, not its whole RAM.
anon=$(rollup "$QA" Anonymous)
[ -n "$anon" ] && [ "$anon" -lt $((MEM_MIB * 1024)) ] \
	&& pass "idle clone's QEMU: $((anon / 1024)) MiB anonymous, below its $MEM_MIB MiB of guest RAM" \
	|| fail "idle clone's QEMU has $anon kB anonymous for $MEM_MIB MiB of guest RAM"

if [ "$ram_file" = 1 ]; then
	RAM=$(ls "$BOXLITE_HOME"/templates/*/ram)
	sum0=$(sha256sum < "$RAM")
	expect_eq "template RAM file is read-only for everyone" "$(stat -c %a "$RAM")" "444"
	rss=$(file_map "$QA" "$RAM" Rss); pss=$(file_map "$QA" "$RAM" Pss)
	[ -n "$rss" ] && [ "$rss" -gt 0 ] && [ "$pss" -lt "$rss" ] \
		&& pass "clones share the template's pages (file RSS $rss kB, PSS $pss kB)" \
		|| fail "template pages not shared: file RSS '$rss' kB, PSS '$pss' kB"
	grep -q " rw-p .* $RAM\$" "/proc/$QA/maps" && pass "the RAM file is mapped private" \
		|| fail "no private mapping of $RAM: $(grep "$RAM" "/proc/$QA/maps")"
	# The fd QEMU keeps for its RAM: opened read-only (flags' access mode 0).
	rdonly=""
	for fd in /proc/"$QA"/fd/*; do
		[ "$(readlink "$fd")" = "$RAM" ] || continue
		flags=$(awk '/^flags:/ {print $2}' "/proc/$QA/fdinfo/${fd##*/}")
		rdonly=$(( 0$flags & 3 ))
	done
	expect_eq "QEMU holds the RAM file open read-only" "$rdonly" "0"
	uid=$(awk '/^Uid:/ {print $2}' "/proc/$QA/status")
	if [ "$(id -u)" = 0 ] && [ "$uid" != 0 ]; then
		# Jailed: the file is bound read-only into QEMU's root, and QEMU's
		# uid could not write it even if it were not.
		expect_contains "bound read-only in the jail" \
			"$(awk -v p="$RAM" '$5 == p {print $6}' "/proc/$QA/mountinfo")" "ro"
		setpriv --reuid="$uid" --regid="$uid" --clear-groups sh -c "echo x >> '$RAM'" 2>/dev/null \
			&& fail "QEMU's uid $uid could write the template RAM file" \
			|| pass "QEMU's uid cannot write the template RAM file"
	fi
	# A guest's RAM writes stay its own: a tmpfs file (RAM only) in A, and
	# 32 MiB more of it, are not in B; the template file is unchanged.
	"$BOXLITE" exec "$A" sh -c 'echo secret-a > /dev/shm/marker; dd if=/dev/urandom of=/dev/shm/big bs=1M count=32 2>/dev/null'
	expect_eq "A sees its own write" "$("$BOXLITE" exec "$A" cat /dev/shm/marker)" "secret-a"
	expect_eq "B does not see A's RAM" "$("$BOXLITE" exec "$B" sh -c 'cat /dev/shm/marker 2>/dev/null || echo absent')" "absent"
	anon_a=$(rollup "$QA" Anonymous); anon_b=$(rollup "$QB" Anonymous)
	[ "$anon_a" -gt $((anon_b + 16 * 1024)) ] && pass "A's writes are A's own memory ($((anon_a / 1024)) vs $((anon_b / 1024)) MiB)" \
		|| fail "A's 32 MiB of writes: A has $anon_a kB anonymous, B $anon_b kB"
	expect_eq "template RAM file unchanged" "$(sha256sum < "$RAM")" "$sum0"
else
	pass "QEMU < 8.2: the template's RAM is in its stream (no RAM file to check)"
fi

"$BOXLITE" rm -f "$A" "$B" >/dev/null
expect_no_leftovers "warm memory"
t_done
