#!/usr/bin/env bash
# Clones of a stopped box (docs/snapshots.md): three thin copies, each with
# the source's data and its own hostname, writes kept apart, the source
# removable, the errors, and a clone cut short by a crash undone at the next
# open. Real boxes. (Clones of a running box: snapshot_live.sh.)
. "$(dirname "$0")/lib.sh"

IMG=localhost/busybox:latest
"$BOXLITE" create --name src "$IMG" >/dev/null || fail "create"
"$BOXLITE" exec src -- sh -c 'echo data > /root/f; head -c 8388608 /dev/urandom > /root/rnd; sync' || fail "write"
sum=$("$BOXLITE" exec src -- md5sum /root/rnd | cut -d' ' -f1)
"$BOXLITE" stop src >/dev/null

ids=$("$BOXLITE" clone src --name c -n 3) || fail "clone -n 3"
expect_eq "three clones" "$(echo "$ids" | wc -l)" 3
hosts=""
for c in c-1 c-2 c-3; do
	expect_eq "$c has the data" "$("$BOXLITE" exec $c -- cat /root/f)" data
	expect_eq "$c has every byte" "$("$BOXLITE" exec $c -- md5sum /root/rnd | cut -d' ' -f1)" "$sum"
	hosts="$hosts $("$BOXLITE" exec $c -- hostname)"
	"$BOXLITE" exec $c -- sh -c "echo $c > /root/f; sync"
	"$BOXLITE" stop $c >/dev/null
done
expect_eq "three hostnames" "$(echo $hosts | tr ' ' '\n' | sort -u | wc -l)" 3
expect_eq "the source keeps its own data" "$("$BOXLITE" exec src -- cat /root/f)" data
"$BOXLITE" stop src >/dev/null
expect_eq "clones keep theirs" "$("$BOXLITE" exec c-2 -- cat /root/f)" c-2
"$BOXLITE" stop c-2 >/dev/null
# Thin: 8 MiB written in the source, a clone's own disk holds its few writes.
for id in $ids; do
	kb=$(du -k "$BOXLITE_HOME/boxes/$id/disk.qcow2" | cut -f1)
	[ "$kb" -lt 4096 ] && pass "clone $id is thin (${kb} KiB)" || fail "clone $id takes ${kb} KiB"
done

# The source can go; the clones keep working.
"$BOXLITE" rm -f src >/dev/null
expect_eq "a clone after the source is gone" "$("$BOXLITE" exec c-1 -- md5sum /root/rnd | cut -d' ' -f1)" "$sum"
"$BOXLITE" stop c-1 >/dev/null

# A taken name: no clone is left behind.
before=$("$BOXLITE" ls -aq | wc -l)
out=$("$BOXLITE" clone c-1 --name c-2 2>&1); rc=$?
expect_eq "a taken name is refused" "$rc" 125
expect_eq "no clone left" "$("$BOXLITE" ls -aq | wc -l)" "$before"
expect_eq "the source of that clone still works" "$("$BOXLITE" exec c-1 -- cat /root/f)" c-1
"$BOXLITE" stop c-1 >/dev/null

# A crash after the disk moved to a base and before any clone was recorded.
id=$("$BOXLITE" inspect -f '{{.Id}}' c-3)
dir="$BOXLITE_HOME/boxes/$id"
mkdir -p "$BOXLITE_HOME/bases"
mv "$dir/disk.qcow2" "$BOXLITE_HOME/bases/crashed1.qcow2"
printf crashed1 > "$dir/clone.pending"
"$BOXLITE" ls -a >/dev/null
[ -f "$dir/disk.qcow2" ] && [ ! -e "$dir/clone.pending" ] && [ ! -e "$BOXLITE_HOME/bases/crashed1.qcow2" ] &&
	pass "a cut-short clone is undone" || fail "a cut-short clone was not undone"
expect_eq "its disk intact" "$("$BOXLITE" exec c-3 -- cat /root/f)" c-3

"$BOXLITE" rm -f c-1 c-2 c-3 >/dev/null
# Anonymous volumes: each clone gets its own copy.
"$BOXLITE" create --name av -v /data "$IMG" >/dev/null || fail "create with an anonymous volume"
"$BOXLITE" exec av -- sh -c 'echo vol > /data/v; sync' || fail "write the volume"
"$BOXLITE" clone av --name avc >/dev/null || fail "clone of a box with an anonymous volume"
expect_eq "the clone has the volume's data" "$("$BOXLITE" exec avc -- cat /data/v)" vol
"$BOXLITE" exec avc -- sh -c 'echo clone > /data/v; sync'
expect_eq "the source's volume stays its own" "$("$BOXLITE" exec av -- cat /data/v)" vol
"$BOXLITE" rm -f avc >/dev/null
expect_eq "removing the clone keeps the source's volume" "$("$BOXLITE" exec av -- cat /data/v)" vol
"$BOXLITE" rm -f av >/dev/null
expect_eq "no anonymous volume left" "$(ls "$BOXLITE_HOME/volumes/anonymous" 2>/dev/null | wc -l)" 0
expect_no_leftovers "clones"
[ "$FAILS" -eq 0 ]
