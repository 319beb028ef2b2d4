#!/usr/bin/env bash
# Prepare this machine for the otlp.tls test suite. Idempotent and cheap on a
# second run: every step checks for its cached output first and says whether
# it skipped or did the work, and how long it took.
#
#   a) host packages (podman + runc, debootstrap, ...) -- only if missing
#   b) python venv with requirements/test.txt          -> $CACHE/venv-<hash>, <repo>/.venv
#   c) collections from the PyPI "ansible" wheel        -> $CACHE/collections-<hash>
#   d) <repo>/.tmp/collections/ansible_collections/otlp/tls -> repo root
#   e) containers.conf for podman (runc, ulimits)       -> $CACHE/containers.conf
#   f) test-host images: Debian bookworm, bullseye, trixie -> localhost/otlp-tls-testhost[-<suite>]:<hash>
#   g) OpenTelemetry Collector (OCB) and telemetrygen   -> $CACHE/collector-<hash>, telemetrygen-<hash>
#
# $CACHE is ${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls, shared by all clones on
# the machine. Afterwards: `source scripts/env.sh`.
#
# Usage: bash scripts/setup.sh [--no-image]
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_image=1
[[ "${1:-}" == --no-image ]] && build_image=0

mkdir -p "$OTLP_TLS_CACHE"
# A developer's setup and CI's on the same machine share the cache: let the
# second wait instead of building the same venv into the same directory.
exec 8>"$OTLP_TLS_CACHE/.setup.lock"
flock 8
summary=()

# step NAME FUNCTION: run FUNCTION, which sets $result to "skipped" or
# "done"; record the outcome and its duration for the summary.
step() {
  local name="$1" fn="$2" t0=$SECONDS
  result="done"
  otlp_log "== $name"
  "$fn"
  summary+=("$(printf '%-16s %-8s %4ds' "$name" "$result" $((SECONDS - t0)))")
}

# --- a) host packages ----------------------------------------------------
# Rootful podman with runc (crun fails on these VMs' hybrid cgroups),
# netavark + aardvark-dns so containers on a created network resolve each
# other by name, debootstrap for the image. uidmap/slirp4netns/fuse-overlayfs
# keep rootless podman usable for developers who are not root.
HOST_PACKAGES=(
  podman runc conmon netavark aardvark-dns iptables catatonit
  uidmap slirp4netns fuse-overlayfs
  debootstrap debian-archive-keyring wget
  iproute2 openssl ca-certificates util-linux tar
)

host_packages() {
  local missing=() pkg
  for pkg in "${HOST_PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]]; then
      missing+=("$pkg")
    fi
  done
  # The venv needs python3's venv/ensurepip modules; Debian ships them apart.
  if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing+=(python3-venv)
  fi
  if ((${#missing[@]} == 0)); then
    result=skipped
    return
  fi
  if ((EUID != 0)); then
    otlp_log "ERROR: missing packages ${missing[*]}; run as root or install them"
    exit 1
  fi
  otlp_log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- b) virtualenv -------------------------------------------------------
venv_setup() {
  local venv
  venv="$(otlp_venv_dir)"
  # The marker is written last, so an interrupted install is redone rather
  # than trusted.
  if [[ -f "$venv/.otlp-tls-complete" ]]; then
    result=skipped
  else
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q -r "$OTLP_TLS_ROOT/requirements/test.txt"
    touch "$venv/.otlp-tls-complete"
  fi
  link_into_repo "$venv" "$OTLP_TLS_ROOT/.venv"
}

# link_into_repo TARGET LINK: point LINK at TARGET unless LINK is a real
# directory (someone's own venv), which is left alone.
link_into_repo() {
  local target="$1" link="$2"
  if [[ -e "$link" && ! -L "$link" ]]; then
    otlp_log "WARNING: $link exists and is not a symlink; leaving it alone"
    return
  fi
  [[ "$(readlink "$link" 2>/dev/null)" == "$target" ]] || ln -sfn "$target" "$link"
}

# --- c) collections from the ansible wheel -------------------------------
collections_setup() {
  local dest spec version wheel tmp
  dest="$(otlp_collections_dir)"
  if [[ -f "$dest/.otlp-tls-complete" ]]; then
    result=skipped
    return
  fi
  spec="$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$OTLP_TLS_ROOT/requirements/collections.txt" |
    grep '^ansible==')"
  version="${spec#ansible==}"
  mkdir -p "$OTLP_TLS_CACHE/downloads"
  wheel="$(find "$OTLP_TLS_CACHE/downloads" -name "ansible-$version-*.whl" | head -n1)"
  if [[ -z "$wheel" ]]; then
    # Only the wheel: its own deps (ansible-core) come from requirements/test.txt.
    "$(otlp_venv_dir)/bin/python" -m pip download -q --no-deps --only-binary=:all: \
      -d "$OTLP_TLS_CACHE/downloads" "$spec"
    wheel="$(find "$OTLP_TLS_CACHE/downloads" -name "ansible-$version-*.whl" | head -n1)"
  fi
  tmp="$(mktemp -d "$OTLP_TLS_CACHE/collections.XXXXXX")"
  # The wheel bundles ~90 collections (~200 MiB unpacked); take only ours.
  "$(otlp_venv_dir)/bin/python" - "$wheel" "$tmp" \
    "$OTLP_TLS_ROOT/requirements/collections.txt" <<'PY'
import sys, zipfile
wheel, dest, listing = sys.argv[1:4]
names = [l.split('#')[0].strip() for l in open(listing)]
names = [n for n in names if n and not n.startswith('ansible==')]
prefixes = ['ansible_collections/%s/' % n.replace('.', '/') for n in names]
with zipfile.ZipFile(wheel) as zf:
    members = [m for m in zf.namelist() if m.startswith(tuple(prefixes))]
    found = {p for p in prefixes if any(m.startswith(p) for m in members)}
    missing = sorted(set(prefixes) - found)
    if missing:
        sys.exit('collections not in %s: %s' % (wheel, ', '.join(missing)))
    zf.extractall(dest, members)
for n in names:
    print('  %s' % n, file=sys.stderr)
PY
  chmod 0755 "$tmp"  # mktemp makes it 0700
  rm -rf "$dest"
  mv "$tmp" "$dest"
  touch "$dest/.otlp-tls-complete"
}

# --- d) the collection under development, importable as otlp.tls --------
# Relative, so the link stays right wherever the clone lives (CI's fresh
# clone, a developer's checkout) and survives moving the clone.
self_link() {
  local dir="$OTLP_TLS_ROOT/.tmp/collections/ansible_collections/otlp"
  mkdir -p "$dir"
  if [[ "$(readlink "$dir/tls" 2>/dev/null)" == ../../../.. ]]; then
    result=skipped
  else
    ln -sfn ../../../.. "$dir/tls"
  fi
}

# --- e) containers.conf / f) image: separate scripts, usable alone -------
# Their output is streamed (the image build takes a minute) and kept to tell
# whether they skipped. run_script SCRIPT [ARG...]: the arguments reach the script
# (each Debian release's image is its own --suite), and its failure fails the set-up.
run_script() {
  local script=$1 log rc=0 suffix=
  shift
  (($# == 0)) || suffix=$(printf -- '-%s' "$@" | tr -c 'A-Za-z0-9.-' '_')
  log="$OTLP_TLS_CACHE/.last-$(basename "$script")$suffix.log"
  bash "$script" "$@" 2>&1 | tee "$log" >&2 || rc=$?
  if ((rc != 0)); then
    otlp_log "ERROR: $(basename "$script") $* failed (exit $rc); its output: $log"
    return "$rc"
  fi
  grep -q -e 'up to date' -e 'skipping build' "$log" && result=skipped
  return 0
}
containers_conf() { run_script "$OTLP_TLS_ROOT/tests/hosts/containers-conf.sh"; }

# --- g) the real OpenTelemetry Collector and telemetrygen, from Go modules ---
# Built with the OpenTelemetry Collector Builder through the Go module proxy (no release
# binary can be downloaded here); minutes cold, cached by a hash of the manifest.
go_binary() {
  if bash "$1" --cached >/dev/null; then
    result=skipped
  else
    bash "$1" >/dev/null
  fi
}
collector() { go_binary "$OTLP_TLS_ROOT/tests/collector/build.sh"; }
# The core-only distribution (no tls_check receiver), for the tests that prove it is refused.
collector_core() { OTLP_TLS_COLLECTOR_MANIFEST=manifest-core.yaml go_binary "$OTLP_TLS_ROOT/tests/collector/build.sh"; }
telemetrygen() { go_binary "$OTLP_TLS_ROOT/tests/collector/telemetrygen.sh"; }
# --- h) promtool, for `promtool test rules` on the shipped alert rules (prometheus/) ---
# From the Debian prometheus package, unpacked, not installed (no server is started).
promtool() { go_binary "$OTLP_TLS_ROOT/tests/prometheus/promtool.sh"; }
image() {
  local suite skipped=0
  for suite in $OTLP_TLS_SUITES; do
    result=
    run_script "$OTLP_TLS_ROOT/tests/hosts/build-image.sh" --suite "$suite"
    [[ $result == skipped ]] && skipped=$((skipped + 1))
  done
  result=
  [[ $skipped == "$(wc -w <<<"$OTLP_TLS_SUITES")" ]] && result=skipped
  return 0
}

t_all=$SECONDS
step host-packages host_packages
step venv venv_setup
step collections collections_setup
step otlp.tls-link self_link
step containers.conf containers_conf
if ((build_image)); then
  step image image
fi
step collector collector
step collector-core collector_core
step telemetrygen telemetrygen
step promtool promtool

otlp_log "summary ($((SECONDS - t_all)) s total):"
printf '  %s\n' "${summary[@]}" >&2
otlp_log "next: source scripts/env.sh"
