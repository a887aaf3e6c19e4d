#!/usr/bin/env bash
# Measures the syscalls that the shim and QEMU make inside the jail, i.e.
# after the shim installs the jail's seccomp filter (src/shim/jail_seccomp.c),
# across the test suite: the data behind the filter's allow-list
# (docs/security.md, "The seccomp wall"). Refresh it when QEMU, glibc, the
# shim or the guest's device set changes.
#
#   scripts/seccomp-trace.sh [CTEST_REGEX]     (default ^e2e_: every e2e test)
#   scripts/seccomp-trace.sh --analyze OUT     (only step 3, on traces kept in OUT)
#
# How: it builds a shim whose allow-list logs instead of killing
# (-DBX_SECCOMP_TRACE), and BOXLITE_SHIM points to a wrapper that runs it
# under `strace -f` (the tracer runs outside the jail: -DDD makes it a
# detached grandchild, so the shim keeps its pid and process group). Then the
# shim tests (fake QEMU, real VM) and a few paths the suite may miss, as root
# and as nobody (rootless jail). For each traced process only the syscalls
# made after its seccomp(SECCOMP_SET_MODE_FILTER) succeeded count, and every
# process or thread it creates afterwards inherits that. Traces of jail.sh's
# compromised-QEMU stand-in (forbidden calls on purpose) are left out.
#
# Output (in $OUT, default a new /tmp/boxlite-seccomp.XXXXXX):
#   syscalls.txt  "count name", every syscall seen inside the jail
#   arguments.txt "count name(first args)" for the syscalls whose arguments
#                 the filter restricts (prctl options, socket families, ...)
#   missing.txt   seen inside the jail but not listed in jail_seccomp.c
# and the missing ones on stdout. Exit status 1 when some are missing.
# Tests may fail under strace (slower QEMU): only coverage matters here.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BOXLITE_BUILD:-$ROOT/build}
REGEX=${1:-'^e2e_'}
ANALYZE_ONLY=0
[ "$REGEX" = --analyze ] && { ANALYZE_ONLY=1; OUT=${2:?usage: $0 --analyze OUT}; }
OUT=${OUT:-$(mktemp -d /tmp/boxlite-seccomp.XXXXXX)}
collect() {
command -v strace >/dev/null || { echo "strace is needed (apt-get install strace)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (the non-root pass uses runuser)" >&2; exit 2; }
mkdir -p "$OUT/traces"
chmod 1777 "$OUT/traces"
chmod 755 "$OUT"

# A shim whose allow-list logs instead of killing (BX_SECCOMP_TRACE), so one
# run sees every syscall, listed or not; then the wrapper: one trace file per
# shim, named after the shim's pid.
echo "building a tracing shim in $OUT/build" >&2
cmake -S "$ROOT" -B "$OUT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS=-DBX_SECCOMP_TRACE \
	>"$OUT/build.log" 2>&1 &&
	cmake --build "$OUT/build" --target boxlite-shim -j2 >>"$OUT/build.log" 2>&1 ||
	{ echo "building the tracing shim failed (see $OUT/build.log)" >&2; exit 2; }
REAL_SHIM="$OUT/build/bin/boxlite-shim"
[ -x "$REAL_SHIM" ] || REAL_SHIM=$(find "$OUT/build" -name boxlite-shim -type f -perm -u+x | head -1)
cat >"$OUT/boxlite-shim" <<EOF
#!/bin/sh
exec strace -DDD -f -qq -s 0 --pidns-translation -o "$OUT/traces/shim.\$\$" -- "$REAL_SHIM" "\$@"
EOF
chmod 755 "$OUT/boxlite-shim"

echo "traces in $OUT/traces" >&2
# 1. The suite (as root), then the shim tests (they take the shim's path as argv[1]).
(cd "$BUILD" && BOXLITE_SHIM="$OUT/boxlite-shim" ctest -j1 -R "$REGEX" -E fuzz \
	--timeout 900 >"$OUT/ctest.log" 2>&1)
grep -E "tests passed|Failed|\*\*\*" "$OUT/ctest.log" >&2
for t in test-shim test-shim-vm; do
	exe=$(find "$BUILD" -name "$t" -type f -perm -u+x | head -1)
	[ -n "$exe" ] || continue
	case $t in
	test-shim) "$exe" "$OUT/boxlite-shim" "$(find "$BUILD" -name shim-fake-qemu -type f | head -1)" ;;
	test-shim-vm) "$exe" "$OUT/boxlite-shim" "$BUILD/share/boxlite" ;;
	esac >"$OUT/$t.log" 2>&1 || echo "$t failed under strace (see $OUT/$t.log)" >&2
done

# 2. Extra paths, as root and as nobody (the rootless jail): a volume (9p),
# a port forward, user networking, pause/resume (QMP), cp, stop/start,
# --network none, kill -9 of QEMU, and QEMU failing on a broken disk.
B="$BUILD/bin/boxlite"
scenarios() { # RUN: a command prefix that runs boxlite as some user
	local id
	id=$("$@" run -d -v "$VOL:/data" -p 18089:8080 localhost/busybox:latest \
		sh -c 'httpd -p 8080 -h /data; sleep 600')
	"$@" exec "$id" sh -c 'echo hi >/data/f; mkdir -p /data/d; ln -sf f /data/l; ls -la /data;
		cat /data/l; mv /data/f /data/g; chmod 600 /data/g; rm -r /data/d; sync'
	wget -q -O - http://127.0.0.1:18089/g || curl -s http://127.0.0.1:18089/g
	"$@" exec "$id" sh -c 'wget -q -O /dev/null http://10.0.2.2:1/ ; nslookup example.com; true'
	"$@" stats --no-stream "$id" || "$@" stats "$id"
	"$@" pause "$id"
	"$@" unpause "$id"
	"$@" cp "$id:/etc/passwd" "$VOL/passwd.copy"
	"$@" cp "$VOL/passwd.copy" "$id:/tmp/"
	"$@" stop "$id"
	"$@" start "$id"
	"$@" exec "$id" true
	q=$(pgrep -P "$(cut -d' ' -f1 "$SH/boxes/$id/shim.pid")" qemu-system)
	[ -n "$q" ] && kill -9 "$q" # the shim sees QEMU die
	sleep 2
	"$@" rm -f "$id"
	"$@" run --rm --network none localhost/busybox:latest true
	id=$("$@" create localhost/busybox:latest true)
	[ -f "$SH/boxes/$id/disk.qcow2" ] && head -c 4096 /dev/urandom >"$SH/boxes/$id/disk.qcow2"
	"$@" start "$id"
	"$@" rm -f "$id"
}
VOL="$OUT/vol-root" SH="$OUT/root-home"
mkdir -p "$VOL"
BOXLITE_HOME="$SH" BOXLITE_SHIM="$OUT/boxlite-shim" scenarios "$B" >"$OUT/root.log" 2>&1
U=nobody
VOL="$OUT/u/vol" SH="$OUT/u/home"
mkdir -p "$VOL" && chown -R "$U" "$OUT/u"
d="$BUILD"; while [ "$d" != / ]; do [ -x "$d" ] || chmod o+x "$d"; d=$(dirname "$d"); done
scenarios runuser -u "$U" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$OUT/u" \
	BOXLITE_HOME="$OUT/u/home" BOXLITE_SHIM="$OUT/boxlite-shim" "$B" >"$OUT/nonroot.log" 2>&1
}
[ $ANALYZE_ONLY -eq 1 ] || collect

# 3. Analysis. Trace lines: "PID name(args) = ret", "PID name(args <unfinished ...>",
# "PID <... name resumed>...) = ret", "PID --- SIG... ---".
summarize() {
	awk '
	function name_of(line,   s) {
		s = line
		sub(/^[0-9]+ +/, "", s)
		if (s ~ /^<\.\.\. /) { sub(/^<\.\.\. /, "", s); sub(/ resumed>.*/, "", s); return s }
		if (s ~ /^(---|\+\+\+)/) return ""
		sub(/\(.*/, "", s)
		return s
	}
	function ret_of(line,   r) {
		# --pidns-translation: "= 2 /* 26384 in strace(apostrophe)s PID NS */"
		if (line ~ /\) += [0-9]+ \/\* [0-9]+ in strace.s PID NS \*\/$/) {
			r = line; sub(/.*\/\* /, "", r); sub(/ .*/, "", r); return r + 0
		}
		if (line !~ /\) += [0-9]+/) return -1
		r = line; sub(/.*\) += /, "", r); sub(/ .*/, "", r); return r + 0
	}
	# pass 1: where each pid installs a filter, and who creates whom, when
	FNR == NR {
		pid = $1 + 0; n = name_of($0)
		# (libseccomp first probes with a NULL filter: only a success counts)
		if (n == "seccomp" && $0 ~ /SECCOMP_SET_MODE_FILTER/ && ret_of($0) >= 0 && !(pid in mark))
			mark[pid] = FNR
		if (n == "prctl" && $0 ~ /PR_SET_SECCOMP/ && ret_of($0) >= 0 && !(pid in mark))
			mark[pid] = FNR
		if (n ~ /^(clone|clone3|fork|vfork)$/) {
			if ($0 !~ /resumed>/) start[pid] = FNR
			c = ret_of($0)
			if (c > 0) { parent[c] = pid; at[c] = (pid in start) ? start[pid] : FNR }
		}
		next
	}
	FNR == 1 {
		# inherit: a process created after its parent was filtered is filtered
		do {
			changed = 0
			for (c in parent) if ((!(c in mark) || mark[c] > 0) && (parent[c] in mark) &&
					     at[c] > mark[parent[c]]) {
				mark[c] = 0; changed = 1
			}
		} while (changed)
	}
	{
		pid = $1 + 0
		if (!(pid in mark) || FNR <= mark[pid]) next
		n = name_of($0)
		if (n == "" || $0 ~ /resumed>/) next
		count[n]++
		# the arguments that jail_seccomp.c restricts
		if (n ~ /^(prctl|socket|socketpair|prlimit64|mknod|mknodat|personality)$/) {
			a = $0; sub(/^[0-9]+ +[a-z0-9_]+\(/, "", a)
			if (n == "socket" || n == "socketpair") {
				split(a, f, /, /); a = f[1] ", " f[2] ", " f[3]; sub(/\).*/, "", a)
			}
			else if (n == "mknodat") { sub(/^[^,]*, [^,]*, /, "", a); sub(/[|,].*/, "", a) }
			else if (n == "mknod") { sub(/^[^,]*, /, "", a); sub(/[|,].*/, "", a) }
			else sub(/[,)].*/, "", a)
			sub(/ *<unfinished.*/, "", a)
			gsub(/ /, "", a)
			count[n "(" a ")"]++
		}
		if (n == "clone" && $0 ~ /CLONE_NEW/) count["clone(CLONE_NEW*)"]++
	}
	END { for (n in count) print count[n], n }
	' "$1" "$1"
}
for f in "$OUT"/traces/shim.*; do
	# (jail.sh's compromised-QEMU stand-in makes forbidden calls on purpose)
	grep -q 'execve("[^"]*jail_attacker"' "$f" && continue
	[ -s "$f" ] && summarize "$f"
done | awk '{c[$2] += $1} END {for (n in c) print c[n], n}' | sort -k2 >"$OUT/all.txt"
grep -v '(' "$OUT/all.txt" >"$OUT/syscalls.txt"
grep '(' "$OUT/all.txt" >"$OUT/arguments.txt"

# Listed: the names in allow_list and enosys_list, and the argument-checked
# SCMP_SYS(name) rules (whose arguments arguments.txt shows).
{
	awk '/(allow|enosys)_list\[\] = \{/ {on = 1; next} on && /^\};/ {on = 0} on' \
		"$ROOT/src/shim/jail_seccomp.c" | grep -o '"[a-z0-9_]*"' | tr -d '"'
	grep -o 'SCMP_SYS([a-z0-9_]*)' "$ROOT/src/shim/jail_seccomp.c" | sed 's/SCMP_SYS(\(.*\))/\1/'
} | sort -u >"$OUT/allowed.txt"
awk '{print $2}' "$OUT/syscalls.txt" | sort | comm -23 - "$OUT/allowed.txt" >"$OUT/missing.txt"
echo "$(wc -l <"$OUT/syscalls.txt") syscalls seen inside the jail ($OUT/syscalls.txt)" >&2
if [ -s "$OUT/missing.txt" ]; then
	echo "not in the allow-list:" >&2
	cat "$OUT/missing.txt"
	exit 1
fi
echo "all in the allow-list" >&2
