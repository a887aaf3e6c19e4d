#!/usr/bin/env bash
# boxlite pull from loopback registries that require authentication: basic
# (htpasswd) and bearer tokens (a token server minting RS256 JWTs), with
# credentials from `boxlite login` and from docker's config.json. Pull-only:
# running a pulled image is covered by registry_pull.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
command -v htpasswd >/dev/null || { echo "skip: htpasswd (apache2-utils) not installed"; exit 77; }
export DOCKER_CONFIG="$T_HOME/docker"   # never the user's own credentials
mkdir -p "$DOCKER_CONFIG"

OCI="$T_HOME/oci/bb"
build_busybox_image "$OCI" 1

for mode in basic token; do
	reg_start $mode || { echo "$mode registry did not start"; exit 1; }
	push "$OCI" 1 "$REG/test/busybox:1" alice:s3cret || fail "$mode: push"

	out=$("$BOXLITE" pull "$REG/test/busybox:1" 2>&1); rc=$?
	expect_eq "$mode: anonymous pull refused" "$rc" 125
	expect_contains "$mode: says to log in" "$out" "authentication required (run 'boxlite login $REG')"

	out=$(echo wrong | "$BOXLITE" login -u alice --password-stdin "$REG" 2>&1); rc=$?
	expect_eq "$mode: login with a wrong password" "$rc" 125
	expect_eq "$mode: nothing stored" "$(jq -r --arg r "$REG" '.auths[$r] // "none"' "$BOXLITE_HOME/auth.json" 2>/dev/null || echo none)" none

	out=$(echo s3cret | "$BOXLITE" login -u alice --password-stdin "$REG" 2>&1); rc=$?
	expect_eq "$mode: login" "$rc" 0
	expect_contains "$mode: login message" "$out" "Login Succeeded"
	expect_eq "$mode: auth.json is private" "$(stat -c %a "$BOXLITE_HOME/auth.json")" 600

	out=$("$BOXLITE" pull "$REG/test/busybox:1" 2>&1); rc=$?
	expect_eq "$mode: pull after login" "$rc" 0
	expect_contains "$mode: pulled" "$out" "Digest: sha256:"

	"$BOXLITE" logout "$REG" > /dev/null
	"$BOXLITE" rmi "$REG/test/busybox:1" > /dev/null
	out=$("$BOXLITE" pull "$REG/test/busybox:1" 2>&1); rc=$?
	expect_eq "$mode: refused again after logout" "$rc" 125

	# docker's own login file
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf alice:s3cret | base64)" > "$DOCKER_CONFIG/config.json"
	out=$("$BOXLITE" pull "$REG/test/busybox:1" 2>&1); rc=$?
	expect_eq "$mode: pull with docker's config.json" "$rc" 0
	rm -f "$DOCKER_CONFIG/config.json"
	"$BOXLITE" rmi "$REG/test/busybox:1" > /dev/null
done

t_done
