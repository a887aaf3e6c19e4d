#!/usr/bin/env bash
# boxlite pull against a plain loopback registry: pull and run, layer reuse,
# multi-arch index, tampered blob, resumed download, images/rmi, errors.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"

reg_start plain || { echo "registry did not start"; exit 1; }
OCI="$T_HOME/oci/bb"
build_busybox_image "$OCI" 1
umoci config --image "$OCI:1" --tag 2 --config.env FOO=bar   # same layer, another config
push "$OCI" 1 "$REG/test/busybox:1"
push "$OCI" 2 "$REG/test/other:2"
LAYER=$(jq -r '.layers[0].digest' "$OCI/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="1") | .digest' "$OCI/index.json" | cut -d: -f2)")
# GETs of the layer by boxlite, from the registry's access log
layer_gets() { grep "\"GET /v2/test/[a-z]*/blobs/$LAYER HTTP" "$REG_DIR/registry.log" | grep -c boxlite; }

# --- pull, then a second image sharing the layer downloads nothing twice
out=$("$BOXLITE" pull "$REG/test/busybox:1" 2>&1); rc=$?
expect_eq "pull exit" "$rc" 0
expect_contains "pull prints the digest" "$out" "Digest: sha256:"
expect_contains "pull shows the layer (plain lines off a terminal)" "$out" "${LAYER:7:12}: downloaded"
expect_eq "layer fetched once" "$(layer_gets)" 1
out=$("$BOXLITE" pull "$REG/test/other:2" 2>&1); rc=$?
expect_eq "pull of an image sharing the layer" "$rc" 0
expect_contains "shared layer reported as present" "$out" "already exists"
expect_eq "shared layer not downloaded again" "$(layer_gets)" 1
out=$("$BOXLITE" pull "$REG/test/busybox:1" 2>&1)
expect_eq "re-pull downloads nothing" "$(layer_gets)" 1
json=$("$BOXLITE" images --format json)
expect_eq "images lists both" "$(echo "$json" | jq -r '.[].ref' | sort | tr '\n' ' ')" \
	"$REG/test/busybox:1 $REG/test/other:2 "

# --- run the pulled image (one VM boot)
out=$("$BOXLITE" run --rm "$REG/test/busybox:1" cat /etc/passwd 2>&1); rc=$?
expect_eq "run pulled image exit" "$rc" 0
expect_contains "run pulled image output" "$out" "root:x:0:0:root:/root:/bin/sh"
expect_no_leftovers "run --rm"

# --- multi-arch index: linux/amd64 is picked
build_multiarch "$T_HOME/oci/multi" m
push_all "$T_HOME/oci/multi" m "$REG/test/multi:1"
want=$(skopeo inspect --tls-verify=false --raw "docker://$REG/test/multi:1" |
	jq -r '.manifests[] | select(.platform.architecture=="amd64") | .digest')
out=$("$BOXLITE" pull "$REG/test/multi:1" 2>&1); rc=$?
expect_eq "pull multi-arch exit" "$rc" 0
expect_eq "multi-arch picks amd64" "$("$BOXLITE" images --format json | jq -r --arg r "$REG/test/multi:1" '.[] | select(.ref==$r) | .digest')" "$want"
out=$("$BOXLITE" pull --platform linux/s390x "$REG/test/multi:1" 2>&1); rc=$?
expect_eq "absent platform exit" "$rc" 125
expect_contains "absent platform message" "$out" "no image for platform linux/s390x in the index (it offers: linux/arm64/v8, linux/amd64)"
out=$("$BOXLITE" pull --platform linux/arm64 "$REG/test/multi:1" 2>&1); rc=$?
expect_eq "foreign platform exit" "$rc" 125
expect_contains "foreign platform message" "$out" "cannot run on this linux/amd64 host"

# --- a tampered blob is refused, nothing of it kept; repaired, it pulls
build_busybox_image "$OCI" bad amd64 "unique-$$-$RANDOM"
push "$OCI" bad "$REG/test/bad:1"
BAD=$(skopeo inspect --tls-verify=false --raw "docker://$REG/test/bad:1" | jq -r '.layers[0].digest')
f=$(registry_blob_file "$BAD")
cp "$f" "$T_HOME/good-blob"
printf 'X' | dd of="$f" bs=1 seek=200 conv=notrunc 2>/dev/null
out=$("$BOXLITE" pull "$REG/test/bad:1" 2>&1); rc=$?
expect_eq "tampered blob exit" "$rc" 125
expect_contains "tampered blob message" "$out" "blob $BAD is corrupt: digest mismatch"
expect_eq "tampered blob not kept" "$(find "$BOXLITE_HOME/images" -name "${BAD#sha256:}*" | wc -l)" 0
expect_eq "tampered image not listed" "$("$BOXLITE" images -q | grep -c test/bad)" 0
cp "$T_HOME/good-blob" "$f"
out=$("$BOXLITE" pull "$REG/test/bad:1" 2>&1); rc=$?
expect_eq "pull after repair" "$rc" 0

# --- an interrupted download resumes (a correct prefix) or restarts (garbage)
build_busybox_image "$OCI" resume amd64 "resume-$$-$RANDOM"
push "$OCI" resume "$REG/test/resume:1"
RES=$(skopeo inspect --tls-verify=false --raw "docker://$REG/test/resume:1" | jq -r '.layers[0].digest')
mkdir -p "$BOXLITE_HOME/images/partial"
head -c 300000 "$(registry_blob_file "$RES")" > "$BOXLITE_HOME/images/partial/${RES#sha256:}"
out=$("$BOXLITE" pull "$REG/test/resume:1" 2>&1); rc=$?
expect_eq "resumed pull exit" "$rc" 0
expect_eq "resumed blob is intact" "sha256:$(sha256sum "$BOXLITE_HOME/images/blobs/sha256/${RES#sha256:}" | cut -d' ' -f1)" "$RES"
expect_eq "resume asked for the rest only" "$(grep "\"GET /v2/test/resume/blobs/$RES HTTP" "$REG_DIR/registry.log" | grep -c '" 206 ')" 1
"$BOXLITE" rmi "$REG/test/resume:1" > /dev/null
head -c 1000 /dev/urandom > "$BOXLITE_HOME/images/partial/${RES#sha256:}"
out=$("$BOXLITE" pull "$REG/test/resume:1" 2>&1); rc=$?
expect_eq "garbage partial: refused" "$rc" 125
expect_contains "garbage partial: digest error" "$out" "digest mismatch"
out=$("$BOXLITE" pull "$REG/test/resume:1" 2>&1); rc=$?
expect_eq "garbage partial: next pull succeeds" "$rc" 0

# --- rmi frees unshared blobs only
"$BOXLITE" rmi "$REG/test/other:2" > /dev/null
expect_eq "rmi keeps a layer still used" "$(ls "$BOXLITE_HOME/images/blobs/sha256" | grep -c "${LAYER#sha256:}")" 1
"$BOXLITE" rmi "$REG/test/busybox:1" > /dev/null
expect_eq "rmi frees the last user's layer" "$(ls "$BOXLITE_HOME/images/blobs/sha256" | grep -c "${LAYER#sha256:}")" 0
out=$("$BOXLITE" rmi "$REG/test/busybox:1" 2>&1); rc=$?
expect_eq "rmi of a missing image" "$rc" 125
expect_contains "rmi of a missing image message" "$out" "not found"

# --- killed at random moments, a later pull still ends with a correct image
big="$T_HOME/bigroot"
mkdir -p "$big/data"
head -c 40000000 /dev/urandom > "$big/data/blob"
umoci new --image "$OCI:big"
umoci insert --image "$OCI:big" "$big" / > /dev/null
umoci config --image "$OCI:big" --architecture amd64 --os linux
push "$OCI" big "$REG/test/big:1"
BIG=$(skopeo inspect --tls-verify=false --raw "docker://$REG/test/big:1" | jq -r '.layers[0].digest')
for delay in 0.05 0.1 0.15 0.2 0.3 0.4; do
	{ timeout -s KILL $delay "$BOXLITE" pull "$REG/test/big:1"; } > /dev/null 2>&1
done
out=$("$BOXLITE" pull "$REG/test/big:1" 2>&1); rc=$?
expect_eq "pull after kills" "$rc" 0
expect_eq "layer intact after kills" "sha256:$(sha256sum "$BOXLITE_HOME/images/blobs/sha256/${BIG#sha256:}" | cut -d' ' -f1)" "$BIG"
expect_eq "no partial left" "$(ls "$BOXLITE_HOME/images/partial" | wc -l)" 0
"$BOXLITE" rmi "$REG/test/big:1" > /dev/null
expect_eq "no work dir left behind" "$(ls "$BOXLITE_HOME/images/tmp" | grep -c '^pull\.')" 0

# --- errors
out=$("$BOXLITE" pull "$REG/test/nope:1" 2>&1); rc=$?
expect_eq "missing repository exit" "$rc" 125
expect_contains "missing repository message" "$out" "not found"
out=$("$BOXLITE" pull "$REG/Test/x" 2>&1); rc=$?
expect_eq "invalid reference exit" "$rc" 125
expect_contains "invalid reference message" "$out" "must be lowercase"
out=$("$BOXLITE" pull "127.0.0.1:1/test/x:1" 2>&1); rc=$?
expect_eq "unreachable registry exit" "$rc" 125

t_done
