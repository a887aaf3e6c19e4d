#!/usr/bin/env bash
# boxlite load: docker-archive and oci-archive files made by skopeo, names,
# and refusal of broken or hostile archives. No VM.
source "$(dirname "$0")/lib.sh"
for tool in skopeo umoci jq python3; do
	command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
source "$(dirname "$0")/registry_lib.sh"   # image builders (starts no registry)

build_busybox_image "$T_HOME/oci/bb" 1.35
skopeo copy -q "oci:$T_HOME/oci/bb:1.35" "docker-archive:$T_HOME/bb-docker.tar:test/busybox:1.35"
skopeo copy -q "oci:$T_HOME/oci/bb:1.35" "oci-archive:$T_HOME/bb-oci.tar:1.35"

out=$("$BOXLITE" load -i "$T_HOME/bb-docker.tar" 2>&1); rc=$?
expect_eq "docker-archive load exit" "$rc" 0
expect_eq "docker-archive name normalized" "$out" "Loaded image: docker.io/test/busybox:1.35"
out=$("$BOXLITE" load -i "$T_HOME/bb-oci.tar" 2>&1); rc=$?
expect_eq "oci-archive load exit" "$rc" 0
expect_eq "oci-archive name from the file" "$out" "Loaded image: localhost/bb-oci:1.35"
out=$("$BOXLITE" load -i "$T_HOME/bb-oci.tar" --name 127.0.0.1:5000/x/y:2 2>&1); rc=$?
expect_eq "load --name" "$out" "Loaded image: 127.0.0.1:5000/x/y:2"
refs=$("$BOXLITE" images --format json | jq -r '.[].ref' | tr '\n' ' ')
expect_eq "images lists the loaded ones" "$refs" "127.0.0.1:5000/x/y:2 docker.io/test/busybox:1.35 localhost/bb-oci:1.35 "
# root disks are keyed by the layer chain: the oci-archive's two names share
# one, the docker-archive (uncompressed layers, other digests) has its own
expect_eq "root disks built, one per layer chain" "$(ls "$BOXLITE_HOME/images/bases" | grep -c '\.ext4$')" 2

echo junk > "$T_HOME/junk.tar"
out=$("$BOXLITE" load -i "$T_HOME/junk.tar" 2>&1); rc=$?
expect_eq "junk archive exit" "$rc" 125
out=$("$BOXLITE" load -i "$T_HOME/none.tar" 2>&1); rc=$?
expect_eq "missing archive exit" "$rc" 125
expect_contains "missing archive message" "$out" "No such file"

# An entry climbing out of the archive is refused, and nothing lands outside.
python3 - "$T_HOME/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = b"pwned\n"
    ti = tarfile.TarInfo("../../escaped"); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    m = b'[{"Config":"c.json","RepoTags":["evil:1"],"Layers":[]}]'
    ti = tarfile.TarInfo("manifest.json"); ti.size = len(m); t.addfile(ti, io.BytesIO(m))
PY
out=$("$BOXLITE" load -i "$T_HOME/evil.tar" 2>&1); rc=$?
expect_eq "escaping entry exit" "$rc" 125
expect_contains "escaping entry message" "$out" ".."
expect_eq "nothing escaped" "$(find "$T_HOME" -name escaped | wc -l)" 0
expect_eq "no work dir left" "$(ls "$BOXLITE_HOME/images/tmp" | wc -l)" 0

t_done
