#!/usr/bin/env bash
# boxlite run -i / -t, as docker does: the box's main command (session 0)
# with this stdin streamed to it (EOF included), or on a pty in raw mode with
# resize; without -i it still gets an empty stdin.
source "$(dirname "$0")/lib.sh"
W=$T_HOME/w
mkdir -p "$W"
IMG=localhost/busybox:latest

got=$(printf 'a\nb\n' | "$BOXLITE" run --rm -i $IMG sort -r | tr '\n' ' ')
expect_eq "run -i: stdin and EOF reach the main command" "$got" "b a "

head -c 16777216 /dev/urandom > "$W/in"
want=$(sha256sum < "$W/in" | cut -c1-64)
got=$("$BOXLITE" run --rm -i --memory 768 $IMG sha256sum < "$W/in" | cut -c1-64)
expect_eq "run -i: 16 MiB through sha256sum" "$got" "$want"

# Without -i: empty stdin, even when ours is a pipe that never ends.
mkfifo "$W/fifo"
exec 7<>"$W/fifo"
got=$("$BOXLITE" run --rm $IMG cat <&7; echo "rc=$?")
exec 7>&-
expect_eq "run without -i: empty stdin (cat returns)" "$got" "rc=0"
"$BOXLITE" run --rm $IMG sh -c 'exit 7'; expect_eq "run: exit code" "$?" 7
"$BOXLITE" run --rm $IMG no-such-cmd 2>/dev/null; expect_eq "run: not found" "$?" 127

# -t in tmux: raw mode, sized like the terminal, resize reaches the guest,
# terminal restored at the end.
if command -v tmux >/dev/null; then
	S=bxri$$
	tmux -L "$S" new-session -d -x 100 -y 30 \
		"$BOXLITE run --rm -it $IMG sh; echo rc=\$? > $W/tty.rc; stty -a > $W/tty.after; sleep 30"
	raw=0
	for i in $(seq 100); do
		pane=$(tmux -L "$S" capture-pane -p)
		case "$pane" in *'#'*) break ;; esac
		sleep 0.2
	done
	t_tty_checks "run -t" "$S" "$W" 100
else
	echo "skip: tmux not installed"
fi

expect_no_leftovers "run_interactive"
t_done
