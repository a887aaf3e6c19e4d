#!/usr/bin/env bash
# boxlite run: streams, exit codes, docker's 125/126/127, env and workdir, images.
. "$(dirname "$0")/lib.sh"

out=$("$BOXLITE" run --rm localhost/busybox:latest sh -c 'echo hi; echo err >&2; exit 3' 2>"$T_HOME/err"); rc=$?
expect_eq "stdout" "$out" "hi"
expect_eq "stderr" "$(cat "$T_HOME/err")" "err"
expect_eq "exit status" "$rc" "3"

out=$("$BOXLITE" run --rm localhost/python:3.11 python3 -c 'print(6*7)'); rc=$?
expect_eq "python prints 42" "$out" "42"
expect_eq "python exit" "$rc" "0"

out=$("$BOXLITE" run --rm localhost/busybox:latest nosuchcmd 2>&1); rc=$?
expect_eq "missing command exits 127" "$rc" "127"
expect_contains "missing command message" "$out" "nosuchcmd"

out=$("$BOXLITE" run --rm localhost/busybox:latest /etc/passwd 2>&1); rc=$?
expect_eq "non-executable exits 126" "$rc" "126"

out=$("$BOXLITE" run --rm localhost/nosuchimage:1 true 2>&1); rc=$?
expect_eq "missing image exits 125" "$rc" "125"
expect_contains "missing image message" "$out" "localhost/nosuchimage:1 not found"

"$BOXLITE" run --rm localhost/busybox:latest sh -c 'kill -9 $$'; rc=$?
expect_eq "killed by SIGKILL exits 137" "$rc" "137"

out=$("$BOXLITE" run --rm -e GREETING=hello -e PATH=/bin -w /tmp localhost/busybox:latest sh -c 'echo $GREETING $PATH $(pwd) $(hostname | wc -c)'); rc=$?
expect_eq "env, workdir, hostname" "$out" "hello /bin /tmp 13"

out=$("$BOXLITE" run --rm localhost/busybox:latest id); rc=$?
expect_eq "runs as root by default" "$out" "uid=0(root) gid=0(root) groups=0(root)"

# The image's default command (busybox: /bin/sh) runs when none is given; stdin is empty.
"$BOXLITE" run --rm localhost/busybox:latest; rc=$?
expect_eq "image default command" "$rc" "0"

# A file written in one box is not in the next: every box gets its own disk.
"$BOXLITE" run --rm localhost/busybox:latest sh -c 'echo x > /root/mark' >/dev/null
out=$("$BOXLITE" run --rm localhost/busybox:latest sh -c 'ls /root/mark 2>&1; true')
expect_contains "boxes do not share writes" "$out" "No such file"

expect_no_leftovers "after runs"
left=$(ls "$BOXLITE_HOME/boxes" | wc -l)
expect_eq "--rm removed every box directory" "$left" "0"
t_done
