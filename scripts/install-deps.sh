#!/usr/bin/env bash
# Installs the Debian packages boxlite needs to build, run and test.
# Idempotent: installs only what is missing; runs `apt-get update` at most once.
set -euo pipefail

PACKAGES=(
  # build toolchain
  build-essential cmake pkg-config clang libclang-rt-14-dev musl-tools cpio
  # engine and disks
  qemu-system-x86 qemu-utils e2fsprogs
  # guest kernel
  linux-source-6.1 bc bison flex libelf-dev libssl-dev xz-utils
  # images
  busybox-static mmdebstrap umoci skopeo
  # registry tests (loopback docker-registry, htpasswd for basic auth)
  docker-registry apache2-utils jq openssl
  # libraries
  libjansson-dev libarchive-dev libsqlite3-dev libcurl4-openssl-dev
  # tests
  tmux procps psmisc util-linux python3
  # the jail (seccomp filter)
  libseccomp-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "install-deps: missing packages (${missing[*]}); run as root" >&2; exit 1; }
else
  SUDO=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
