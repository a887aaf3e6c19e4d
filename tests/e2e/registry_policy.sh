#!/usr/bin/env bash
# create/run --pull=missing|always|never against a plain loopback registry,
# boxlite import of an OCI layout, boxlite image prune. Boots no VM (create
# only records the box and builds its disk).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"

reg_start plain || { echo "registry did not start"; exit 1; }
OCI="$T_HOME/oci/bb"
build_busybox_image "$OCI" v1 amd64 "first-$$"
build_busybox_image "$OCI" v2 amd64 "second-$$"
IMG="$REG/test/pol:1"
digest_of() { "$BOXLITE" images --format json | jq -r --arg r "$1" '.[] | select(.ref==$r) | .digest'; }

# --- never: a missing image is an error, nothing is pulled
push "$OCI" v1 "$IMG"
out=$("$BOXLITE" create --pull=never "$IMG" 2>&1); rc=$?
expect_eq "--pull=never on a missing image exit" "$rc" 125
expect_contains "--pull=never message" "$out" "not found in the home (not pulled: pull policy is never)"
expect_eq "--pull=never pulled nothing" "$("$BOXLITE" images -q | wc -l)" 0
out=$("$BOXLITE" create --pull=sometimes "$IMG" 2>&1); rc=$?
expect_eq "bad --pull value exit" "$rc" 125
expect_contains "bad --pull value message" "$out" "--pull must be 'missing', 'always' or 'never'"

# --- missing (default) pulls once; the tag moves in the registry
b1=$("$BOXLITE" create "$IMG" 2>&1); rc=$?
expect_eq "create pulls a missing image" "$rc" 0
D1=$(digest_of "$IMG")
push "$OCI" v2 "$IMG"
want=$(skopeo inspect --tls-verify=false --raw "docker://$IMG" | sha256sum | cut -d' ' -f1)
b2=$("$BOXLITE" create --pull=missing "$IMG" 2>&1); rc=$?
expect_eq "--pull=missing with the image present" "$rc" 0
expect_eq "--pull=missing keeps the stored image" "$(digest_of "$IMG")" "$D1"
b3=$("$BOXLITE" create --pull=never "$IMG" 2>&1); rc=$?
expect_eq "--pull=never with the image present" "$rc" 0

# --- always resolves the tag again and gets the new content
b4=$("$BOXLITE" create --pull=always "$IMG" 2>&1); rc=$?
expect_eq "--pull=always exit" "$rc" 0
expect_eq "--pull=always re-resolved the re-pushed tag" "$(digest_of "$IMG")" "sha256:$want"
[ "$D1" != "sha256:$want" ] && pass "re-pushed tag has a new digest" || fail "re-push did not change the digest"
out=$("$BOXLITE" create --pull=always "$REG/test/nope:1" 2>&1); rc=$?
expect_eq "--pull=always on a missing repository" "$rc" 125

for b in $b1 $b2 $b3 $b4; do "$BOXLITE" rm "$b" > /dev/null || fail "rm $b"; done

if "$BOXLITE" import --help > /dev/null 2>&1; then
	# --- import of an OCI image-layout directory
	out=$("$BOXLITE" import "$OCI:v1" test/imported:1 2>&1); rc=$?
	expect_eq "import exit" "$rc" 0
	expect_contains "import prints the name" "$out" "docker.io/test/imported:1"
	expect_eq "imported image listed" "$("$BOXLITE" images -q | grep -c test/imported)" 1
	out=$("$BOXLITE" import "$OCI:nope" x:1 2>&1); rc=$?
	expect_eq "import of a missing tag" "$rc" 125
	out=$("$BOXLITE" import "$T_HOME/none" x:1 2>&1); rc=$?
	expect_eq "import of a missing dir" "$rc" 125
fi

if "$BOXLITE" image prune --help > /dev/null 2>&1; then
	# --- prune: images no box uses go, with their blobs and disks
	keep=$("$BOXLITE" create --pull=never "$IMG" 2>&1) || fail "create for prune"
	out=$("$BOXLITE" image prune 2>&1); rc=$?
	expect_eq "prune exit" "$rc" 0
	expect_contains "prune names what it removed" "$out" "Deleted: docker.io/test/imported:1"
	expect_contains "prune reports the space" "$out" "Total reclaimed space:"
	expect_eq "prune keeps the image a box uses" "$("$BOXLITE" images -q | tr '\n' ' ')" "$IMG "
	"$BOXLITE" rm "$keep" > /dev/null
	out=$("$BOXLITE" image prune 2>&1); rc=$?
	expect_eq "second prune exit" "$rc" 0
	expect_eq "store empty after prune" "$("$BOXLITE" images -q | wc -l)" 0
	expect_eq "no blob left" "$(ls "$BOXLITE_HOME/images/blobs/sha256" | wc -l)" 0
	expect_eq "no disk (nor its lock file) left" "$(ls -A "$BOXLITE_HOME/images/bases" | wc -l)" 0
fi

t_done
