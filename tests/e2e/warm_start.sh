#!/usr/bin/env bash
# Warm start (BOXLITE_WARM_START=1, docs/architecture.md "Warm start"): the
# first start makes a template, later ones clone it. Two boxes made at once
# (one makes the template, the other waits for it), then a detached clone
# serving exec, cp, network, hostname, date and its own random numbers; a run
# --rm's output and exit status; a corrupted template falls back to a cold
# boot; boxes with volumes clone their own shape; at most 4 shapes are kept (least
# recently used dropped). Nothing left running.
. "$(dirname "$0")/lib.sh"
export BOXLITE_WARM_START=1
IMG=localhost/busybox:latest

mkdir -p "$T_HOME/www"
echo hello-from-host > "$T_HOME/www/index.html"
t_host_http "$T_HOME/www"

# warm BOX: the box's shim loaded a template (and did not fall back).
warm() { grep -q 'from a template' "$BOXLITE_HOME/boxes/$1/shim.stderr" &&
	 ! grep -q 'booting cold' "$BOXLITE_HOME/boxes/$1/shim.stderr"; }

# ---- two boxes at once: one template, both clones. (The home is opened
# once first: two processes creating a fresh store at once can meet
# "database is locked" there, a matter apart from templates.)
"$BOXLITE" ls >/dev/null
"$BOXLITE" run -d --name a $IMG sleep 600 > "$T_HOME/a.id" 2>"$T_HOME/a.err" &
"$BOXLITE" run -d --name b $IMG sleep 600 > "$T_HOME/b.id" 2>"$T_HOME/b.err" &
wait %2 %3
cat "$T_HOME/a.err" "$T_HOME/b.err" >&2
A=$(cat "$T_HOME/a.id"); B=$(cat "$T_HOME/b.id")
expect_eq "two concurrent starts" "$([ -n "$A" ] && [ -n "$B" ] && echo ok)" "ok"
expect_eq "one template" "$(ls "$BOXLITE_HOME/templates" | wc -l)" "1"
warm "$A" && pass "box a cloned the template" || fail "box a was not warm: $(cat "$BOXLITE_HOME/boxes/$A/shim.stderr")"
warm "$B" && pass "box b cloned the template" || fail "box b was not warm: $(cat "$BOXLITE_HOME/boxes/$B/shim.stderr")"

# ---- each clone is its own machine
ra=$("$BOXLITE" exec a sh -c 'head -c16 /dev/urandom | od -An -x')
rb=$("$BOXLITE" exec b sh -c 'head -c16 /dev/urandom | od -An -x')
[ -n "$ra" ] && [ "$ra" != "$rb" ] && pass "clones' random numbers differ" || fail "random: '$ra' vs '$rb'"
expect_eq "hostname is the box id" "$("$BOXLITE" exec a hostname)" "$A"
gd=$("$BOXLITE" exec a date +%s); hd=$(date +%s)
[ -n "$gd" ] && [ $((hd - gd)) -le 5 ] && [ $((gd - hd)) -le 5 ] && pass "guest clock is the host's" \
	|| fail "guest date $gd, host $hd"
expect_eq "network through host.boxlite.internal" \
	"$("$BOXLITE" exec a wget -q -O- "http://host.boxlite.internal:$HPORT/index.html")" "hello-from-host"
expect_eq "root disk is the image's, full size" "$("$BOXLITE" exec a sh -c 'test -x /bin/busybox && echo ok')" "ok"
echo payload > "$T_HOME/in.txt"
"$BOXLITE" cp "$T_HOME/in.txt" a:/tmp/in.txt
expect_eq "cp into a clone" "$("$BOXLITE" exec a cat /tmp/in.txt)" "payload"
"$BOXLITE" cp a:/tmp/in.txt "$T_HOME/out.txt"
expect_eq "cp out of a clone" "$(cat "$T_HOME/out.txt")" "payload"
"$BOXLITE" rm -f a b >/dev/null

# ---- run --rm from the template: output and exit status
out=$("$BOXLITE" run --rm $IMG sh -c 'echo hi; exit 3'); rc=$?
expect_eq "run --rm output" "$out" "hi"
expect_eq "run --rm exit status" "$rc" "3"
# The template probed a 1 MiB placeholder: the clone sees its own disk size
# (QMP block_resize) and its filesystem grown to it, as a cold box does.
expect_eq "clone's disk size" "$("$BOXLITE" run --rm --disk-size 2 $IMG sh -c 'cat /sys/block/vda/size; df -k / | awk "NR==2 {print (\$2 > 2000000)}"')" "4194304
1"

# ---- a corrupted template: the box boots cold all the same. Jailed, the
# library starts it again cold and drops the template; the next start makes
# a new one. Without the jail the shim itself falls back to a cold boot.
corrupt() { for f in "$BOXLITE_HOME"/templates/*/state; do head -c 100000 /dev/urandom > "$f"; done; }
corrupt
C=$("$BOXLITE" run -d $IMG sleep 600)
expect_eq "box from a corrupted template runs" "$("$BOXLITE" exec "$C" echo alive)" "alive"
grep -q 'from a template' "$BOXLITE_HOME/boxes/$C/shim.stderr" && fail "corrupted template: box not cold" \
	|| pass "corrupted template: started again cold"
expect_eq "corrupted template dropped" "$(ls "$BOXLITE_HOME/templates" | wc -l)" "0"
D=$("$BOXLITE" run -d $IMG sleep 600)
warm "$D" && pass "next start made a new template and cloned it" || fail "box after a dropped template not warm"
"$BOXLITE" rm -f "$C" "$D" >/dev/null
corrupt
E=$("$BOXLITE" run -d --security development $IMG sleep 600 2>/dev/null)
expect_eq "unjailed box from a corrupted template runs" "$("$BOXLITE" exec "$E" echo alive)" "alive"
grep -q 'warm start failed, booting cold' "$BOXLITE_HOME/boxes/$E/shim.stderr" \
	&& pass "unjailed shim: fell back to a cold boot itself" || fail "no fallback notice: $(cat "$BOXLITE_HOME/boxes/$E/shim.stderr")"
"$BOXLITE" rm -f "$E" >/dev/null

# ---- volumes: their count is part of the shape (9p devices); the clone's
# QEMU serves the box's own directories, read-only where asked
mkdir -p "$T_HOME/vol" "$T_HOME/ro" && echo v > "$T_HOME/vol/f"
for i in 1 2; do # the first makes the 2-volume template, the second clones it
	V=$("$BOXLITE" run -d -v "$T_HOME/vol:/data" -v "$T_HOME/ro:/ro:ro" $IMG sleep 600)
	expect_eq "box $i with volumes reads" "$("$BOXLITE" exec "$V" cat /data/f)" "v"
	"$BOXLITE" exec "$V" sh -c "echo g$i > /data/g$i"
	expect_eq "box $i's write reaches the host" "$(cat "$T_HOME/vol/g$i" 2>&1)" "g$i"
	expect_eq "box $i's :ro volume refuses writes" \
		"$("$BOXLITE" exec "$V" sh -c 'touch /ro/x 2>/dev/null && echo rw || echo ro')" "ro"
	warm "$V" && pass "box $i with volumes cloned a template" || fail "box $i with volumes booted cold"
	"$BOXLITE" rm -f "$V" >/dev/null
done
ls "$BOXLITE_HOME/templates" | grep -q -- '-2vol$' && pass "a 2-volume template" || fail "no 2-volume template"

# ---- no template can be made (templates/ is a file): cold boot, and the
# shim's log says why
rm -rf "$BOXLITE_HOME/templates" && touch "$BOXLITE_HOME/templates"
N=$("$BOXLITE" run -d $IMG sleep 600)
expect_eq "box without a template runs" "$("$BOXLITE" exec "$N" echo alive)" "alive"
expect_contains "shim log says why there is no template" "$(cat "$BOXLITE_HOME/boxes/$N/shim.stderr")" \
	"warm start: no template (creating $BOXLITE_HOME/templates/"
"$BOXLITE" rm -f "$N" >/dev/null
rm -f "$BOXLITE_HOME/templates"

# ---- at most 4 shapes kept: a fifth drops the least recently used
rm -rf "$BOXLITE_HOME/templates"
for m in 128 160 192 128 224 256; do # 128 used again: 160 is the oldest then
	"$BOXLITE" run --rm --memory $m $IMG true || fail "run --memory $m"
done
expect_eq "templates kept" "$(ls "$BOXLITE_HOME/templates" | sed 's/^[0-9a-f]*-tcg-1c-//; s/^[0-9a-f]*-kvm-1c-//' | tr '\n' ' ')" \
	"128m-net 192m-net 224m-net 256m-net "
expect_contains "info counts them" "$("$BOXLITE" info)" "Warm start:   on, 4 templates"

kill $HTTP_PID 2>/dev/null; wait $HTTP_PID 2>/dev/null
expect_no_leftovers "warm start"
t_done
