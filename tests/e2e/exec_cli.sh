#!/usr/bin/env bash
# boxlite exec -i/-t/-d/-u/--timeout and boxlite cp, as a user types them,
# in one detached box.
source "$(dirname "$0")/lib.sh"
W=$T_HOME/w
mkdir -p "$W"

id=$("$BOXLITE" create --name ex --memory 768 localhost/busybox:latest sleep 1000000) || fail "create"
"$BOXLITE" start ex >/dev/null || fail "start"

# stdin round trip with EOF
head -c 16777216 /dev/urandom > "$W/in"
want=$(sha256sum < "$W/in" | cut -c1-64)
got=$("$BOXLITE" exec -i ex sha256sum < "$W/in" | cut -c1-64)
expect_eq "exec -i: 16 MiB through sha256sum" "$got" "$want"
got=$(printf 'a\nb\n' | "$BOXLITE" exec -i ex wc -l)
expect_eq "exec -i: EOF reaches the command" "$(echo $got)" "2"
got=$("$BOXLITE" exec ex cat </dev/null; echo "rc=$?")
expect_eq "exec without -i: empty stdin" "$got" "rc=0"

# exit codes
"$BOXLITE" exec ex sh -c 'exit 7'; expect_eq "exit code" "$?" 7
"$BOXLITE" exec ex sh -c 'kill -9 $$'; expect_eq "signal exit 128+9" "$?" 137
"$BOXLITE" exec ex no-such-cmd 2>/dev/null; expect_eq "not found" "$?" 127
"$BOXLITE" exec --timeout 1 ex sleep 100; expect_eq "timeout: SIGTERM" "$?" 143
got=$("$BOXLITE" exec -u nobody ex id)
expect_contains "exec -u nobody" "$got" "uid=65534(nobody) gid=65534(nogroup)"

# -d: returns at once, the command keeps running
t0=$(date +%s%N)
out=$("$BOXLITE" exec -d ex sh -c 'sleep 2; echo done > /tmp/detached')
rc=$?
t1=$(date +%s%N)
expect_eq "exec -d: rc 0, nothing printed" "$rc:$out" "0:"
[ $(( (t1 - t0) / 1000000 )) -lt 1900 ] && pass "exec -d returned before the command ended" \
	|| fail "exec -d waited for the command"
for i in $(seq 50); do
	got=$("$BOXLITE" exec ex cat /tmp/detached 2>/dev/null) && break
	sleep 0.2
done
expect_eq "exec -d: the command ran to its end" "$got" "done"

# -t in tmux: interactive, sized like the terminal, resize reaches the guest
if command -v tmux >/dev/null; then
	S=bxt$$
	tmux -L "$S" new-session -d -x 100 -y 30 "$BOXLITE exec -it ex sh; echo rc=\$? > $W/tty.rc; stty -a > $W/tty.after; sleep 30"
	sleep 2
	t_tty_checks "exec -t" "$S" "$W" 50
	# killed by SIGTERM while attached: the terminal is restored too
	tmux -L "${S}b" new-session -d -x 80 -y 24 "sh -c 'echo \$\$ > $W/tty.pid; exec $BOXLITE exec -it ex sleep 1000'; stty -a > $W/tty.after2; sleep 30"
	for i in $(seq 100); do [ -s "$W/tty.pid" ] && break; sleep 0.2; done
	raw=0
	for i in $(seq 100); do
		stty -F /proc/$(cat "$W/tty.pid" 2>/dev/null)/fd/0 -a 2>/dev/null | grep -qw -- -icanon && { raw=1; break; }
		sleep 0.2
	done
	expect_eq "exec -t: raw mode while attached" "$raw" 1
	[ -s "$W/tty.pid" ] && kill -TERM "$(cat "$W/tty.pid")"
	for i in $(seq 100); do [ -s "$W/tty.after2" ] && break; sleep 0.2; done
	grep -qw icanon "$W/tty.after2" && pass "exec -t: terminal restored after SIGTERM" \
		|| fail "exec -t: terminal not restored after SIGTERM: $(cat "$W/tty.after2" 2>/dev/null | head -3)"
	tmux -L "${S}b" kill-server 2>/dev/null
else
	echo "skip: tmux not installed"
fi

# cp: a tree with symlinks and modes, both ways, byte-identical
mkdir -p "$W/tree/sub/empty"
echo hi > "$W/tree/a"; chmod 0741 "$W/tree/a"; chmod 0700 "$W/tree/sub"
head -c 20971520 /dev/urandom > "$W/tree/sub/big"
ln -s a "$W/tree/link"; ln -s / "$W/tree/root"
touch -d 2001-02-03T04:05:06 "$W/tree/a"
"$BOXLITE" cp "$W/tree" ex:/tmp/ || fail "cp into an existing dir"
"$BOXLITE" cp ex:/tmp/tree "$W/back" || fail "cp out to a new name"
diff -r --no-dereference "$W/tree" "$W/back" && pass "cp round trip: identical tree" || fail "cp round trip differs"
expect_eq "cp keeps modes and mtimes" "$(cd "$W/back" && stat -c '%a %Y' a sub)" \
	"$(cd "$W/tree" && stat -c '%a %Y' a sub)"
"$BOXLITE" cp "$W/tree/a" ex:/tmp/renamed && got=$("$BOXLITE" exec ex cat /tmp/renamed)
expect_eq "cp file to file" "$got" "hi"
"$BOXLITE" cp ex:/tmp/tree - | tar -t | sort | head -3 > "$W/list"
expect_eq "cp to - writes a tar" "$(head -1 "$W/list")" "tree/"
got=
"$BOXLITE" exec ex mkdir /tmp/fromtar
(cd "$W" && tar -cf - tree/a) | "$BOXLITE" cp - ex:/tmp/fromtar && \
	got=$("$BOXLITE" exec ex cat /tmp/fromtar/tree/a)
expect_eq "cp from - reads a tar" "$got" "hi"
python3 -c '
import tarfile,io,sys
t=tarfile.open(fileobj=sys.stdout.buffer,mode="w|")
ti=tarfile.TarInfo("l");ti.type=tarfile.SYMTYPE;ti.linkname="/";t.addfile(ti)
ti=tarfile.TarInfo("l/escaped");ti.size=1;t.addfile(ti,io.BytesIO(b"x"))
t.close()' > "$W/evil.tar"
"$BOXLITE" exec ex mkdir -p /tmp/jail
err=$("$BOXLITE" cp - ex:/tmp/jail < "$W/evil.tar" 2>&1); rc=$?
expect_eq "cp: escape through a symlink refused (rc)" "$rc" 1
expect_contains "cp: the error names the path and the reason" "$err" "l/escaped: refusing to write outside the destination"
"$BOXLITE" exec ex test ! -e /escaped && pass "cp: nothing written outside" || fail "cp: escaped"
err=$("$BOXLITE" cp ex:/no/such "$W/x" 2>&1); rc=$?
expect_eq "cp: missing source (rc)" "$rc" 1
expect_contains "cp: missing source (message)" "$err" "/no/such: No such file or directory"

"$BOXLITE" rm -f ex >/dev/null 2>&1 || { "$BOXLITE" stop ex >/dev/null; "$BOXLITE" rm ex >/dev/null; }
expect_no_leftovers "exec_cli"
t_done
