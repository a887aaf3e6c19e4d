#!/usr/bin/env bash
# Checkpoints (docs/checkpoints.md): a running box saved to disk and
# stopped (its QEMU and shim gone), then resumed where it was: the main
# command's counter goes on from its value, not from 0, and what it had in
# /tmp and in tmpfs (/dev/shm: memory only) is there. A restore drops the checkpoint; a damaged one, or a save
# cut short, is not resumed and the box boots from its disk. Real boxes.
. "$(dirname "$0")/lib.sh"

IMG=localhost/busybox:latest
"$BOXLITE" run -d --name c "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i > /root/c.new; mv /root/c.new /root/c; echo $i; sleep 0.1; done' >/dev/null || fail "run -d"
for i in $(seq 100); do "$BOXLITE" exec c -- test -s /root/c 2>/dev/null && break; sleep 0.1; done
"$BOXLITE" exec c -- sh -c 'echo kept > /tmp/t; echo shm > /dev/shm/s' || fail "write /tmp and /dev/shm"
sleep 1
"$BOXLITE" checkpoint c >/dev/null || fail "checkpoint"
id=$("$BOXLITE" inspect -f '{{.Id}}' c)
dir="$BOXLITE_HOME/boxes/$id"
expect_eq "checkpointed: stopped" "$("$BOXLITE" inspect -f '{{.State.Status}}' c)" stopped
k=$("$BOXLITE" logs c | tail -1)
expect_no_leftovers "checkpointed"
[ -s "$dir/checkpoint.state" ] && pass "checkpointed: its state is on disk" || fail "no checkpoint.state"
"$BOXLITE" start c >/dev/null || fail "start (resume)"
n1=$("$BOXLITE" exec c -- cat /root/c)
sleep 1
n2=$("$BOXLITE" exec c -- cat /root/c)
[ "$n1" -ge "$k" ] && [ "$k" -gt 5 ] && [ "$n2" -gt "$n1" ] &&
	pass "resumed: the counter goes on from $k ($n1 -> $n2), not from 0" || fail "resumed: counter $k, then $n1 -> $n2"
expect_eq "resumed: /tmp kept" "$("$BOXLITE" exec c -- cat /tmp/t)" kept
expect_eq "resumed: tmpfs (/dev/shm) kept: the memory came back" "$("$BOXLITE" exec c -- cat /dev/shm/s)" shm
[ ! -e "$dir/checkpoint.state" ] && pass "resumed: the checkpoint is used up" || fail "checkpoint.state left"
logs=$("$BOXLITE" logs c | tail -1)
[ "$logs" -ge "$n1" ] 2>/dev/null && pass "resumed: the main command's output goes on in its log" ||
	fail "log ends with '$logs'"

# A damaged checkpoint (or one whose disk changed) is not resumed: the box
# boots from its disk, its main command starts over.
"$BOXLITE" checkpoint c >/dev/null || fail "checkpoint again"
truncate -s 4096 "$dir/checkpoint.state"
"$BOXLITE" start c >/dev/null || fail "start with a damaged checkpoint"
sleep 0.5
n3=$("$BOXLITE" exec c -- cat /root/c)
[ ! -e "$dir/checkpoint.state" ] && pass "damaged: dropped, the box booted cold" || fail "damaged checkpoint kept"
expect_eq "damaged: tmpfs is gone with the memory" "$("$BOXLITE" exec c -- sh -c 'cat /dev/shm/s 2>/dev/null || echo none')" none
"$BOXLITE" snapshot create c s >/dev/null 2>&1 || true
"$BOXLITE" checkpoint c >/dev/null || fail "checkpoint a third time"
"$BOXLITE" snapshot restore c s >/dev/null || fail "restore"
[ ! -e "$dir/checkpoint.state" ] && pass "restore drops the checkpoint" || fail "checkpoint kept after restore"
# A save cut short leaves only its temporary: ignored and swept.
echo junk > "$dir/checkpoint.state.tmp"
"$BOXLITE" start c >/dev/null || fail "start after a cut-short save"
[ ! -e "$dir/checkpoint.state.tmp" ] && pass "a cut-short save is swept" || fail "checkpoint.state.tmp left"
# Checkpoints right after starts (frames queued in the guest at the save).
for i in 1 2 3; do
	"$BOXLITE" checkpoint c >/dev/null && "$BOXLITE" start c >/dev/null || fail "checkpoint right after a start ($i)"
done
"$BOXLITE" exec c -- true && pass "checkpoints right after starts: the box runs" || fail "the box does not run"
# Export with its state: the imported box resumes where the exported one was.
"$BOXLITE" exec c -- sh -c 'echo moved > /dev/shm/m'
"$BOXLITE" export c --with-state -o "$T_HOME/c.boxlite" >/dev/null || fail "export --with-state"
expect_eq "export --with-state checkpointed the box" "$("$BOXLITE" inspect -f '{{.State.Status}}' c)" stopped
members=$(zstd -dc "$T_HOME/c.boxlite" | tar -tf - | tr '\n' ' ')
expect_eq "the archive carries the checkpoint" "$members" "disk.qcow2 checkpoint.state manifest.json "
"$BOXLITE" import "$T_HOME/c.boxlite" --name moved >/dev/null || fail "import with state"
"$BOXLITE" start moved >/dev/null || fail "start the imported box"
expect_eq "the imported box resumed: its tmpfs came along" "$("$BOXLITE" exec moved -- cat /dev/shm/m)" moved
"$BOXLITE" rm -f moved >/dev/null
"$BOXLITE" start c >/dev/null || fail "the exported box resumes too"
expect_eq "and so does the exported one" "$("$BOXLITE" exec c -- cat /dev/shm/m)" moved
out=$("$BOXLITE" checkpoint nosuch 2>&1); rc=$?
expect_eq "no such box" "$rc" 125
"$BOXLITE" stop c >/dev/null
out=$("$BOXLITE" checkpoint c 2>&1); rc=$?
expect_eq "a stopped box is refused" "$rc" 125
expect_contains "a stopped box: says why" "$out" "only a running box"
"$BOXLITE" rm -f c >/dev/null
expect_no_leftovers "checkpoint"
[ "$FAILS" -eq 0 ]
