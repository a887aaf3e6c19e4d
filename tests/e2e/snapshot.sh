#!/usr/bin/env bash
# Disk snapshots (docs/snapshots.md): take, change, restore, remove any of a
# stack, the errors, and a snapshot cut short by a crash undone at the next
# open. Real boxes.
. "$(dirname "$0")/lib.sh"

IMG=localhost/busybox:latest
in_box() { "$BOXLITE" exec s1 -- sh -c "$1" && "$BOXLITE" stop s1 >/dev/null; }

"$BOXLITE" create --name s1 "$IMG" >/dev/null || fail "create"
in_box 'echo first > /root/f; sync'
expect_eq "snapshot create" "$("$BOXLITE" snapshot create s1 one)" one
in_box 'echo second > /root/f; sync'
"$BOXLITE" snapshot create s1 two >/dev/null
in_box 'echo third > /root/f; sync'
ls_out=$("$BOXLITE" snapshot ls s1)
expect_eq "two snapshots, newest first" "$(echo "$ls_out" | awk 'NR > 1 { print $2 }' | tr '\n' ' ')" "two one "

"$BOXLITE" snapshot restore s1 one >/dev/null
expect_eq "restore one" "$("$BOXLITE" exec s1 -- cat /root/f)" first
"$BOXLITE" stop s1 >/dev/null
"$BOXLITE" snapshot restore s1 two >/dev/null
expect_eq "restore two" "$("$BOXLITE" exec s1 -- cat /root/f)" second

# The image stays in use while only a snapshot layer backs onto it.
out=$("$BOXLITE" rmi "$IMG" 2>&1); rc=$?
expect_eq "rmi refused while snapshots use the image" "$rc" 125
expect_contains "rmi names the box" "$out" "$("$BOXLITE" ls -aq | head -1)"

# Errors: restore on a running box, a taken name, a bad name, no such
# snapshot. (Snapshots of a running box: snapshot_live.sh.)
out=$("$BOXLITE" snapshot restore s1 one 2>&1); rc=$?
expect_eq "restore on a running box refused" "$rc" 125
expect_contains "running box message" "$out" "stop it"
"$BOXLITE" stop s1 >/dev/null
out=$("$BOXLITE" snapshot create s1 one 2>&1); rc=$?
expect_eq "taken name refused" "$rc" 125
expect_contains "taken name message" "$out" "already has a snapshot named one"
out=$("$BOXLITE" snapshot create s1 ../x 2>&1)
expect_contains "bad name" "$out" "bad snapshot name"
out=$("$BOXLITE" snapshot restore s1 nope 2>&1)
expect_contains "no such snapshot" "$out" "no snapshot named nope"

# Removing the older one first: the newer one and the disk keep their content.
"$BOXLITE" snapshot rm s1 one >/dev/null || fail "rm one"
expect_eq "disk after rm one" "$("$BOXLITE" exec s1 -- cat /root/f)" second
"$BOXLITE" stop s1 >/dev/null
in_box 'echo fourth > /root/f; sync'
"$BOXLITE" snapshot restore s1 two >/dev/null
expect_eq "restore two after rm one" "$("$BOXLITE" exec s1 -- cat /root/f)" second
"$BOXLITE" stop s1 >/dev/null
"$BOXLITE" snapshot rm s1 two >/dev/null || fail "rm two"
expect_eq "no snapshots left" "$("$BOXLITE" snapshot ls s1 | wc -l)" 1
expect_eq "disk after rm two" "$("$BOXLITE" exec s1 -- cat /root/f)" second
"$BOXLITE" stop s1 >/dev/null

# A crash between moving the disk and recording the snapshot (the state a
# kill -9 leaves): the next open puts the disk back and lists nothing.
id=$("$BOXLITE" inspect -f '{{.Id}}' s1 2>/dev/null || "$BOXLITE" ls -aq | head -1)
dir="$BOXLITE_HOME/boxes/$id"
mkdir -p "$dir/snapshots/crashed1"
mv "$dir/disk.qcow2" "$dir/snapshots/crashed1/disk.qcow2"
printf crashed1 > "$dir/snapshot.pending"
"$BOXLITE" ls -a >/dev/null
[ -f "$dir/disk.qcow2" ] && [ ! -e "$dir/snapshot.pending" ] && [ ! -e "$dir/snapshots/crashed1" ] &&
	pass "a cut-short snapshot is undone" || fail "a cut-short snapshot was not undone"
expect_eq "disk intact after the undo" "$("$BOXLITE" exec s1 -- cat /root/f)" second
expect_eq "nothing listed after the undo" "$("$BOXLITE" snapshot ls s1 | wc -l)" 1

# Removing the box removes its snapshots.
"$BOXLITE" stop s1 >/dev/null
"$BOXLITE" snapshot create s1 last >/dev/null
"$BOXLITE" rm -f s1 >/dev/null
"$BOXLITE" create --name s1 "$IMG" >/dev/null
expect_eq "a new box of the same name has none" "$("$BOXLITE" snapshot ls s1 | wc -l)" 1
"$BOXLITE" rm -f s1 >/dev/null
expect_no_leftovers "snapshots"
[ "$FAILS" -eq 0 ]
