#!/usr/bin/env bash
# The reference CLI's registry configuration (docs/cli.md): --registry HOST
# (repeatable, before or after the command) and --config FILE
# ({"home_dir", "image_registries": [...]}, both spellings of an entry)
# resolve unqualified names in order, the first registry that has the image
# winning; a config's credentials reach a registry with basic auth; a bad
# config file is refused with a clear error. Pull-only but for one run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_lib.sh"
command -v htpasswd >/dev/null || { echo "skip: htpasswd (apache2-utils) not installed"; exit 77; }
export DOCKER_CONFIG="$T_HOME/docker"   # never the user's own credentials
mkdir -p "$DOCKER_CONFIG"

OCI="$T_HOME/oci/bb"
build_busybox_image "$OCI" 1
reg_start plain || { echo "registry did not start"; exit 1; }
PLAIN=$REG
push "$OCI" 1 "$PLAIN/test/busybox:1"
push "$OCI" 1 "$PLAIN/test/other:2"
DEAD=127.0.0.1:$(free_port) # nothing listens there

# ---- --registry: an unqualified name goes to the listed hosts, in order
out=$("$BOXLITE" --registry "$PLAIN" pull test/busybox:1 2>&1); rc=$?
expect_eq "--registry HOST pull NAME" "$rc" 0
expect_contains "pulled from the listed registry" "$("$BOXLITE" images)" "$PLAIN/test/busybox:1"
out=$("$BOXLITE" pull --registry "$DEAD" --registry "$PLAIN" test/other:2 2>&1); rc=$?
expect_eq "--registry after the command; an unreachable first one is skipped" "$rc" 0
expect_contains "pulled from the second" "$("$BOXLITE" images)" "$PLAIN/test/other:2"
out=$("$BOXLITE" --registry "$DEAD" pull test/nothing:1 2>&1); rc=$?
expect_eq "only an unreachable registry: pull fails" "$rc" 125
expect_contains "the error names it" "$out" "$DEAD"
out=$("$BOXLITE" --registry "$PLAIN" run --rm test/busybox:1 echo from-search 2>&1); rc=$?
expect_eq "run NAME through --registry" "$out" "from-search"

# ---- --config: the page's spelling ({host, protocol, search}) and home_dir
cat > "$T_HOME/page.json" <<JSON
{"home_dir": "$T_HOME/cfg-home",
 "image_registries": [{"host": "$DEAD", "protocol": "http", "search": true},
                      {"host": "$PLAIN", "protocol": "http", "search": true}]}
JSON
out=$(env -u BOXLITE_HOME "$BOXLITE" --config "$T_HOME/page.json" pull test/busybox:1 2>&1); rc=$?
expect_eq "--config (page spelling): pull through its registries" "$rc" 0
[ -f "$T_HOME/cfg-home/boxlite.db" ] && pass "--config home_dir is the home" || fail "home_dir not used: $(ls "$T_HOME")"
expect_contains "the image is in the config's home" \
	"$(env -u BOXLITE_HOME "$BOXLITE" --config "$T_HOME/page.json" images)" "$PLAIN/test/busybox:1"
out=$("$BOXLITE" --config "$T_HOME/page.json" --home "$T_HOME/flag-home" images 2>&1)
[ -f "$T_HOME/flag-home/boxlite.db" ] && pass "--home overrides home_dir" || fail "--home not used"

# ---- --config: the guide's spelling with basic auth, against an htpasswd registry
reg_start basic || { echo "basic registry did not start"; exit 1; }
AUTH=$REG
push "$OCI" 1 "$AUTH/private/busybox:1" alice:s3cret || fail "push to the basic registry"
conf() { # conf FILE USER PASS: the guide's spelling
	cat > "$1" <<JSON
{"image_registries": [{"host": "$AUTH", "transport": "http", "search": true,
                       "auth": {"type": "basic", "username": "$2", "password": "$3"}}]}
JSON
}
conf "$T_HOME/good.json" alice s3cret
conf "$T_HOME/bad.json" alice wrong
out=$("$BOXLITE" --config "$T_HOME/good.json" pull private/busybox:1 2>&1); rc=$?
expect_eq "--config credentials (auth.type basic)" "$rc" 0
out=$("$BOXLITE" --config "$T_HOME/bad.json" pull "$AUTH/private/busybox:1" 2>&1); rc=$?
expect_eq "wrong config credentials refused" "$rc" 125
expect_contains "says the credentials were refused" "$out" "refused the credentials for user alice"
cat > "$T_HOME/flat.json" <<JSON
{"image_registries": [{"host": "$AUTH", "protocol": "http", "username": "alice", "password": "s3cret"}]}
JSON
"$BOXLITE" rmi "$AUTH/private/busybox:1" >/dev/null
out=$("$BOXLITE" --config "$T_HOME/flat.json" pull "$AUTH/private/busybox:1" 2>&1); rc=$?
expect_eq "--config credentials (page's username/password)" "$rc" 0
case "$(ps -eo args)" in *s3cret*) fail "a password on some command line" ;; *) pass "no password on a command line" ;; esac

# ---- bad config files: exit 125, one message naming the file and the fault
bad_config() { # bad_config WHAT CONTENT NEEDLE
	printf '%s' "$2" > "$T_HOME/broken.json"
	out=$("$BOXLITE" --config "$T_HOME/broken.json" images 2>&1); rc=$?
	if [ "$rc" = 125 ] && [[ "$out" == *"--config $T_HOME/broken.json"* ]] && [[ "$out" == *"$3"* ]]; then
		pass "bad config: $1"
	else
		fail "bad config: $1: exit $rc: $out"
	fi
}
bad_config "not JSON" '{"image_registries": [' "line 1"
bad_config "not an object" '[1]' "not a JSON object"
bad_config "registries not a list" '{"image_registries": {}}' "is a list"
bad_config "entry without host" '{"image_registries": [{"search": true}]}' "needs a \"host\""
bad_config "host with a scheme" '{"image_registries": [{"host": "https://x.io"}]}' "no scheme or path"
bad_config "unknown transport" '{"image_registries": [{"host": "x.io", "transport": "ftp"}]}' "transport must be"
bad_config "unknown auth type" '{"image_registries": [{"host": "x.io", "auth": {"type": "magic"}}]}' "\"auth\" is"
out=$("$BOXLITE" --config "$T_HOME/missing.json" images 2>&1); rc=$?
expect_eq "missing config file: exit" "$rc" 125
expect_contains "missing config file: message" "$out" "--config $T_HOME/missing.json"

expect_no_leftovers "registry config"
t_done
