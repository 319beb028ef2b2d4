#!/usr/bin/env bash
# Build the real OpenTelemetry Collector from tests/collector/manifest.yaml with the
# OpenTelemetry Collector Builder (OCB) and cache it outside the clone.
#
# Why: no release binary can be downloaded on the test machines, only Go modules
# through the Go module proxy. A cold build takes minutes on 2 cores, so the result is
# keyed by a hash of everything that produced it (manifest, this script, `go version`):
# a fresh CI clone on the same machine reuses it, a changed manifest never does.
#
# Output (in ${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls/collector-<hash>/):
#   otelcol                the binary (static: OCB builds with CGO_ENABLED=0)
#   otelcol.tar.gz         release-style archive holding just `otelcol`, because the
#                          collector role installs from a controller file + checksum,
#                          the way an air-gapped user would
#   otelcol.tar.gz.sha256  `sha256sum` format checksum of that archive
#   components.yaml        `otelcol components` (also proves the binary runs)
#   build-info.txt         what produced it
# The last line of stdout is the binary path; everything else goes to stderr so
# callers can do `bin=$(tests/collector/build.sh | tail -n1)`.
#
# `build.sh --cached` only prints the path when the binary is already built (exit 3
# otherwise); scripts/env.sh uses it and never builds.
#
# Environment: GO (go executable), XDG_CACHE_HOME. The Go proxy, module cache and
# build cache are the user's defaults (`go env`), so other Go builds share downloads.
# shellcheck disable=SC2154 # cache, out, work, stage, start: set by build_cache_open (tests/lib/build_cache.sh)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# OTLP_TLS_COLLECTOR_MANIFEST=manifest-core.yaml builds the small core-only distribution instead.
manifest="$here/${OTLP_TLS_COLLECTOR_MANIFEST:-manifest.yaml}"
[[ -f $manifest && $manifest != */../* ]] || { echo "build.sh: no manifest $manifest" >&2; exit 1; }

# Go may live outside PATH (e.g. /usr/local/go/bin on a fresh Debian VM); OCB looks
# `go` up on PATH itself, so put the chosen one first.
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || { echo "build.sh: no go executable (set GO=...)" >&2; exit 1; }
PATH="$(dirname "$GO"):$PATH"
export PATH

# The builder must match the core component versions (it checks them). Derive it from
# the otlpreceiver line so bumping the manifest is the only edit needed.
ocb_version=$(sed -n 's#^.*go\.opentelemetry\.io/collector/receiver/otlpreceiver \(v[0-9][^ "]*\).*$#\1#p' "$manifest" | head -n1)
[[ -n $ocb_version ]] || { echo "build.sh: cannot find the otlpreceiver version in $manifest" >&2; exit 1; }

go_version=$("$GO" version)
# The local tls_check stand-in (a `path:` module in the manifest) is part of the build too.
hash=$( { cat "$manifest" "${BASH_SOURCE[0]}"; (cd "$here/tlscheck" && find . -type f -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum); echo "$go_version"; } | sha256sum | cut -c1-16)

# shellcheck source=../lib/build_cache.sh
source "$here/../lib/build_cache.sh"
build_cache_open collector "$hash" "${1:-}" otelcol otelcol otelcol.tar.gz.sha256

# The builder binary is cached per version; it is tiny and rarely changes.
ocb_bin="$cache/ocb-$ocb_version"
if [[ ! -x $ocb_bin/builder ]]; then
  echo "build.sh: installing OCB $ocb_version" >&2
  mkdir -p "$ocb_bin.tmp"
  GOBIN="$ocb_bin.tmp" "$GO" install "go.opentelemetry.io/collector/cmd/builder@$ocb_version" >&2
  rm -rf "$ocb_bin" && mv "$ocb_bin.tmp" "$ocb_bin"
fi

echo "build.sh: building the collector (OCB $ocb_version); a cold build takes minutes" >&2
# OCB already passes -trimpath and -ldflags='-s -w' and sets CGO_ENABLED=0.
# output_path in the manifest is relative, so run it from inside the temp dir.
# TMPDIR too: OCB makes an (unused) otelcol-distribution* temp dir on every run and
# never removes it.
# The manifest's local module (path: ./tlscheckreceiver) resolves from that directory.
if grep -q 'path: ./tlscheckreceiver' "$manifest"; then cp -R "$here/tlscheck" "$work/tlscheckreceiver"; fi
(cd "$work" && TMPDIR="$work" "$ocb_bin/builder" --config="$manifest") >&2

install -m 0755 "$work/_build/otelcol" "$stage/otelcol"

# Refuse to cache a binary that cannot even list its components.
"$stage/otelcol" components >"$stage/components.yaml"

# Deterministic archive (fixed owner, mtime, order; no gzip timestamp) so the same
# binary always gets the same checksum.
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - otelcol \
  | gzip -n -9 >"$stage/otelcol.tar.gz"
(cd "$stage" && sha256sum otelcol.tar.gz >otelcol.tar.gz.sha256)

{
  echo "ocb: $ocb_version"
  echo "go: $go_version"
  echo "manifest_sha256: $(sha256sum "$manifest" | cut -d' ' -f1)"
  echo "build_seconds: $((SECONDS - start))"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$stage/build-info.txt"

build_cache_close
