#!/usr/bin/env bash
# The reference's Node SDK (@boxlite-ai/boxlite 0.10, REST mode) against a
# real `boxlite serve` (ctest label compat). The package is installed from
# npm once into the cache directory, outside the source tree.
. "$(dirname "$0")/../e2e/lib.sh"

NPM_DIR=${BOXLITE_CACHE_DIR:-$HOME/.cache/boxlite}/npm
PKG=@boxlite-ai/boxlite@0.10
command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "FAIL: node and npm are needed (scripts/install-deps.sh installs them)" >&2; exit 1; }
if [ ! -f "$NPM_DIR/node_modules/@boxlite-ai/boxlite/package.json" ]; then
	mkdir -p "$NPM_DIR"
	echo "installing $PKG into $NPM_DIR"
	(cd "$NPM_DIR" && npm install --no-audit --no-fund --silent "$PKG") ||
		{ echo "FAIL: npm install $PKG failed" >&2; exit 1; }
fi

KEY=compat-$RANDOM$RANDOM
BOXLITE_SERVE_API_KEY=$KEY "$BOXLITE" serve --port 0 >"$T_HOME/serve.out" 2>"$T_HOME/serve.err" &
SERVER=$!
for i in $(seq 100); do grep -q listening "$T_HOME/serve.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T_HOME/serve.out")
[ -n "$PORT" ] || { cat "$T_HOME/serve.err" >&2; echo "FAIL: boxlite serve did not start" >&2; exit 1; }

BOXLITE_NPM_DIR=$NPM_DIR timeout 600 node "$(dirname "$0")/node_rest.mjs" "http://127.0.0.1:$PORT" "$KEY" \
	localhost/busybox:latest || fail "the Node SDK's REST mode against boxlite serve"
kill -TERM $SERVER; wait $SERVER
expect_eq "server exit status" "$?" 0
expect_no_leftovers "after the server stopped"
grep -q "$KEY" "$T_HOME/serve.out" "$T_HOME/serve.err" && fail "the API key appears in the server's output"
[ "$FAILS" -eq 0 ] || exit 1
echo "compat: passed"
