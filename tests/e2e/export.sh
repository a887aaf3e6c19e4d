#!/usr/bin/env bash
# Export and import (docs/snapshots.md, "Export and import"): a box's file
# and config through a .boxlite archive and back, of a stopped and of a
# running box; importing twice; archives tampered with, cut short, carrying
# ../ or a symlink, a disk with a backing file, a newer format: each refused
# with a clear error and nothing left behind; a kill -9 mid-export leaves no
# partial archive. Real boxes.
. "$(dirname "$0")/lib.sh"

IMG=localhost/busybox:latest
A="$T_HOME/a"
mkdir -p "$A"
# nothing_left WHAT: no new box, no staging directory, no stray base.
boxes_before=""
nothing_left() {
	expect_eq "$1: no box made" "$("$BOXLITE" ls -aq | sort | tr '\n' ' ')" "$boxes_before"
	expect_eq "$1: no staging left" "$(ls "$BOXLITE_HOME/tmp" 2>/dev/null | wc -l)" 0
	expect_eq "$1: no base left" "$(ls "$BOXLITE_HOME/bases" 2>/dev/null | wc -l)" "$bases_before"
}

"$BOXLITE" create --name src -e GREETING=hi "$IMG" >/dev/null || fail "create"
"$BOXLITE" exec src -- sh -c 'echo data > /root/f; head -c 3000000 /dev/urandom > /root/rnd; ln -s f /root/link; mkdir -p /root/d/e; chmod 700 /root/d; sync'
sum=$("$BOXLITE" exec src -- md5sum /root/rnd | cut -d' ' -f1)
"$BOXLITE" stop src >/dev/null
out=$("$BOXLITE" export src -o "$A") || fail "export"
expect_eq "export prints the file (a directory: NAME.boxlite)" "$out" "$A/src.boxlite"
members=$(zstd -dc "$A/src.boxlite" | tar -tf - | tr '\n' ' ')
expect_eq "a zstd tar of a disk and a manifest" "$members" "disk.qcow2 manifest.json "
man=$(zstd -dc "$A/src.boxlite" | tar -xOf - manifest.json)
expect_contains "manifest: version" "$man" '"version": 5'
expect_contains "manifest: image" "$man" '"image": "localhost/busybox:latest"'
expect_contains "manifest: digest" "$man" '"image_digest": "sha256:'
expect_contains "manifest: checksum" "$man" '"container_disk_checksum": "sha256:'

"$BOXLITE" rm src >/dev/null
id=$("$BOXLITE" import "$A/src.boxlite" --name back) || fail "import"
expect_eq "import prints the new id" "$id" "$("$BOXLITE" inspect -f '{{.Id}}' back)"
expect_eq "the file is back" "$("$BOXLITE" exec back -- cat /root/f)" data
expect_eq "every byte" "$("$BOXLITE" exec back -- md5sum /root/rnd | cut -d' ' -f1)" "$sum"
expect_eq "symlinks and modes" "$("$BOXLITE" exec back -- sh -c 'readlink /root/link; stat -c %a /root/d')" "f
700"
expect_eq "the config is back" "$("$BOXLITE" exec back -- sh -c 'echo $GREETING')" hi
id2=$("$BOXLITE" import "$A/src.boxlite") || fail "import twice"
[ -n "$id2" ] && [ "$id2" != "$id" ] && pass "importing twice makes two boxes" || fail "second import: '$id2'"
"$BOXLITE" rm -f "$id2" >/dev/null

# A running box: exported while it runs; it runs on and keeps its writes apart.
"$BOXLITE" exec back -- sh -c 'echo live > /root/f; sync'
"$BOXLITE" export back -o "$A/live.boxlite" >/dev/null || fail "export of a running box"
"$BOXLITE" exec back -- sh -c 'echo after > /root/f; sync' || fail "the box runs on"
"$BOXLITE" import "$A/live.boxlite" --name copy >/dev/null || fail "import of the running box's archive"
expect_eq "the running box's archive holds its disk of that moment" "$("$BOXLITE" exec copy -- cat /root/f)" live
"$BOXLITE" rm -f copy >/dev/null
"$BOXLITE" stop back >/dev/null

# Bad archives: refused, nothing left.
boxes_before=$("$BOXLITE" ls -aq | sort | tr '\n' ' ')
bases_before=$(ls "$BOXLITE_HOME/bases" 2>/dev/null | wc -l)
mkdir -p "$A/x" && (cd "$A/x" && zstd -dc "$A/src.boxlite" | tar -xf -)
refused() { # WHAT FILE MESSAGE
	local out rc
	out=$("$BOXLITE" import "$2" --name bad 2>&1); rc=$?
	expect_eq "$1: refused" "$rc" 125
	expect_contains "$1: says why" "$out" "$3"
	nothing_left "$1"
}
# a flipped byte in the disk
cp "$A/x/disk.qcow2" "$A/disk.bad"
printf '\x55' | dd of="$A/disk.bad" bs=1 seek=2000000 conv=notrunc 2>/dev/null
(cd "$A" && cp x/manifest.json . && cp disk.bad disk.qcow2 && tar -cf - manifest.json disk.qcow2 | zstd -q > tampered.boxlite)
refused "tampered" "$A/tampered.boxlite" "does not match its checksum"
head -c $(( $(stat -c %s "$A/src.boxlite") / 2 )) "$A/src.boxlite" > "$A/cut.boxlite"
refused "cut short" "$A/cut.boxlite" "cut short"
python3 - "$A" <<'PY'
import io, sys, tarfile, json
a = sys.argv[1]
man = open(f"{a}/x/manifest.json", "rb").read()
def build(name, members):
    with tarfile.open(f"{a}/{name}", "w") as t:
        for n, data, kind in members:
            ti = tarfile.TarInfo(n)
            if kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
build("dotdot.boxlite", [("manifest.json", man, "f"), ("../evil", b"x", "f")])
build("symlink.boxlite", [("manifest.json", man, "f"), ("disk.qcow2", "/etc/shadow", "sym")])
newer = json.loads(man); newer["version"] = 99
build("newer.boxlite", [("manifest.json", json.dumps(newer).encode(), "f")])
PY
refused "a ../ member" "$A/dotdot.boxlite" 'unexpected member "../evil"'
[ ! -e "$A/evil" ] && [ ! -e "$BOXLITE_HOME/evil" ] && [ ! -e "$BOXLITE_HOME/tmp/evil" ] &&
	pass "../evil was written nowhere" || fail "../evil was written"
refused "a symlink member" "$A/symlink.boxlite" "not a regular file"
refused "a newer format" "$A/newer.boxlite" "upgrade boxlite"
# a disk that backs onto a host file (no checksum to trip first)
qemu-img create -q -f qcow2 -b /etc/passwd -F raw "$A/disk.qcow2"
(cd "$A" && python3 -c '
import json; m = json.load(open("x/manifest.json")); m["container_disk_checksum"] = ""
json.dump(m, open("manifest.json", "w"))' && tar -cf backing.boxlite manifest.json disk.qcow2)
refused "a disk with a backing file" "$A/backing.boxlite" "backing file"
refused "not an archive" /etc/passwd "not a .boxlite archive"

# kill -9 mid-export: no partial archive, and the next open sweeps the staging.
"$BOXLITE" exec back -- sh -c 'head -c 200000000 /dev/urandom > /root/big; sync' >/dev/null
"$BOXLITE" stop back >/dev/null
"$BOXLITE" export back -o "$A/killed.boxlite" >/dev/null 2>&1 &
pid=$!
# killed once its staging directory is there: mid-export
for i in $(seq 200); do [ -n "$(ls "$BOXLITE_HOME/tmp" 2>/dev/null)" ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
expect_eq "killed mid-export: no archive, no partial file" "$(ls "$A" | grep -c killed)" 0
"$BOXLITE" ls -a >/dev/null
expect_eq "the next open swept the staging" "$(ls "$BOXLITE_HOME/tmp" 2>/dev/null | wc -l)" 0
expect_eq "the box still runs" "$("$BOXLITE" exec back -- cat /root/f)" after
"$BOXLITE" rm -f back >/dev/null

# An anonymous volume (a directory of the home's) does not travel yet: refused.
"$BOXLITE" create --name anon -v /data "$IMG" >/dev/null || fail "create with an anonymous volume"
out=$("$BOXLITE" export anon -o "$A/anon.boxlite" 2>&1); rc=$?
expect_eq "anonymous volume: export refused" "$rc" 125
expect_contains "anonymous volume: says why" "$out" "anonymous volume"
[ ! -e "$A/anon.boxlite" ] && pass "anonymous volume: no archive" || fail "anonymous volume: an archive was written"
"$BOXLITE" rm -f anon >/dev/null
expect_no_leftovers "export"
[ "$FAILS" -eq 0 ]
