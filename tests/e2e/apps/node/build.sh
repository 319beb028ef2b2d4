#!/usr/bin/env bash
# Build the Node.js E2E app: app.js + the node_modules that `npm ci` installs from the
# committed package-lock.json.
#
# Why: the test containers get Debian bookworm's nodejs (18.x) and no network or npm,
# so node_modules is installed here on the controller and copied in. Every package is
# pure JavaScript (no native addons), so the controller's Node version does not matter.
# The pins stay on 0.2xx of the JS SDK: 0.300+ needs Node >= 22.15.
# The result is keyed by a hash of app.js, package.json, package-lock.json and this
# script, so a changed pin never reuses a stale build.
#
# package-lock.json records no download URLs (only integrity hashes), so npm takes
# packages from whatever registry it is configured for. Regenerate it with
#   npm install --package-lock-only --ignore-scripts --omit-lockfile-registry-resolved=true
#
# Output (in ${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls/e2e-node-<hash>/):
#   run             launcher: node <dir>/app.js
#   app.js, package.json, package-lock.json, node_modules/
#   build-info.txt  what produced it
# The last line of stdout is the directory; everything else goes to stderr.
# `build.sh --cached` only prints it when already built (exit 3 otherwise), never builds.
#
# Environment: NPM (npm executable), XDG_CACHE_HOME. npm uses the user's own config and
# cache, so downloads are shared with other builds.
# shellcheck disable=SC2154 # cache, out, work, stage, start: set by build_cache_open (tests/lib/build_cache.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NPM=${NPM:-npm}
sources=(app.js package.json package-lock.json build.sh)

hash=$( { cd "$here" && sha256sum "${sources[@]}"; } | sha256sum | cut -c1-16)
if grep -q '"resolved"' "$here/package-lock.json"; then
  echo "build.sh: package-lock.json records download URLs; regenerate it (see the header)" >&2
  exit 1
fi
# npm runs in the temp dir, so it never writes node_modules into the source tree.
# shellcheck source=../../../lib/build_cache.sh
source "$here/../../../lib/build_cache.sh"
build_cache_open e2e-node "$hash" "${1:-}" "" run build-info.txt
cp "$here/app.js" "$here/package.json" "$here/package-lock.json" "$stage/"

echo "build.sh: npm ci" >&2
# --ignore-scripts: nothing here needs an install script, and none should run on the
# controller.
(cd "$stage" && "$NPM" ci --omit=dev --ignore-scripts --no-audit --no-fund \
  --omit-lockfile-registry-resolved=true) >&2

# A native addon would be built for the controller, not the containers: refuse it.
if find "$stage/node_modules" -name '*.node' -o -name binding.gyp | grep -q .; then
  echo "build.sh: a dependency ships a native addon; it would not match the containers" >&2
  exit 1
fi
# Refuse to cache a tree whose SDK does not even load.
(cd "$stage" && node -e "require('@opentelemetry/sdk-node')") >&2

cat >"$stage/run" <<'RUN'
#!/bin/sh
# All exporter settings come from the OTEL_* environment, read by the NodeSDK.
DIR=$(cd "$(dirname "$0")" && pwd)
exec node "$DIR/app.js"
RUN
chmod 0755 "$stage/run"

{
  (cd "$stage" && node -p "'otel_sdk_node: ' + require('@opentelemetry/sdk-node/package.json').version")
  echo "npm: $("$NPM" --version 2>/dev/null)"
  echo "node_at_build: $(node --version)"
  echo "build_seconds: $((SECONDS - start))"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$stage/build-info.txt"

build_cache_close
