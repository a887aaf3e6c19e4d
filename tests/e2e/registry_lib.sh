# Loopback registry fixtures for the registry_* end-to-end tests: Debian's
# docker-registry on 127.0.0.1 with port 0 (the real port is read from its
# log), plain, with basic auth (htpasswd) or with bearer tokens (a busybox
# httpd CGI minting RS256 JWTs), and busybox images built with umoci and
# pushed with skopeo. Every server is killed by its recorded pid at exit.
# Sourced after lib.sh. Exits 77 (skip) when a tool is missing.

for tool in docker-registry skopeo umoci busybox openssl; do
	command -v "$tool" >/dev/null || { echo "skip: $tool not installed (scripts/install-deps.sh)"; exit 77; }
done

REG_PIDS=()
reg_cleanup() {
	local p
	for p in "${REG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${REG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	t_cleanup
}
trap reg_cleanup EXIT

# Writes the registry config for mode (plain|basic|token) into $dir.
reg_config() {
	local dir=$1 mode=$2
	cat > "$dir/config.yml" <<YML
version: 0.1
log: {level: info, fields: {service: registry}}
storage:
  filesystem: {rootdirectory: $dir/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:0
  secret: boxlite-test
YML
	case $mode in
	basic)
		htpasswd -Bbn alice s3cret > "$dir/htpasswd"
		printf 'auth:\n  htpasswd: {realm: test-realm, path: %s/htpasswd}\n' "$dir" >> "$dir/config.yml" ;;
	token)
		printf 'auth:\n  token:\n    realm: http://127.0.0.1:%s/cgi-bin/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: %s/signcert.pem\n' \
			"$TOKEN_PORT" "$dir" >> "$dir/config.yml" ;;
	esac
}

# wait_port_in_log LOG PATTERN: prints the port once PATTERN:PORT shows up (10 s max).
wait_port_in_log() {
	local log=$1 i port
	for i in $(seq 200); do
		port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -1 | sed 's/.*://')
		[ -n "$port" ] && { echo "$port"; return 0; }
		sleep 0.05
	done
	return 1
}

# token_server_start DIR: busybox httpd with the token CGI on a free port;
# sets TOKEN_PORT. Credentials alice:s3cret (busybox enforces Basic auth).
token_server_start() {
	local dir=$1 i
	mkdir -p "$dir/www/cgi-bin"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/signkey.pem" -out "$dir/signcert.pem" -days 30 \
		-subj /CN=test-token-issuer 2>/dev/null
	openssl x509 -in "$dir/signcert.pem" -outform DER | base64 -w0 > "$dir/x5c.b64"
	echo '/cgi-bin:alice:s3cret' > "$dir/httpd.conf"
	cat > "$dir/www/cgi-bin/token" <<CGI
#!/bin/sh
D=$dir
CGI
	cat >> "$dir/www/cgi-bin/token" <<'CGI'
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
scope=$(echo "$QUERY_STRING" | tr '&' '\n' | sed -n 's/^scope=//p' | head -1); scope=$(busybox httpd -d "$scope")
service=$(echo "$QUERY_STRING" | tr '&' '\n' | sed -n 's/^service=//p' | head -1)
access="[]"
if [ -n "$scope" ]; then type=${scope%%:*}; rest=${scope#*:}; name=${rest%:*}; actions=${rest##*:}
  access="[{\"type\":\"$type\",\"name\":\"$name\",\"actions\":[\"$(echo "$actions" | sed 's/,/","/g')\"]}]"; fi
now=$(date +%s)
hdr="{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5c\":[\"$(cat $D/x5c.b64)\"]}"
clm="{\"iss\":\"test-issuer\",\"sub\":\"${REMOTE_USER:-anonymous}\",\"aud\":\"${service}\",\"exp\":$((now+300)),\"nbf\":$((now-10)),\"iat\":$now,\"jti\":\"$now-$$\",\"access\":$access}"
si="$(printf %s "$hdr" | b64url).$(printf %s "$clm" | b64url)"
sig=$(printf %s "$si" | openssl dgst -sha256 -sign $D/signkey.pem -binary | b64url)
printf 'Content-Type: application/json\r\n\r\n{"token":"%s","access_token":"%s","expires_in":300}\n' "$si.$sig" "$si.$sig"
CGI
	chmod 755 "$dir/www/cgi-bin/token"
	# busybox httpd cannot report a port-0 bind: try a few random ports.
	for i in $(seq 20); do
		TOKEN_PORT=$((20000 + RANDOM % 20000))
		busybox httpd -f -p 127.0.0.1:$TOKEN_PORT -h "$dir/www" -c "$dir/httpd.conf" > "$dir/httpd.log" 2>&1 &
		local pid=$!
		sleep 0.2
		if kill -0 $pid 2>/dev/null; then
			REG_PIDS+=($pid)
			return 0
		fi
	done
	echo "could not start the token server" >&2
	return 1
}

# reg_start MODE: starts a registry (plain|basic|token); sets REG_DIR, REG_PORT, REG.
reg_start() {
	local mode=$1
	REG_DIR="$T_HOME/reg-$mode"
	mkdir -p "$REG_DIR/data"
	if [ "$mode" = token ]; then
		token_server_start "$REG_DIR" || return 1
	fi
	reg_config "$REG_DIR" "$mode"
	setsid docker-registry serve "$REG_DIR/config.yml" > "$REG_DIR/registry.log" 2>&1 < /dev/null &
	REG_PIDS+=($!)
	REG_PORT=$(wait_port_in_log "$REG_DIR/registry.log") || { cat "$REG_DIR/registry.log" >&2; return 1; }
	REG="127.0.0.1:$REG_PORT"
}

# build_busybox_image LAYOUT TAG [ARCH] [MARKER]: a one-layer busybox image
# (MARKER goes to /etc/marker, making the layer unique).
build_busybox_image() {
	local layout=$1 tag=$2 arch=${3:-amd64} marker=${4:-} root="$T_HOME/bbroot.$RANDOM"
	mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
	cp /bin/busybox "$root/bin/busybox"
	for a in sh cat ls echo id; do ln -sf busybox "$root/bin/$a"; done
	chmod 1777 "$root/tmp"
	echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
	echo 'root:x:0:' > "$root/etc/group"
	[ -n "$marker" ] && echo "$marker" > "$root/etc/marker"
	[ -d "$layout" ] || umoci init --layout "$layout"
	umoci new --image "$layout:$tag"
	umoci insert --image "$layout:$tag" "$root" / > /dev/null
	umoci config --image "$layout:$tag" --config.cmd /bin/sh --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		--architecture "$arch" --os linux
	rm -rf "$root"
}

# push LAYOUT TAG DEST [CREDS]
push() {
	local creds=()
	[ -n "${4:-}" ] && creds=(--dest-creds "$4")
	skopeo copy -q --dest-tls-verify=false "${creds[@]}" "oci:$1:$2" "docker://$3"
}

# build_multiarch LAYOUT TAG: amd64 and arm64 images (the arm64 one carries
# /etc/marker "arm64") joined under TAG by a hand-made OCI image index.
build_multiarch() {
	local layout=$1 tag=$2 idx m_amd m_arm hex
	build_busybox_image "$layout" "$tag-amd64" amd64 amd64
	build_busybox_image "$layout" "$tag-arm64" arm64 arm64
	m_amd=$(jq -c --arg t "$tag-amd64" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | del(.annotations) + {platform:{architecture:"amd64",os:"linux"}}' "$layout/index.json")
	m_arm=$(jq -c --arg t "$tag-arm64" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | del(.annotations) + {platform:{architecture:"arm64",os:"linux",variant:"v8"}}' "$layout/index.json")
	idx=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s]}' "$m_arm" "$m_amd")
	hex=$(printf %s "$idx" | sha256sum | cut -d' ' -f1)
	printf %s "$idx" > "$layout/blobs/sha256/$hex"
	jq -c --arg h "sha256:$hex" --argjson s "${#idx}" --arg t "$tag" \
		'.manifests += [{mediaType:"application/vnd.oci.image.index.v1+json",digest:$h,size:$s,annotations:{"org.opencontainers.image.ref.name":$t}}]' \
		"$layout/index.json" > "$layout/index.json.new" && mv "$layout/index.json.new" "$layout/index.json"
}

# push_all LAYOUT TAG DEST: pushes an index with all its images.
push_all() {
	skopeo copy -q --all --dest-tls-verify=false "oci:$1:$2" "docker://$3"
}

# registry_blob_file DIGEST: the registry's storage file of a blob.
registry_blob_file() {
	local hex=${1#sha256:}
	echo "$REG_DIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}
