#!/usr/bin/env bash
# Builds the boxlite guest kernel (uncompressed vmlinux, PVH entry) from
# Debian's linux-source-6.1 and kernel/boxlite.config, and copies it to OUT_PATH.
#
# Usage: scripts/build-kernel.sh OUT_PATH
#
# Cached: the key is the sha256 of the config fragment, the linux-source
# package version and this script. A cached kernel lives in
#   ${BOXLITE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/boxlite}/kernel/<key>/{vmlinux,config}
# The extracted source (kernel/src-<version>/) and the object tree
# (kernel/obj-<version>/) are reused across builds: after a fragment edit make
# recompiles only what the changed options touch (options used by widely
# included headers, e.g. PANIC_TIMEOUT, still rebuild nearly everything).
#
# Environment: BOXLITE_KERNEL_JOBS (default: nproc).
set -Eeuo pipefail

PKG=linux-source-6.1
TARBALL=/usr/src/linux-source-6.1.tar.xz
ARCH_ARG=ARCH=x86_64

log() { printf 'kernel: %s\n' "$*" >&2; }
die() { printf 'kernel: error: %s\n' "$*" >&2; exit 1; }
trap 'die "unexpected failure at line $LINENO of $0"' ERR

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 OUT_PATH" >&2
  exit 2
fi
out=$1

script=$(readlink -f -- "${BASH_SOURCE[0]}")
root=$(dirname -- "$(dirname -- "$script")")
fragment=$root/kernel/boxlite.config
[ -r "$fragment" ] || die "config fragment not found: $fragment"

version=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null) ||
  die "package $PKG is not installed (run scripts/install-deps.sh)"
[ -r "$TARBALL" ] || die "$TARBALL missing (reinstall $PKG)"

key=$({ cat -- "$fragment"; printf '%s=%s\n' "$PKG" "$version"; cat -- "$script"; } |
      sha256sum | cut -d' ' -f1)

if [ -n "${BOXLITE_CACHE_DIR:-}" ]; then
  cache=$BOXLITE_CACHE_DIR/kernel
else
  cache=${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/boxlite/kernel
fi
keydir=$cache/$key
src=$cache/src-$version
obj=$cache/obj-$version
buildlog=$cache/build-$key.log

# Prints every option of the fragment whose value in .config ($1) differs.
# "# CONFIG_X is not set" in the fragment means: not =y/=m in .config.
# Exit status 1 if any differs.
check_config() {
  awk '
    FNR == NR {
      if ($0 ~ /^CONFIG_[A-Za-z0-9_]+=/) {
        k = substr($0, 1, index($0, "=") - 1); want[k] = substr($0, index($0, "=") + 1)
      } else if ($0 ~ /^# CONFIG_[A-Za-z0-9_]+ is not set/) {
        want[$2] = "n"
      }
      next
    }
    /^CONFIG_[A-Za-z0-9_]+=/ { k = substr($0, 1, index($0, "=") - 1); have[k] = substr($0, index($0, "=") + 1) }
    END {
      bad = 0
      for (k in want) {
        h = (k in have) ? have[k] : "n"
        if (h != want[k]) { printf "kernel: option lost: %s wanted %s, got %s\n", k, want[k], h > "/dev/stderr"; bad = 1 }
      }
      exit bad
    }' "$fragment" "$1"
}

# make with a clean environment: no jobserver or flags leaking from a caller.
kmake() {
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u KBUILD_OUTPUT -u KCONFIG_CONFIG \
      -u KCFLAGS -u KCPPFLAGS -u KAFLAGS -u CROSS_COMPILE -u LLVM \
      KBUILD_BUILD_USER=boxlite KBUILD_BUILD_HOST=boxlite \
      make -C "$src" O="$obj" "$ARCH_ARG" "$@"
}

build() {
  local tool
  for tool in make gcc ld bc bison flex xz perl readelf sha256sum flock; do
    command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps.sh)"
  done
  [ -e /usr/include/libelf.h ] || die "libelf headers missing (install libelf-dev)"

  if [ ! -d "$src" ]; then
    rm -rf -- "$cache"/src-tmp.*   # left by an interrupted extraction
    log "extracting $TARBALL (about 1 min)…"
    local tmp
    tmp=$(mktemp -d "$cache/src-tmp.XXXXXX")
    tar -xf "$TARBALL" -C "$tmp" || { rm -rf "$tmp"; die "extracting $TARBALL failed"; }
    [ -f "$tmp/$PKG/Makefile" ] || { rm -rf "$tmp"; die "unexpected layout in $TARBALL"; }
    mv -T "$tmp/$PKG" "$src"
    rm -rf "$tmp"
  fi

  local jobs=${BOXLITE_KERNEL_JOBS:-$(nproc)}
  log "building $PKG $version with -j$jobs (about 4 min; log: $buildlog)…"
  local start=$SECONDS
  mkdir -p "$obj"
  : >"$buildlog"
  {
    kmake tinyconfig &&
    (cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m .config "$fragment") &&
    kmake olddefconfig
  } >>"$buildlog" 2>&1 || { tail -n 30 "$buildlog" >&2; die "configuring the kernel failed (see $buildlog)"; }

  check_config "$obj/.config" ||
    die "the fragment's options above did not survive olddefconfig (unmet dependencies?): fix kernel/boxlite.config"

  kmake -j"$jobs" vmlinux >>"$buildlog" 2>&1 ||
    { tail -n 40 "$buildlog" >&2; die "kernel build failed (see $buildlog)"; }

  # The PVH entry point is the ELF note XEN_ELFNOTE_PHYS32_ENTRY (type 0x12).
  readelf -n "$obj/vmlinux" 2>/dev/null | grep -q 'Xen .*0x00000012' ||
    die "built vmlinux has no PVH entry note"

  mkdir -p "$keydir"
  cp -- "$obj/.config" "$keydir/config.tmp.$$"
  mv -f -- "$keydir/config.tmp.$$" "$keydir/config"
  cp -- "$obj/vmlinux" "$keydir/vmlinux.tmp.$$"
  mv -f -- "$keydir/vmlinux.tmp.$$" "$keydir/vmlinux"
  log "built in $((SECONDS - start)) s: $keydir/vmlinux"
}

mkdir -p "$cache" || die "cannot create cache directory $cache"

if [ ! -f "$keydir/vmlinux" ]; then
  # One build at a time per cache; whoever waited finds the result cached.
  exec 9>"$cache/.lock"
  flock 9 || die "cannot lock $cache/.lock"
  [ -f "$keydir/vmlinux" ] || build
  exec 9>&-
fi

# Copy, never link: OUT_PATH must be readable by users who cannot enter $HOME.
if ! cmp -s -- "$keydir/vmlinux" "$out"; then
  mkdir -p -- "$(dirname -- "$out")" || die "cannot create the directory of $out"
  cp -- "$keydir/vmlinux" "$out.tmp.$$" || die "cannot write $out"
  chmod 0644 -- "$out.tmp.$$"
  mv -f -- "$out.tmp.$$" "$out" || { rm -f -- "$out.tmp.$$"; die "cannot write $out"; }
  log "vmlinux → $out"
fi
