#!/usr/bin/env bash
# The reference CLI's documented usage runs unchanged (docs/cli.md): `--`
# ends the options of run, create and exec (the command may then start with
# '-'), and without it nothing changes; every usage error is one line that
# names what was wrong and points to --help, exits 125 and creates nothing;
# every command has --help.
. "$(dirname "$0")/lib.sh"
IMG=localhost/busybox:latest

# A host directory with a program whose name starts with '-'.
mkdir -p "$T_HOME/bin"
printf '#!/bin/sh\necho dash-ok "$@"\n' > "$T_HOME/bin/-dash"
chmod +x "$T_HOME/bin/-dash"

# ---- `--` in run, create and exec
expect_eq "run IMAGE -- COMMAND" "$("$BOXLITE" run --rm $IMG -- echo hello)" "hello"
"$BOXLITE" run --rm $IMG -- sh -c 'exit 3'
expect_eq "run IMAGE -- COMMAND: exit status" "$?" "3"
expect_eq "run -- before IMAGE" "$("$BOXLITE" run --rm -- $IMG echo early)" "early"
expect_eq "run: a command starting with '-'" \
	"$("$BOXLITE" run --rm -v "$T_HOME/bin:/x:ro" -e PATH=/x:/bin $IMG -- -dash a)" "dash-ok a"
expect_eq "run without --: a later -- is the command's" "$("$BOXLITE" run --rm $IMG echo -- x)" "-- x"

S=$("$BOXLITE" run -d --name sep $IMG -- sleep 300)
expect_eq "run -d IMAGE -- sleep: the box runs" "$("$BOXLITE" ls --format json | /usr/bin/python3 -c '
import json, sys
print(next(b["state"] for b in json.load(sys.stdin) if b["name"] == "sep"))')" "running"
expect_eq "exec BOX -- COMMAND" "$("$BOXLITE" exec sep -- echo hello)" "hello"
expect_eq "exec -e -w BOX -- COMMAND" "$("$BOXLITE" exec -e DEBUG=1 -w /tmp sep -- sh -c 'echo $DEBUG $PWD')" "1 /tmp"
"$BOXLITE" exec sep -- sh -c 'exit 7'
expect_eq "exec BOX -- COMMAND: exit status" "$?" "7"
"$BOXLITE" cp "$T_HOME/bin/-dash" sep:/bin/-dash
expect_eq "exec: a command starting with '-'" "$("$BOXLITE" exec sep -- -dash b)" "dash-ok b"
expect_eq "exec without --: unchanged" "$("$BOXLITE" exec sep echo plain)" "plain"
expect_eq "exec without --: a later -- is the command's" "$("$BOXLITE" exec sep echo -- y)" "-- y"
expect_eq "exec -- -- : the second is the command's" "$("$BOXLITE" exec sep -- echo -- z)" "-- z"

C=$("$BOXLITE" create --name job $IMG -- echo created)
out=$("$BOXLITE" exec job -- true 2>&1); rc=$?
expect_eq "exec never starts a job (a box created with a command)" "$rc" "125"
expect_contains "and says why" "$out" "starting it would run its main command"
"$BOXLITE" start job >/dev/null
"$BOXLITE" wait job >/dev/null
expect_eq "create IMAGE -- COMMAND: the stored command" "$("$BOXLITE" logs job)" "created"

# ---- usage errors: exit 125, one line naming the problem and --help, no box
before=$("$BOXLITE" ls -aq | sort)
usage_error() { # usage_error WHAT NEEDLE ARGS...: exit 125, one line, mentions NEEDLE and --help
	local what=$1 needle=$2 out rc
	shift 2
	out=$("$BOXLITE" "$@" 2>&1 </dev/null); rc=$?
	if [ "$rc" = 125 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
	   [[ "$out" == *"$needle"* ]] && [[ "$out" == *"--help"* ]]; then
		pass "usage error: $what"
	else
		fail "usage error: $what: exit $rc, output '$out'"
	fi
}
usage_error "run: unknown long option" "unknown option '--bogus'" run --bogus $IMG true
usage_error "run: unknown short option" "unknown option '-Z'" run -Z $IMG true
usage_error "run: missing value" "'--cpus' needs a value" run --cpus
usage_error "run: malformed number" "--cpus wants a number" run --cpus many $IMG true
usage_error "run: no image" "needs an image" run
usage_error "run: bad -p" "-p wants" run -p nonsense $IMG true
usage_error "run: bad -v" "-v wants" run -v nocolon $IMG true
usage_error "run: bad --network" "--network must be" run --network bridge $IMG true
usage_error "run: bad --security" "--security must be" run --security none $IMG true
usage_error "create: unknown option" "unknown option '--bogus'" create --bogus $IMG
usage_error "create: malformed memory" "--memory wants a number" create --memory lots $IMG
usage_error "create: no image" "needs an image" create
usage_error "exec: nothing" "needs a box and a command" exec
usage_error "exec: no command" "needs a command" exec sep
usage_error "exec: only --" "needs a command" exec sep --
usage_error "exec: unknown option" "unknown option '--bogus'" exec --bogus sep -- true
usage_error "exec: bad --timeout" "--timeout wants seconds" exec --timeout soon sep -- true
usage_error "rm: no box" "give at least one box" rm
for cmd in start stop restart rm ls ps inspect port wait logs stats pause unpause cp pull images \
	rmi load import login logout info version; do
	usage_error "$cmd: unknown option" "unknown option '--no-such-flag'" $cmd --no-such-flag x
done
usage_error "logs: two boxes" "needs exactly one box" logs a b
usage_error "stop: bad -t" "-t wants seconds" stop -t soon sep
usage_error "cp: no BOX:PATH" "one side as BOX:PATH" cp a b
usage_error "global: unknown option" "unknown option '--bogus'" --bogus ls
usage_error "no command" "no command given"
usage_error "unknown command" "unknown command 'frobnicate'" frobnicate
expect_eq "usage errors created no box" "$("$BOXLITE" ls -aq | sort)" "$before"

# ---- --rootfs DIR: a prepared root filesystem instead of an image
R="$T_HOME/rfs"
mkdir -p "$R/bin" "$R/etc"
cp /bin/busybox "$R/bin/busybox"
for a in sh cat echo ls; do ln -s busybox "$R/bin/$a"; done
echo "hello from a rootfs" > "$R/etc/msg"
bases() { ls "$BOXLITE_HOME"/images/bases/rootfs-*.ext4 2>/dev/null; }
expect_eq "run --rootfs DIR -- COMMAND" "$("$BOXLITE" run --rm --rootfs "$R" -- cat /etc/msg)" "hello from a rootfs"
first=$(bases)
expect_eq "one disk made from the tree" "$(echo "$first" | grep -c .)" "1"
expect_eq "run --rootfs, relative path, no --" "$(cd "$T_HOME" && "$BOXLITE" run --rm --rootfs ./rfs cat /etc/msg)" \
	"hello from a rootfs"
expect_eq "the second run reuses the cached disk" "$(bases)" "$first"
echo changed > "$R/etc/more"
expect_eq "a changed tree gets its own disk" "$("$BOXLITE" run --rm --rootfs "$R" cat /etc/more)" "changed"
expect_eq "two disks now" "$(bases | grep -c .)" "2"
"$BOXLITE" create --name rfbox --rootfs "$R" >/dev/null
expect_eq "create --rootfs: the box's image" "$("$BOXLITE" inspect -f '{{.Image}}' rfbox)" "rootfs:$R"
expect_eq "a --rootfs box without a command: exec starts it" "$("$BOXLITE" exec rfbox -- echo idle)" "idle"
"$BOXLITE" rm -f rfbox >/dev/null
usage_error "run --rootfs: missing directory" "--rootfs $T_HOME/nope" run --rootfs "$T_HOME/nope" true
out=$("$BOXLITE" run --rm --rootfs / true 2>&1); rc=$?
expect_eq "--rootfs / refused" "$rc:$out" "125:boxlite: rootfs /: the host's own root cannot be a box's disk"

# ---- capabilities: docker's 14 by default, --cap-add/--cap-drop (the page's examples)
caps() { "$BOXLITE" run --rm "$@" $IMG sh -c 'grep -E "^Cap(Eff|Bnd)" /proc/self/status | tr -s "\t" " "'; }
expect_eq "default: docker's 14 capabilities" "$(caps)" "CapEff: 00000000a80425fb
CapBnd: 00000000a80425fb"
expect_eq "run --cap-add SYS_ADMIN --cap-drop NET_RAW" "$(caps --cap-add SYS_ADMIN --cap-drop NET_RAW)" \
	"CapEff: 00000000a82405fb
CapBnd: 00000000a82405fb"
expect_eq "--cap-drop ALL --cap-add NET_BIND_SERVICE: only that one" \
	"$(caps --cap-drop ALL --cap-add cap_net_bind_service)" "CapEff: 0000000000000400
CapBnd: 0000000000000400"
expect_eq "mount needs SYS_ADMIN" "$("$BOXLITE" run --rm $IMG sh -c 'mkdir /m; mount -t tmpfs t /m 2>/dev/null && echo mounted || echo refused')" "refused"
expect_eq "--cap-add SYS_ADMIN: mount works" \
	"$("$BOXLITE" run --rm --cap-add SYS_ADMIN $IMG sh -c 'mkdir /m; mount -t tmpfs t /m && echo mounted')" "mounted"
W=$("$BOXLITE" create --cap-drop ALL --cap-add NET_BIND_SERVICE --name web $IMG sleep 300)
"$BOXLITE" start web >/dev/null
expect_eq "exec keeps the box's set" "$("$BOXLITE" exec web -- grep CapEff /proc/self/status | tr -s '\t' ' ')" \
	"CapEff: 0000000000000400"
expect_eq "a non-root exec has none, bounded by the set" \
	"$("$BOXLITE" exec -u nobody web -- grep -E '^Cap(Eff|Bnd)' /proc/self/status | tr -s '\t' ' ')" "CapEff: 0000000000000000
CapBnd: 0000000000000400"
expect_eq "inspect shows the set" "$("$BOXLITE" inspect -f '{{json .config.capabilities}}' web)" '["NET_BIND_SERVICE"]'
"$BOXLITE" rm -f web >/dev/null
usage_error "unknown capability" "unknown capability 'MAGIC'" run --cap-add MAGIC $IMG true

# ---- the page's other examples and forms
mkdir -p "$T_HOME/work" && echo data > "$T_HOME/work/file.txt"
expect_contains "run -v \$(pwd):/work -w /work IMAGE ls -la" \
	"$(cd "$T_HOME/work" && "$BOXLITE" run --rm -v "$(pwd)":/work -w /work $IMG ls -la)" "file.txt"
expect_eq "run --cpus 4 --memory 4096 python -c" \
	"$("$BOXLITE" run --rm --cpus 4 --memory 4096 localhost/python:3.11 python3 -c "print(2+2)")" "4"
HP=$(free_port)
"$BOXLITE" run -d --name web -p "$HP:80" $IMG httpd -f -p 80 -h /etc >/dev/null
body=""; for i in $(seq 50); do body=$(curl -s "http://127.0.0.1:$HP/passwd") && [ -n "$body" ] && break; sleep 0.1; done
expect_contains "run -d --name web -p HOST:80: served" "$body" "root:x:0:0"
"$BOXLITE" rm -f web >/dev/null
P=$("$BOXLITE" run -d -p 80 -p 81/tcp $IMG sleep 300)
expect_contains "-p BOX_PORT: a free host port" "$("$BOXLITE" port "$P")" "80/tcp -> 127.0.0.1:"
expect_contains "-p BOX_PORT/tcp" "$("$BOXLITE" port "$P")" "81/tcp -> 127.0.0.1:"
"$BOXLITE" rm -f "$P" >/dev/null
A=$("$BOXLITE" run -d -v /data -v /cache:ro $IMG sleep 300)
expect_eq "-v BOX_PATH: an anonymous volume" "$("$BOXLITE" exec "$A" -- sh -c 'echo x > /data/f && cat /data/f')" "x"
expect_contains "-v BOX_PATH:ro: read-only" "$("$BOXLITE" exec "$A" -- sh -c 'touch /cache/f 2>&1')" "Read-only"
expect_eq "anonymous volumes live in the home" "$(ls "$BOXLITE_HOME/volumes/anonymous" | wc -l)" "2"
"$BOXLITE" rm -f "$A" >/dev/null
expect_eq "and go with the box" "$(ls "$BOXLITE_HOME/volumes/anonymous" | wc -l)" "0"
"$BOXLITE" create -v /data localhost/no-such-image:1 >/dev/null 2>&1 && fail "create with a missing image succeeded"
expect_eq "a failed create leaves no anonymous volume" "$(ls "$BOXLITE_HOME/volumes/anonymous" | wc -l)" "0"
out=$("$BOXLITE" run --rm -t $IMG true </dev/null 2>&1); rc=$?
expect_eq "run -t without a terminal" "$rc:$out" "125:boxlite: the input device is not a TTY."
D=$("$BOXLITE" create $IMG true)
expect_contains "logs of a box that never ran: a hint, exit 0" "$("$BOXLITE" logs "$D" 2>&1; echo "rc=$?")" "has no output yet"
"$BOXLITE" rm "$D" >/dev/null
info=$("$BOXLITE" info --format yaml)
for k in version homeDir "virtualization: available" "os: linux" arch boxesTotal boxesRunning boxesStopped \
	boxesConfigured imagesCount; do
	expect_contains "info --format yaml: $k" "$info" "$k"
done
expect_eq "info --format json" "$("$BOXLITE" info --format json | /usr/bin/python3 -c '
import json, sys; i = json.load(sys.stdin); print(i["homeDir"], i["imagesCount"] >= 1)')" "$BOXLITE_HOME True"

# ---- global options before or after the command
"$BOXLITE" --debug ls >/dev/null 2>&1 && pass "--debug before the command" || fail "--debug before the command"
"$BOXLITE" ls --debug >/dev/null 2>&1 && pass "--debug after the command" || fail "--debug after the command"
"$BOXLITE" ls -a --home "$T_HOME/other-home" >/dev/null && [ -f "$T_HOME/other-home/boxlite.db" ] &&
	pass "--home after the command" || fail "--home after the command"
expect_contains "--debug says where things are" "$("$BOXLITE" run --rm --debug $IMG true 2>&1)" "debug: home $BOXLITE_HOME"
expect_contains "RUST_LOG=debug too" "$(RUST_LOG=debug "$BOXLITE" ls 2>&1)" "debug: home $BOXLITE_HOME"
id=$("$BOXLITE" --debug run -d $IMG sleep 100 2>/dev/null)
expect_contains "--debug: the box's shim logs at debug level" "$(cat "$BOXLITE_HOME/boxes/$id/shim.stderr")" " debug: "
"$BOXLITE" rm -f "$id" >/dev/null

# ---- completion scripts: each shell parses its own; every flag --help lists is offered
for sh in bash zsh fish; do
	"$BOXLITE" completion $sh > "$T_HOME/completion.$sh"; rc=$?
	expect_eq "completion $sh exits 0" "$rc" "0"
	if command -v $sh >/dev/null; then
		$sh -n "$T_HOME/completion.$sh" && pass "$sh -n accepts its completion" || fail "$sh -n rejects its completion"
	else
		pass "$sh not installed: its completion not parsed"
	fi
done
usage_error "completion: unknown shell" "knows bash, zsh and fish" completion tcsh
missing=""
for cmd in run create exec start stop restart rm list inspect logs stats pull images load login; do
	block=$(sed -n "/^  $cmd)/,/;;/p" "$T_HOME/completion.bash" | tr '"' ' ')
	for f in $("$BOXLITE" $cmd --help | grep -oE '(^|[ ,])--[a-z][a-z-]+' | tr -d ' ,' | sort -u); do
		[[ " $block " == *" $f "* ]] || missing="$missing $cmd:$f"
	done
done
expect_eq "bash completion offers every flag of every --help" "$missing" ""
out=$(. "$T_HOME/completion.bash"; COMP_WORDS=(boxlite ins); COMP_CWORD=1; _boxlite; echo "${COMPREPLY[@]}")
expect_eq "bash completes a command" "$out" "inspect"
out=$(PATH="$(dirname "$BOXLITE"):$PATH"; . "$T_HOME/completion.bash"; COMP_WORDS=(boxlite exec se); COMP_CWORD=2
	_boxlite; echo "${COMPREPLY[@]}")
expect_eq "bash completes a box name" "$out" "sep"

# ---- --help for every command: exit 0, the usage line, one line per flag
for cmd in run create start stop restart rm ls ps inspect port wait logs stats pause unpause exec cp \
	info pull images rmi load import image login logout version; do
	out=$("$BOXLITE" $cmd --help 2>&1); rc=$?
	if [ "$rc" = 0 ] && [[ "$out" == "Usage: boxlite "* ]]; then pass "$cmd --help"; else fail "$cmd --help: exit $rc: $out"; fi
done
expect_contains "run --help lists --" "$("$BOXLITE" run --help)" "IMAGE [--] [COMMAND"
expect_contains "exec --help lists --" "$("$BOXLITE" exec --help)" "BOX [--] COMMAND"

# ---- create without a command, then exec or cp: the box starts on demand
"$BOXLITE" create --name mybox $IMG >/dev/null
expect_eq "create --name mybox IMAGE; exec mybox -- echo" "$("$BOXLITE" exec mybox -- echo "hello")" "hello"
"$BOXLITE" stop mybox >/dev/null
echo 'print("script")' > "$T_HOME/script.py"
"$BOXLITE" cp "$T_HOME/script.py" mybox:/tmp/script.py && pass "cp into a stopped box without a command" ||
	fail "cp into a stopped box"
expect_eq "the box came up for it" "$("$BOXLITE" exec mybox -- cat /tmp/script.py)" 'print("script")'
"$BOXLITE" rm -f mybox >/dev/null
expect_eq "rm mybox (a stopped box)" "$("$BOXLITE" create --name mybox $IMG >/dev/null; "$BOXLITE" rm mybox | wc -l)" "1"

# ---- cp: the page's examples and flags
K=$("$BOXLITE" run -d --name cpbox $IMG sleep 300)
mkdir -p "$T_HOME/data/sub" && echo one > "$T_HOME/data/a" && echo two > "$T_HOME/data/sub/b"
"$BOXLITE" exec cpbox -- mkdir -p /work /data
"$BOXLITE" cp "$T_HOME/script.py" cpbox:/work/script.py
expect_eq "cp ./script.py box:/work/script.py" "$("$BOXLITE" exec cpbox -- cat /work/script.py)" 'print("script")'
"$BOXLITE" exec cpbox -- sh -c 'mkdir -p /var/log && echo logline > /var/log/app.log'
"$BOXLITE" cp cpbox:/var/log/app.log "$T_HOME/app.log"
expect_eq "cp box:/var/log/app.log ./app.log" "$(cat "$T_HOME/app.log")" "logline"
"$BOXLITE" cp --no-overwrite "$T_HOME/data/" cpbox:/data/
"$BOXLITE" exec cpbox -- sh -c 'echo changed > /data/data/a'
"$BOXLITE" cp --no-overwrite "$T_HOME/data/" cpbox:/data/
expect_eq "cp --no-overwrite ./data/ box:/data/ again: the box's change kept" \
	"$("$BOXLITE" exec cpbox -- cat /data/data/a /data/data/sub/b)" "changed
two"
"$BOXLITE" exec cpbox -- sh -c 'echo kept > /data/a'
"$BOXLITE" cp --no-overwrite "$T_HOME/data/." cpbox:/data/
expect_eq "cp --no-overwrite: new files copied, existing kept" \
	"$("$BOXLITE" exec cpbox -- sh -c 'cat /data/a /data/sub/b')" "kept
two"
"$BOXLITE" exec cpbox -- sh -c 'echo linked > /tmp/real && ln -s /tmp/real /tmp/lnk'
"$BOXLITE" cp cpbox:/tmp/lnk "$T_HOME/lnk-plain"
[ -L "$T_HOME/lnk-plain" ] && pass "cp of a symlink copies the link" || fail "cp copied the link's target"
"$BOXLITE" cp -L cpbox:/tmp/lnk "$T_HOME/lnk-followed"
[ -f "$T_HOME/lnk-followed" ] && [ ! -L "$T_HOME/lnk-followed" ] && [ "$(cat "$T_HOME/lnk-followed")" = linked ] &&
	pass "cp -L (--follow-symlinks) out: the target's content" || fail "cp -L out: $(ls -la "$T_HOME/lnk-followed")"
ln -s "$T_HOME/data/a" "$T_HOME/hostlink"
"$BOXLITE" cp --follow-symlinks "$T_HOME/hostlink" cpbox:/tmp/fromhost
expect_eq "cp --follow-symlinks in" "$("$BOXLITE" exec cpbox -- sh -c 'test -L /tmp/fromhost || cat /tmp/fromhost')" "one"
"$BOXLITE" exec cpbox -- sh -c 'mkdir /pdir && echo x > /pdir/x'
mkdir -p "$T_HOME/withparent" "$T_HOME/flat"
"$BOXLITE" cp cpbox:/pdir "$T_HOME/withparent"
[ -f "$T_HOME/withparent/pdir/x" ] && pass "cp box:DIR into an existing dir: DIR itself" ||
	fail "cp box:DIR: $(ls -R "$T_HOME/withparent" | tr '\n' ' ')"
"$BOXLITE" cp --include-parent=false cpbox:/pdir "$T_HOME/flat"
[ -f "$T_HOME/flat/x" ] && [ ! -e "$T_HOME/flat/pdir" ] && pass "cp --include-parent=false: only its contents" ||
	fail "cp --include-parent=false: $(ls -R "$T_HOME/flat" | tr '\n' ' ')"
"$BOXLITE" rm -f cpbox >/dev/null
usage_error "cp: bad --include-parent" "--include-parent is true or false" cp --include-parent=maybe a b:/c

# ---- inspect: -f Go templates, --format json|yaml, -l
expect_eq "inspect -f {{.State.Status}}" "$("$BOXLITE" inspect -f '{{.State.Status}}' sep)" "running"
expect_eq "inspect -f {{.Id}} {{.ID}} {{.Name}}" "$("$BOXLITE" inspect -f '{{.Id}} {{.ID}} {{.Name}}' sep)" "$S $S sep"
expect_eq "inspect -f, one line per box" "$("$BOXLITE" inspect --format '{{.Name}}' sep job)" "sep
job"
"$BOXLITE" run -d --name three $IMG -- sh -c 'exit 3' >/dev/null
"$BOXLITE" wait three >/dev/null
expect_eq "inspect -f {{.State.ExitCode}} of a stopped box" "$("$BOXLITE" inspect -f '{{.State.ExitCode}}' three)" "3"
expect_eq "inspect -f {{.State.Running}}" "$("$BOXLITE" inspect -f '{{.State.Running}}/{{.Status}}' three)" "false/stopped"
expect_eq "inspect -f {{json .State}}" "$("$BOXLITE" inspect -f '{{json .State}}' three | /usr/bin/python3 -c '
import json, sys; s = json.load(sys.stdin); print(s["Status"], s["ExitCode"], s["Running"])')" "stopped 3 False"
expect_eq "inspect -f {{.State}} prints Go style" "$("$BOXLITE" inspect -f '{{.State}}' three | sed 's/Pid:[0-9]*/Pid:N/')" \
	"{Status:stopped Running:false Pid:N ExitCode:3}"
expect_eq "inspect -f: text around actions, a missing field" "$("$BOXLITE" inspect -f 'box={{.Name}} x={{.NoSuch}}' sep)" \
	"box=sep x=<no value>"
expect_eq "inspect --format json: an array with the reference's fields" "$("$BOXLITE" inspect --format json sep | /usr/bin/python3 -c '
import json, sys; b = json.load(sys.stdin)[0]; print(b["Id"], b["Name"], b["State"]["Status"], b["Cpus"], b["Memory"])')" \
	"$S sep running 1 536870912"
expect_eq "inspect (default json) keeps boxlite's own fields" "$("$BOXLITE" inspect sep | /usr/bin/python3 -c '
import json, sys; b = json.load(sys.stdin)[0]; print(b["id"], b["state"], b["config"]["memory_mib"])')" "$S running 512"
yaml=$("$BOXLITE" inspect -l --format yaml)
expect_eq "inspect --format yaml reads back as the JSON" "$(echo "$yaml" | /usr/bin/python3 -c '
import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin), sort_keys=True))')" \
	"$("$BOXLITE" inspect --format json three | /usr/bin/python3 -c '
import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')"
expect_contains "inspect -l --format yaml: the latest box" "$yaml" "  Name: three"
expect_contains "inspect --format yaml: nested" "$yaml" "  State:
    Status: stopped"
usage_error "inspect: bad template" "template: cannot read" inspect -f '{{.A..B}}' sep
usage_error "inspect: table" "--format wants json, yaml or a Go template" inspect --format table sep
usage_error "inspect: -l with BOX" "cannot be used together" inspect -l sep
usage_error "inspect: nothing" "give at least one box" inspect

# ---- list / ls / ps: columns, STATUS words, --format
out=$("$BOXLITE" list)
expect_eq "list: the reference's columns" "$(echo "$out" | head -1 | tr -s ' ')" "ID IMAGE STATUS CREATED NAMES"
expect_contains "list: the running box, STATUS Running" "$(echo "$out" | grep " sep$" | tr -s ' ')" "$IMG Running"
case "$out" in *" three"*) fail "list without -a shows a stopped box" ;; *) pass "list without -a: active boxes only" ;; esac
expect_contains "ls -a: STATUS Stopped" "$("$BOXLITE" ls -a | grep " three$" | tr -s ' ')" "Stopped"
expect_eq "ps --format json: the reference's keys" "$("$BOXLITE" ps --format json | /usr/bin/python3 -c '
import json, sys; b = json.load(sys.stdin)[0]; print(b["ID"], b["Names"], b["Status"], b["Image"], b["CreatedAt"][-3:])')" \
	"$S sep Running $IMG UTC"
expect_contains "ls -a --format yaml" "$("$BOXLITE" ls -a --format yaml)" "- ID: "
expect_eq "ls -aq: ids only" "$("$BOXLITE" ls -aq | sort)" "$(printf '%s\n' "$S" "$C" "$("$BOXLITE" inspect -f '{{.Id}}' three)" | sort)"
usage_error "list: bad format" "--format wants table, json or yaml" list --format xml

# ---- rm -a: refused without --force off a terminal; --all --force removes all
usage_error "rm -a without --force" "add --force" rm -a
expect_eq "rm -a without --force removed nothing" "$("$BOXLITE" ls -aq | wc -l)" "3"
usage_error "rm -a with a box" "cannot be used together" rm -a -f sep
ids=$("$BOXLITE" ls -aq | sort)
expect_eq "rm --all --force prints each id" "$("$BOXLITE" rm --all --force | sort)" "$ids"
expect_eq "rm --all --force: no box left" "$("$BOXLITE" ls -aq)" ""
expect_no_leftovers "cli compat"
t_done
