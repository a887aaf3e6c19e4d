# Helpers for end-to-end tests: a private home, assertions, leak checks.
# Sourced by each test; BOXLITE_BUILD is set by ctest.
set -u
BUILD=${BOXLITE_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
BOXLITE="$BUILD/bin/boxlite"
T_HOME=$(mktemp -d /tmp/boxlite-e2e.XXXXXX)
export BOXLITE_HOME="$T_HOME/home"
FAILS=0

t_cleanup() {
	local pids
	pids=$(t_procs_in_home)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	rm -rf "$T_HOME"
}
trap t_cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# expect_eq WHAT GOT WANT
expect_eq() { if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi; }
# expect_contains WHAT HAYSTACK NEEDLE
expect_contains() {
	case "$2" in *"$3"*) pass "$1" ;; *) fail "$1: '$2' does not contain '$3'" ;; esac
}

# free_port: a TCP port free on 127.0.0.1 right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# t_host_http DIR: serves DIR over HTTP on the host's 127.0.0.1 at a free
# port (sets HPORT, HTTP_PID; stopped at exit) and waits until it answers.
t_host_http() {
	HPORT=$(free_port)
	(cd "$1" && exec python3 -m http.server --bind 127.0.0.1 "$HPORT" >/dev/null 2>&1) &
	HTTP_PID=$!
	trap 'kill $HTTP_PID 2>/dev/null; t_cleanup' EXIT
	for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HPORT/" && break; sleep 0.1; done
}

# Processes (shims, QEMUs) whose working directory is inside this test's home.
t_procs_in_home() {
	local p cwd
	for p in /proc/[0-9]*; do
		cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
		case "$cwd" in "$T_HOME"*) echo "${p#/proc/}" ;; esac
	done
}

# expect_no_leftovers WHAT: waits up to 10 s for every box process to be gone.
expect_no_leftovers() {
	local i left
	for i in $(seq 100); do
		left=$(t_procs_in_home)
		[ -z "$left" ] && { pass "$1: no shim or QEMU left"; return; }
		sleep 0.1
	done
	fail "$1: processes left behind: $(for p in $left; do tr '\0' ' ' < /proc/$p/cmdline | cut -c1-80; echo; done)"
}

# t_tty_checks LABEL TMUX_SOCKET DIR WAITS: in a tmux session (100x30) whose
# command is a boxlite -t shell that writes "rc=$?" to DIR/tty.rc and
# `stty -a` to DIR/tty.after when it ends: the guest sees the terminal size,
# a pty, a resize to 120x40 and the exit status 5, and the local terminal is
# restored. Waits up to WAITS x 0.2 s for the exit; kills the tmux server.
t_tty_checks() {
	local label=$1 S=$2 W=$3 waits=$4 pane i
	tmux -L "$S" send-keys 'stty size; tty' Enter
	sleep 1.5
	pane=$(tmux -L "$S" capture-pane -p)
	expect_contains "$label: size of the terminal" "$pane" "30 100"
	expect_contains "$label: on a pty" "$pane" "/dev/pts/"
	tmux -L "$S" resize-window -x 120 -y 40 2>/dev/null || tmux -L "$S" resize-pane -x 120 -y 40
	sleep 1
	tmux -L "$S" send-keys 'clear; stty size' Enter
	sleep 1.5
	pane=$(tmux -L "$S" capture-pane -p)
	expect_contains "$label: resize reaches the guest" "$pane" "40 120"
	tmux -L "$S" send-keys 'exit 5' Enter
	for i in $(seq "$waits"); do [ -s "$W/tty.rc" ] && break; sleep 0.2; done
	expect_eq "$label: exit status" "$(cat "$W/tty.rc" 2>/dev/null)" "rc=5"
	sleep 0.5
	grep -qw -- '-icanon' "$W/tty.after" && fail "$label: terminal left in raw mode" \
		|| { grep -qw icanon "$W/tty.after" && pass "$label: terminal restored"; } || fail "$label: no stty output"
	tmux -L "$S" kill-server 2>/dev/null
}

t_done() {
	if [ "$FAILS" -ne 0 ]; then
		echo "$FAILS failure(s)" >&2
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
