#!/usr/bin/env bash
# promtool, for `promtool test rules` on the alert rules otlp.tls ships, taken from the
# Debian `prometheus` package without installing it: the package would also install and
# (where systemd runs) start a Prometheus server. `apt-get download` fetches the .deb
# through the machine's own apt sources; `dpkg-deb -x` unpacks it in a scratch directory,
# and only /usr/bin/promtool is kept (it needs nothing but libc).
#
# Output: ${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls/promtool-<version>/promtool; the last line
# of stdout is its path, everything else goes to stderr. With --cached it only prints the path
# of a promtool that is already there (exit 3 otherwise) and downloads nothing.
set -euo pipefail

cache=${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls
cached() {
  local found
  found=$(ls -d "$cache"/promtool-*/promtool 2>/dev/null | sort -V | tail -n1 || true)
  [[ -n $found && -x $found ]] && "$found" --version >/dev/null 2>&1 && echo "$found"
}
if [[ ${1:-} == --cached ]]; then
  cached || exit 3
  exit 0
fi
if found=$(cached); then
  echo "promtool.sh: up to date: $found" >&2
  echo "$found"
  exit 0
fi

version=$(apt-cache policy prometheus 2>/dev/null | sed -n 's/^ *Candidate: *//p')
if [[ -z $version || $version == "(none)" ]]; then
  if ((EUID == 0)); then apt-get update -qq >&2; fi
  version=$(apt-cache policy prometheus 2>/dev/null | sed -n 's/^ *Candidate: *//p')
fi
[[ -n $version && $version != "(none)" ]] || { echo "promtool.sh: apt knows no prometheus package" >&2; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && apt-get download -qq "prometheus=$version" >&2)
dpkg-deb -x "$scratch"/prometheus_*.deb "$scratch/x"
out="$cache/promtool-${version//[^A-Za-z0-9.+-]/_}"
mkdir -p "$out"
install -m 0755 "$scratch/x/usr/bin/promtool" "$out/promtool.new"
"$out/promtool.new" --version >&2
mv "$out/promtool.new" "$out/promtool"
echo "promtool.sh: promtool $version in $out" >&2
echo "$out/promtool"
