#!/usr/bin/env bash
# Install telemetrygen (the collector project's own OTLP load generator) and cache it
# outside the clone, so tests can send real OTLP over TLS/mTLS to the collector.
#
# Why static (CGO_ENABLED=0): the binary is copied into the Debian test containers,
# which must not depend on the build machine's libc.
#
# Version: the contrib version of tests/collector/manifest.yaml (so client and server
# come from the same release), unless TELEMETRYGEN_VERSION is set. If the Go module
# proxy does not serve that version, fall back to $fallback below: the proxy reachable
# from the test machines answers 403 for telemetrygen v0.162.0 and later. The OTLP wire
# protocol is stable, so an older client is still a faithful test of the receiver.
#
# Output: ${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls/telemetrygen-<hash>/telemetrygen,
# <hash> covering the version, this script and `go version`. The last line of stdout is
# the binary path; everything else goes to stderr. With --cached it only prints the path
# of a binary that is already there (exit 3 otherwise) and never builds.
set -euo pipefail

# Newest telemetrygen the reachable proxy serves in full (checked 2026-11).
fallback=v0.161.0

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
manifest="$here/manifest.yaml"
module=github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen

GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
[[ -x $GO ]] || { echo "telemetrygen.sh: no go executable (set GO=...)" >&2; exit 1; }

want=${TELEMETRYGEN_VERSION:-$(sed -n 's#^.*github\.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter \(v[0-9][^ "]*\).*$#\1#p' "$manifest" | head -n1)}
[[ -n $want ]] || { echo "telemetrygen.sh: cannot find the contrib version in $manifest" >&2; exit 1; }

go_version=$("$GO" version)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls

dir_for() {
  local h
  h=$( { echo "$1"; cat "${BASH_SOURCE[0]}"; echo "$go_version"; } | sha256sum | cut -c1-16)
  echo "$cache/telemetrygen-$h"
}

# Prints the binary path if this version is cached or could be built; fails otherwise.
get() {
  local version=$1 out work
  out=$(dir_for "$version")
  if [[ -x $out/telemetrygen ]]; then
    echo "$out/telemetrygen"
    return 0
  fi
  mkdir -p "$cache"
  # Install into a temp GOBIN on the cache filesystem and mv it into place, so a failed
  # or interrupted install never looks like a cached one.
  work=$(mktemp -d "$cache/.telemetrygen.XXXXXX")
  echo "telemetrygen.sh: installing telemetrygen $version" >&2
  if ! CGO_ENABLED=0 GOBIN="$work" "$GO" install -trimpath -ldflags='-s -w' "$module@$version" >&2; then
    rm -rf "$work"
    return 1
  fi
  echo "$version" >"$work/VERSION"
  # mktemp made it 0700; CI users other than the builder must be able to copy it.
  chmod 0755 "$work"
  # Another job may have won the race; theirs is as good as ours.
  mv -T "$work" "$out" 2>/dev/null || rm -rf "$work"
  echo "$out/telemetrygen"
}

if [[ ${1:-} == --cached ]]; then
  for version in "$want" "$fallback"; do
    if [[ -x $(dir_for "$version")/telemetrygen ]]; then
      echo "$(dir_for "$version")/telemetrygen"
      exit 0
    fi
  done
  exit 3
fi

if get "$want"; then
  exit 0
fi
if [[ $want != "$fallback" ]]; then
  echo "telemetrygen.sh: telemetrygen $want is not available from the Go module proxy; using $fallback" >&2
  get "$fallback" && exit 0
fi
echo "telemetrygen.sh: could not install telemetrygen" >&2
exit 1
