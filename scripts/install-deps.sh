#!/usr/bin/env bash
# Installs the Debian packages boxlite needs to build, run and test.
# Idempotent: installs only what is missing; runs `apt-get update` at most once.
set -euo pipefail

PACKAGES=(
  # build toolchain
  build-essential cmake pkg-config clang libclang-rt-14-dev musl-tools cpio
  # disks (QEMU itself: QEMU_PACKAGES below)
  e2fsprogs
  # guest kernel
  linux-source-6.1 bc bison flex libelf-dev libssl-dev xz-utils
  # images
  busybox-static mmdebstrap umoci skopeo
  # registry tests (loopback docker-registry, htpasswd for basic auth)
  docker-registry apache2-utils jq openssl
  # libraries
  libjansson-dev libarchive-dev libsqlite3-dev libcurl4-openssl-dev
  # the REST server (HTTP + upgrade to WebSocket); its tests and benchmark
  libmicrohttpd-dev python3-websockets wrk
  # tests
  tmux procps psmisc util-linux python3 python3-yaml
  # box archives: the export tests unpack and tamper with them; bench/snapshot.sh
  # compares export with tar --zstd
  zstd
  # the Python SDK (sdks/python): headers to build it, pytest to test it
  python3-dev python3-pytest python3-pytest-asyncio python3-pip python3-setuptools
  # completion scripts are checked with each shell's own parser
  zsh fish
  # the jail (seccomp filter)
  libseccomp-dev
)

# The REST compatibility test runs the reference's Node SDK: node and npm,
# from Debian unless the machine already has them.
command -v node >/dev/null && command -v npm >/dev/null || PACKAGES+=(nodejs npm)

# QEMU >= 8.2 maps a warm-start template's RAM file read-only and private
# (memory-backend-file readonly=on,rom=off), so boxes share the template's
# memory and none can write it. Bookworm has 7.2; bookworm-backports has 10.x.
# The engine still works with 7.2 (it probes the version); set
# BOXLITE_QEMU_BACKPORTS=0 to keep the distribution's QEMU.
QEMU_PACKAGES=(qemu-system-x86 qemu-utils)
QEMU_MIN=1:8.2
BACKPORTS=${BOXLITE_QEMU_BACKPORTS:-1}
[ "$BACKPORTS" != 0 ] || PACKAGES+=("${QEMU_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
qemu_old=()
if [ "$BACKPORTS" != 0 ]; then
  for p in "${QEMU_PACKAGES[@]}"; do
    v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
    [ -n "$v" ] && dpkg --compare-versions "$v" ge "$QEMU_MIN" || qemu_old+=("$p")
  done
fi
[ ${#missing[@]} -eq 0 ] && [ ${#qemu_old[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "install-deps: missing packages (${missing[*]} ${qemu_old[*]}); run as root" >&2; exit 1; }
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive

# bookworm-backports from the mirror apt already uses for bookworm.
BACKPORTS_LIST=/etc/apt/sources.list.d/boxlite-bookworm-backports.list
if [ ${#qemu_old[@]} -gt 0 ] && ! apt-cache policy 2>/dev/null | grep -q 'bookworm-backports/main'; then
  . "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/apt-sources.sh"
  debian_mirrors
  [ -n "$APT_MAIN" ] || { echo "install-deps: no Debian source in apt's sources to take bookworm-backports from" >&2; exit 1; }
  echo "install-deps: adding bookworm-backports ($APT_MAIN) for QEMU"
  echo "deb $APT_MAIN bookworm-backports main" | $SUDO tee "$BACKPORTS_LIST" >/dev/null
fi

$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#qemu_old[@]} -gt 0 ]; then
  echo "install-deps: installing ${qemu_old[*]} from bookworm-backports"
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports "${qemu_old[@]}" >/dev/null
fi
