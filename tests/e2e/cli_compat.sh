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

# ---- --help for every command: exit 0, the usage line, one line per flag
for cmd in run create start stop restart rm ls ps inspect port wait logs stats pause unpause exec cp \
	info pull images rmi load import image login logout version; do
	out=$("$BOXLITE" $cmd --help 2>&1); rc=$?
	if [ "$rc" = 0 ] && [[ "$out" == "Usage: boxlite "* ]]; then pass "$cmd --help"; else fail "$cmd --help: exit $rc: $out"; fi
done
expect_contains "run --help lists --" "$("$BOXLITE" run --help)" "IMAGE [--] [COMMAND"
expect_contains "exec --help lists --" "$("$BOXLITE" exec --help)" "BOX [--] COMMAND"

"$BOXLITE" rm -f sep job >/dev/null
expect_no_leftovers "cli compat"
t_done
