#!/usr/bin/env bash
# Build the Go E2E test app (main.go + the pinned go.mod/go.sum beside this script)
# into a static binary cached outside the clone.
#
# Why static (CGO_ENABLED=0): the binary is copied into Debian test containers that
# have no Go toolchain; a static binary runs there whatever the controller's libc.
# Why a cache keyed by a hash of the sources, this script and `go version`: a fresh
# CI clone on the same machine reuses the build, any change to an input never does.
#
# Output (in ${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls/e2e-go-<hash>/):
#   e2e-go          the binary
#   run             launcher that execs it (same entry point as the Python app)
#   build-info.txt  what produced it
# The last line of stdout is the output directory; everything else goes to stderr.
# `build.sh --cached` only prints it when it is already built (exit 3 otherwise).
#
# Environment: GO (go executable), XDG_CACHE_HOME. Module proxy and caches are the
# user's defaults (`go env`), shared with the other Go builds.
# shellcheck disable=SC2154 # cache, out, work, stage, start: set by build_cache_open (tests/lib/build_cache.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || { echo "build.sh: no go executable (set GO=...)" >&2; exit 1; }

go_version=$("$GO" version)
hash=$( { cat "$here"/*.go "$here/go.mod" "$here/go.sum" "${BASH_SOURCE[0]}"; echo "$go_version"; } \
  | sha256sum | cut -c1-16)
# shellcheck source=../../../lib/build_cache.sh
source "$here/../../../lib/build_cache.sh"
build_cache_open e2e-go "$hash" "${1:-}" "" run

echo "build.sh: building the Go E2E app" >&2
# -mod=readonly: go.mod/go.sum are the pins; never let the build rewrite them.
# -trimpath and a fixed -buildid keep the binary free of this machine's paths.
(cd "$here" && CGO_ENABLED=0 "$GO" build -mod=readonly -trimpath -ldflags='-s -w -buildid=' \
  -o "$stage/e2e-go" .) >&2

cat >"$stage/run" <<'RUN'
#!/bin/sh
# Launcher: the unit's ExecStart points here whatever the language of the app.
exec "$(dirname "$0")/e2e-go" "$@"
RUN
chmod 0755 "$stage/run"

{
  echo "go: $go_version"
  echo "sources_sha256: $hash"
  echo "build_seconds: $((SECONDS - start))"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$stage/build-info.txt"

build_cache_close
