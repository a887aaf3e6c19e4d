#!/usr/bin/env bash
# Builds boxlite's built-in images as OCI image layouts:
#   OUT_DIR/busybox  tag "latest"  busybox-static + applet links, Cmd ["/bin/sh"]
#   OUT_DIR/python   tag "3.11"    Debian bookworm minbase + python3 and pip, Cmd ["python3"]
#
# Each image is cached in ${BOXLITE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/boxlite}/images/<name>-<key>/
# where <key> hashes this script and the versions of the tools and packages that
# shape the result. A cache entry is built in a temp dir and renamed into place
# only when complete. OUT_DIR/<name> is a real copy (never a symlink into a
# cache that other users may not be able to read); OUT_DIR/<name>/.boxlite-key
# records which key it was copied from, so a stale copy is replaced.
#
# Needs: busybox-static, umoci (both images); mmdebstrap and root (python).
# Usage: scripts/build-images.sh OUT_DIR [IMAGE...]   (IMAGE: busybox, python; default both)
set -euo pipefail
umask 022

die() { echo "images: error: $*" >&2; exit 1; }
say() { echo "images: $*" >&2; }

[ $# -ge 1 ] || die "usage: $0 OUT_DIR [busybox] [python]"
OUT_DIR=$1
shift
IMAGES=("$@")
[ ${#IMAGES[@]} -gt 0 ] || IMAGES=(busybox python)

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
APT_SOURCES_LIB=$(dirname "$SCRIPT")/apt-sources.sh
# shellcheck source=apt-sources.sh
. "$APT_SOURCES_LIB"
CACHE_ROOT=${BOXLITE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/boxlite}
CACHE=$CACHE_ROOT/images
PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64) # Debian names = OCI names for amd64/arm64

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found (package $2; run scripts/install-deps.sh)"; }
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "unknown"; }

# Cache key: this script plus the given extra strings.
cache_key() { { cat "$SCRIPT" "$APT_SOURCES_LIB"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16; }

# Removes the temp build dir on any exit, so a failed build leaves nothing
# that looks like a cache entry (entries only appear by rename).
TMP_DIRS=()
cleanup() {
	local d
	for d in "${TMP_DIRS[@]}"; do [ -e "$d" ] && rm -rf --one-file-system "$d"; done
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Packs ROOTFS into the OCI layout LAYOUT under TAG, then applies the config args.
pack_layout() {
	local rootfs=$1 layout=$2 tag=$3
	shift 3
	local rootless=()
	[ "$(id -u)" -eq 0 ] || rootless=(--rootless)
	umoci init --layout "$layout"
	umoci new --image "$layout:$tag"
	umoci insert "${rootless[@]}" --image "$layout:$tag" "$rootfs" /
	umoci config --image "$layout:$tag" --os linux --architecture "$ARCH" "$@"
	umoci gc --layout "$layout"
	chmod -R a+rX "$layout"
}

build_busybox() {
	local work=$1 layout=$2
	local bb=/bin/busybox root=$work/rootfs a
	need umoci umoci
	[ -x "$bb" ] && file_is_static "$bb" || die "static /bin/busybox not found (package busybox-static)"
	mkdir -p "$root"
	chmod 0755 "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/run,home}
	chmod 1777 "$root/tmp"
	chmod 0700 "$root/root"
	cp "$bb" "$root/bin/busybox"
	chmod 0755 "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list-full); do
		[ "$a" = bin/busybox ] && continue
		mkdir -p "$root/$(dirname "$a")"
		ln -sf /bin/busybox "$root/$a"
	done
	cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
	cat > "$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
	echo "127.0.0.1 localhost" > "$root/etc/hosts"
	pack_layout "$root" "$layout" latest \
		--config.env "PATH=$PATH_ENV" --config.cmd /bin/sh --config.workingdir /
}

build_python() {
	local work=$1 layout=$2 root=$work/rootfs sources=$work/sources.list
	need umoci umoci
	need mmdebstrap mmdebstrap
	[ "$(id -u)" -eq 0 ] || die "the python image is built with mmdebstrap in root mode; run as root"
	bookworm_sources > "$sources" || die "python: no apt source to build the Debian root from"
	say "python: apt sources: $(tr '\n' ';' < "$sources")"
	# Pass the host's apt proxy / validity settings through for the build only.
	local aptopts=() v
	v=$(apt-config dump 2>/dev/null | grep -iE '^Acquire::(https?::Proxy|Check-Valid-Until)' || true)
	while IFS= read -r line; do
		[ -n "$line" ] && aptopts+=("--aptopt=$line;")
	done <<<"$v"
	mkdir -p "$root"
	# Drop docs, man pages and translations at unpack time (keeps copyright files).
	mmdebstrap --quiet --mode=root --variant=minbase --include=python3,python3-pip \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/lintian/*' \
		"${aptopts[@]}" \
		--customize-hook='rm -f "$1/etc/apt/apt.conf.d/99mmdebstrap" "$1/etc/hostname"' \
		--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log "$1"/tmp/*' \
		bookworm "$root" "$sources" \
		|| die "mmdebstrap failed (is the Debian mirror reachable through apt?)"
	[ -x "$root/usr/bin/python3.11" ] || die "python3.11 missing from the bookworm rootfs"
	chmod 0755 "$root"
	pack_layout "$root" "$layout" 3.11 \
		--config.env "PATH=$PATH_ENV" --config.env LANG=C.UTF-8 \
		--config.cmd python3 --config.workingdir /
}

file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }

# Ensures CACHE/<name>-<key> exists (building it if needed), then copies it to
# OUT_DIR/<name> unless that copy already carries the same key.
ensure_image() {
	local name=$1 key=$2 secs=$3 entry
	entry=$CACHE/$name-$key
	mkdir -p "$CACHE" "$OUT_DIR"
	# One builder per image at a time (concurrent builds, parallel make).
	exec {lockfd}> "$CACHE/.$name.lock"
	flock "$lockfd" || die "cannot lock $CACHE/.$name.lock"
	if [ -f "$entry/index.json" ]; then
		say "$name: cached ($entry)"
	else
		local work start stale
		# Leftovers of a builder that was killed (we hold the lock, so none is running).
		for stale in "$CACHE/.build-$name".*; do
			[ ! -d "$stale" ] || rm -rf --one-file-system "$stale"
		done
		work=$(mktemp -d "$CACHE/.build-$name.XXXXXX")
		TMP_DIRS+=("$work")
		start=$(date +%s)
		say "building $name (about $secs s)…"
		"build_$name" "$work" "$work/layout"
		[ -f "$work/layout/index.json" ] || die "$name: umoci produced no index.json"
		echo "$key" > "$work/layout/.boxlite-key"
		chmod 0755 "$work/layout"
		mv -T "$work/layout" "$entry"
		rm -rf --one-file-system "$work"
		say "$name: built in $(( $(date +%s) - start )) s"
		# Drop older cache entries of this image.
		local old
		for old in "$CACHE/$name"-*; do
			[ "$old" = "$entry" ] || [ ! -d "$old" ] || rm -rf --one-file-system "$old"
		done
	fi
	local dst=$OUT_DIR/$name
	if [ "$(cat "$dst/.boxlite-key" 2>/dev/null || true)" = "$key" ] && [ -f "$dst/index.json" ]; then
		say "$name: $dst is up to date"
	else
		local tmp=$OUT_DIR/.$name.new.$$
		TMP_DIRS+=("$tmp" "$OUT_DIR/.$name.old.$$")
		rm -rf "$tmp"
		cp -a "$entry" "$tmp"
		chmod -R a+rX "$tmp"
		[ ! -e "$dst" ] || mv -T "$dst" "$OUT_DIR/.$name.old.$$"
		mv -T "$tmp" "$dst"
		rm -rf "$OUT_DIR/.$name.old.$$"
		say "$name: installed $dst"
	fi
	exec {lockfd}>&-
}

for img in "${IMAGES[@]}"; do
	case "$img" in
	busybox)
		need umoci umoci
		ensure_image busybox "$(cache_key busybox "busybox-static $(pkgver busybox-static)" "umoci $(pkgver umoci)")" 1
		;;
	python)
		need umoci umoci
		need mmdebstrap mmdebstrap
		ensure_image python "$(cache_key python "mmdebstrap $(pkgver mmdebstrap)" "umoci $(pkgver umoci)")" 40
		;;
	*) die "unknown image '$img' (known: busybox, python)" ;;
	esac
done
