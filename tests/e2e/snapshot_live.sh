#!/usr/bin/env bash
# Snapshots and clones of a running box (docs/snapshots.md, "Running
# boxes"): taken while the box writes, the guest's root frozen for the
# moment, the snapshot a clean filesystem (e2fsck on the host), the box
# running on; clones of a running box; restore and remove refused while it
# runs; the states a kill -9 can leave, completed or undone. Real boxes.
. "$(dirname "$0")/lib.sh"

IMG=localhost/busybox:latest
box_dir() { echo "$BOXLITE_HOME/boxes/$("$BOXLITE" inspect -f '{{.Id}}' "$1")"; }
snap_id() { "$BOXLITE" snapshot ls "$1" | awk -v n="$2" '$2 == n { print $1 }'; }

# A box that writes all the time: a counter and 256 KiB files in turn.
"$BOXLITE" run -d --name w "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /root/n.new; mv /root/n.new /root/n;
	dd if=/dev/urandom of=/root/blob.$((i % 8)) bs=64k count=4 2>/dev/null; done' >/dev/null || fail "run -d"
for i in $(seq 100); do "$BOXLITE" exec w -- test -s /root/n 2>/dev/null && break; sleep 0.1; done
expect_eq "snapshot of a running box" "$("$BOXLITE" snapshot create w live1)" live1
a=$("$BOXLITE" exec w -- cat /root/n)
sleep 1
b=$("$BOXLITE" exec w -- cat /root/n)
[ "$b" -gt "$a" ] && pass "the box writes on after the snapshot ($a -> $b)" || fail "the box stopped writing ($a -> $b)"
"$BOXLITE" snapshot create w live2 >/dev/null || fail "a second snapshot of the running box"
expect_eq "both listed" "$("$BOXLITE" snapshot ls w | awk 'NR > 1 { print $2 }' | tr '\n' ' ')" "live2 live1 "

out=$("$BOXLITE" snapshot restore w live1 2>&1); rc=$?
expect_eq "restore of a running box refused" "$rc" 125
expect_contains "restore message" "$out" "stop it"
out=$("$BOXLITE" snapshot rm w live1 2>&1); rc=$?
expect_eq "remove on a running box refused" "$rc" 125
# A running box that stands on its snapshots: cloned and exported too (its
# top frozen into a layer of its own; the clone's base a standalone copy).
"$BOXLITE" clone w --name wc >/dev/null || fail "clone of a running box standing on its snapshots"
"$BOXLITE" export w -o "$T_HOME/w.boxlite" >/dev/null || fail "export of a running box standing on its snapshots"
"$BOXLITE" stop w >/dev/null || fail "stop"

# Each snapshot is a clean filesystem: frozen, not merely crash-consistent.
dir=$(box_dir w)
for s in live1 live2; do
	qemu-img convert -O raw "$dir/snapshots/$(snap_id w $s)/disk.qcow2" "$T_HOME/$s.raw" || fail "convert $s"
	out=$(e2fsck -fn "$T_HOME/$s.raw" 2>&1); rc=$?
	expect_eq "$s is a clean ext4 (e2fsck -fn)" "$rc" 0
	[ "$rc" -eq 0 ] || echo "$out" | tail -5 >&2
	eval "n_$s=\$(debugfs -R 'cat /root/n' \"\$T_HOME/\$s.raw\" 2>/dev/null)"
	rm -f "$T_HOME/$s.raw"
done
[ ! -e "$dir/disk.live" ] && [ -z "$(ls "$dir" | grep -E '^disk\..{8}\.qcow2$')" ] &&
	pass "stopped: the disk is back in its resting layout" || fail "stopped: $(ls "$dir")"
[ -n "$n_live1" ] && [ "$n_live1" -le "$a" ] && [ "$n_live1" -le "$n_live2" ] &&
	pass "the snapshots hold the counter of their moment ($n_live1 <= $a, $n_live2)" ||
	fail "counters: live1 '$n_live1', live2 '$n_live2', read after live1: $a"
"$BOXLITE" snapshot rm w live1 >/dev/null || fail "remove live1 under the layers"
qemu-img check -q "$dir/disk.qcow2" && pass "the chain is whole after removing live1" || fail "chain after rm live1"
"$BOXLITE" snapshot restore w live2 >/dev/null || fail "restore live2"
"$BOXLITE" start w >/dev/null || fail "start after restore"
expect_eq "restored: the blobs are there" "$("$BOXLITE" exec w -- sh -c 'ls /root/blob.* | wc -l')" 8
"$BOXLITE" rm -f w >/dev/null
"$BOXLITE" start wc >/dev/null || fail "start the clone"
expect_eq "the clone outlives its source and its snapshots" "$("$BOXLITE" exec wc -- sh -c 'ls /root/blob.* | wc -l')" 8
"$BOXLITE" import "$T_HOME/w.boxlite" --name wi >/dev/null || fail "import"
"$BOXLITE" start wi >/dev/null || fail "start the import"
expect_eq "the export of it imports" "$("$BOXLITE" exec wi -- sh -c 'ls /root/blob.* | wc -l')" 8
"$BOXLITE" rm -f wc wi >/dev/null

# Clones of a running box: the data written before, their own hostname;
# the source runs on and writes apart.
"$BOXLITE" run -d --name src "$IMG" sleep 600 >/dev/null
"$BOXLITE" exec src -- sh -c 'echo before > /root/f; head -c 4194304 /dev/urandom > /root/rnd; sync'
sum=$("$BOXLITE" exec src -- md5sum /root/rnd | cut -d' ' -f1)
ids=$("$BOXLITE" clone src --name rc -n 2) || fail "clone -n 2 of a running box"
expect_eq "two clones" "$(echo "$ids" | wc -l)" 2
"$BOXLITE" exec src -- sh -c 'echo after > /root/f; sync' || fail "the source runs on"
for c in rc-1 rc-2; do
	"$BOXLITE" start $c >/dev/null || fail "start $c"
	expect_eq "$c has the data" "$("$BOXLITE" exec $c -- cat /root/f)" before
	expect_eq "$c has every byte" "$("$BOXLITE" exec $c -- md5sum /root/rnd | cut -d' ' -f1)" "$sum"
	expect_eq "$c has its own hostname" "$("$BOXLITE" exec $c -- hostname)" "$("$BOXLITE" inspect -f '{{.Id}}' $c | cut -c1-12)"
done
"$BOXLITE" snapshot create src s >/dev/null || fail "snapshot of a running clone source"
"$BOXLITE" rm -f src >/dev/null
expect_eq "a clone outlives its running source" "$("$BOXLITE" exec rc-2 -- cat /root/f)" before
"$BOXLITE" rm -f rc-1 rc-2 >/dev/null

# kill -9 of `snapshot create` at moments along its way, the box running:
# the next operation settles what each left (completed or undone), and
# after a stop every layer is listed, every listed layer is whole, nothing
# else is left.
"$BOXLITE" run -d --name kk "$IMG" sh -c 'while :; do date > /root/t.new; mv /root/t.new /root/t; sync; sleep 0.05; done' >/dev/null
for d in 0 0.01 0.02 0.03 0.05 0.08 0.12; do
	"$BOXLITE" snapshot create kk "k$d" >/dev/null 2>&1 &
	pid=$!
	sleep $d
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
done
"$BOXLITE" snapshot create kk after >/dev/null || fail "a snapshot after the kills"
"$BOXLITE" stop kk >/dev/null
dir=$(box_dir kk)
"$BOXLITE" ls -a >/dev/null
listed=$("$BOXLITE" snapshot ls kk | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')
ondisk=$(ls "$dir/snapshots" | sort | tr '\n' ' ')
expect_eq "after kill -9s: every layer on disk is listed, and only those ($(echo $listed | wc -w) of 8 kept)" "$ondisk" "$listed"
left=$(ls "$dir" | grep -E 'pending|disk\.live|^disk\..{8}\.qcow2$')
expect_eq "after kill -9s: no marker, no stray overlay" "$left" ""
qemu-img check -q "$dir/disk.qcow2" && pass "after kill -9s: the disk checks clean" || fail "qemu-img check"
for s in $listed; do qemu-img check -q "$dir/snapshots/$s/disk.qcow2" || fail "snapshot layer $s is damaged"; done
"$BOXLITE" start kk >/dev/null && "$BOXLITE" exec kk -- test -s /root/t && pass "after kill -9s: the box runs" ||
	fail "after kill -9s: the box does not run"
"$BOXLITE" rm -f kk >/dev/null

# The states a kill -9 of the caller can leave (the shim gone too):
# before the switch (link and overlay made, no disk.live): undone;
# after it (disk.live names the overlay, no store row): completed.
"$BOXLITE" create --name k "$IMG" >/dev/null
"$BOXLITE" exec k -- sh -c 'echo kept > /root/f; sync'
"$BOXLITE" stop k >/dev/null
dir=$(box_dir k)
crash_state() { # ID SWITCHED
	mkdir -p "$dir/snapshots/$1"
	ln "$dir/disk.qcow2" "$dir/snapshots/$1/disk.qcow2"
	qemu-img create -q -f qcow2 -b "$dir/snapshots/$1/disk.qcow2" -F qcow2 "$dir/disk.$1.qcow2"
	printf '%s\nname-%s' "$1" "$1" > "$dir/snapshot.pending"
	[ "$2" = 1 ] && printf '%s' "$dir/disk.$1.qcow2" > "$dir/disk.live"
	true
}
crash_state crashaaa 0
"$BOXLITE" ls -a >/dev/null
[ ! -e "$dir/snapshots/crashaaa" ] && [ ! -e "$dir/disk.crashaaa.qcow2" ] && [ ! -e "$dir/snapshot.pending" ] &&
	pass "cut short before the switch: undone" || fail "before the switch: $(ls -R "$dir")"
expect_eq "nothing listed" "$("$BOXLITE" snapshot ls k | wc -l)" 1
crash_state crashbbb 1
"$BOXLITE" ls -a >/dev/null
expect_eq "cut short after the switch: completed and listed" "$("$BOXLITE" snapshot ls k | awk 'NR > 1 { print $2 }')" name-crashbbb
[ ! -e "$dir/disk.live" ] && [ ! -e "$dir/snapshot.pending" ] && pass "no marker left" || fail "markers left"
expect_eq "the disk after completion" "$("$BOXLITE" exec k -- cat /root/f)" kept
"$BOXLITE" rm -f k >/dev/null
expect_no_leftovers "live snapshots"
[ "$FAILS" -eq 0 ]
