#!/usr/bin/env bash
# The same commands work for an unprivileged user with a home of its own:
# nothing after `make build` needs root. Creates a throwaway user (needs root
# for that; skipped otherwise).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then echo "skipped: needs root to create a throwaway user"; exit 77; fi
USER_NAME="bxl$$"
useradd --no-create-home --home-dir "$T_HOME/u" --shell /bin/sh "$USER_NAME" || { fail "useradd"; t_done; }
trap 'userdel "$USER_NAME" 2>/dev/null; t_cleanup' EXIT
mkdir -p "$T_HOME/u" && chown "$USER_NAME" "$T_HOME/u"
chmod 755 "$T_HOME"
# The user must reach the build tree (its parents must be searchable).
d="$BUILD"; while [ "$d" != / ]; do
	[ -x "$d" ] || chmod o+x "$d"
	d=$(dirname "$d")
done

as_user() { runuser -u "$USER_NAME" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$T_HOME/u" "$@"; }

out=$(as_user "$BOXLITE" run --rm localhost/busybox:latest sh -c 'echo hi; echo err >&2; exit 3' 2>"$T_HOME/err"); rc=$?
expect_eq "non-root: stdout" "$out" "hi"
expect_eq "non-root: stderr" "$(cat "$T_HOME/err")" "err"
expect_eq "non-root: exit status" "$rc" "3"

out=$(as_user "$BOXLITE" run --rm localhost/python:3.11 python3 -c 'print(6*7)'); rc=$?
expect_eq "non-root: python" "$out" "42"

# File ownership inside the image is the image's, not the user's.
out=$(as_user "$BOXLITE" run --rm localhost/busybox:latest stat -c '%u:%g %a' /tmp /bin/busybox)
expect_eq "non-root: image ownership and modes kept" "$(echo $out)" "0:0 1777 0:0 755"

out=$(as_user "$BOXLITE" run --rm localhost/busybox:latest nosuchcmd 2>&1); rc=$?
expect_eq "non-root: missing command exits 127" "$rc" "127"
out=$(as_user "$BOXLITE" info); rc=$?
expect_eq "non-root: info" "$rc" "0"
[ -d "$T_HOME/u/.boxlite" ] && pass "non-root: default home ~/.boxlite" || fail "non-root: no ~/.boxlite"
expect_no_leftovers "non-root"
t_done
