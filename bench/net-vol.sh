#!/usr/bin/env bash
# bench/net-vol: volume and network throughput, each against the same work on
# the host, in one run (issue 6). One booted box (python image) does:
#   - sequential write (fsync'd) and read of SIZE MiB through a 9p volume,
#     vs the same python code on the host directory directly;
#   - TCP guest -> host (via host.boxlite.internal = slirp -> host loopback)
#     into a sink on 127.0.0.1, vs a host client into the same sink.
# TCP rates are measured by the host-side sink (host clock).
# Usage: bench/net-vol.sh [SIZE_MIB]   (default 64). Needs `make build`.
set -eu
SIZE=${1:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BOXLITE=${BOXLITE:-$ROOT/build/bin/boxlite}
T=$(mktemp -d /tmp/bench-netvol.XXXXXX)
export BOXLITE_HOME=${BOXLITE_HOME:-$T/home}
SINK_PID=""
cleanup() { [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/vol"

cat > "$T/vol/fsbench.py" <<'PY'
import os, sys, time
d, mib = sys.argv[1], int(sys.argv[2])
p = os.path.join(d, "bench.dat")
buf = b"\xa5" * (1 << 20)
t = time.monotonic()
with open(p, "wb") as f:
    for _ in range(mib):
        f.write(buf)
    f.flush(); os.fsync(f.fileno())
w = mib / (time.monotonic() - t)
t = time.monotonic()
n = 0
with open(p, "rb", buffering=0) as f:
    while True:
        b = f.read(1 << 20)
        if not b: break
        n += len(b)
r = n / (1 << 20) / (time.monotonic() - t)
os.unlink(p)
print(f"{w:.1f} {r:.1f}")
PY

cat > "$T/sink.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
out = open(sys.argv[1], "a")
while True:
    c, _ = s.accept()
    n = 0; t0 = None
    while True:
        b = c.recv(1 << 20)
        if not b: break
        if t0 is None: t0 = time.monotonic()
        n += len(b)
    dt = time.monotonic() - t0 if t0 else 1
    out.write(f"{n / (1 << 20) / dt:.1f}\n"); out.flush(); c.close()
PY

cat > "$T/vol/send.py" <<'PY'
import socket, sys
host, port, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = socket.create_connection((host, port))
buf = b"\x5a" * (1 << 20)
for _ in range(mib): c.sendall(buf)
c.close()
PY

: > "$T/rates"
python3 "$T/sink.py" "$T/rates" > "$T/port" &
SINK_PID=$!
for i in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(cat "$T/port")

wait_rates() { for i in $(seq 300); do [ "$(wc -l < "$T/rates")" -ge "$1" ] && return; sleep 0.1; done; }

host_fs=$(python3 "$T/vol/fsbench.py" "$T/vol" "$SIZE")
python3 "$T/vol/send.py" 127.0.0.1 "$PORT" "$SIZE"; wait_rates 1
guest=$("$BOXLITE" run --rm -v "$T/vol:/vol" localhost/python:3.11 sh -c \
	"python3 /vol/fsbench.py /vol $SIZE && python3 /vol/send.py host.boxlite.internal $PORT $SIZE")
wait_rates 2
accel=$("$BOXLITE" info 2>/dev/null | awk -F': *' '/ccel/{print $2; exit}')

read -r hw hr <<<"$host_fs"
read -r gw gr <<<"$guest"
ht=$(sed -n 1p "$T/rates"); gt=$(sed -n 2p "$T/rates")
printf 'bench/net-vol: %s MiB, accelerator: %s\n' "$SIZE" "${accel:-?}"
printf '%-34s %10s %10s\n' "" "guest" "host"
printf '%-34s %10s %10s\n' "volume seq write MiB/s (fsync)" "$gw" "$hw"
printf '%-34s %10s %10s\n' "volume seq read MiB/s" "$gr" "$hr"
printf '%-34s %10s %10s\n' "TCP -> host loopback MiB/s" "$gt" "$ht"
