# shellcheck shell=bash
# Shared helpers for scripts/setup.sh, scripts/env.sh and tests/hosts/*.sh.
#
# Everything that names a cache entry lives here, so that setup.sh (which
# fills the caches) and env.sh (which only points at them) can never
# disagree about a key. Sourcing this file has no side effects besides
# defining OTLP_TLS_* variables and functions; it must stay safe to source
# from an interactive shell (no `set -e`, no exit).

# Repo root = parent of the directory holding this file. Resolved from the
# file's own location, not from $PWD, so any clone in any directory works.
OTLP_TLS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

# One cache for every clone on this machine (CI's fresh clone reuses what a
# developer built); entries are keyed by a hash of their inputs, so a changed
# input never picks up a stale entry.
OTLP_TLS_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/otlp-tls"

# Names of the podman image repository built by tests/hosts/build-image.sh.
OTLP_TLS_IMAGE_REPO="localhost/otlp-tls-testhost"

# otlp_hash FILE... : short, stable digest of the contents of FILE...
# (plus anything given on stdin when "-" is passed).
otlp_hash() {
  sha256sum "$@" | awk '{print $1}' | sha256sum | cut -c1-16
}

# The interpreter the venv is built from is an input too: a venv made by
# another python is unusable. Identify it by version and base prefix (not by
# path: `python3` may be a pyenv shim, or the venv's own python once env.sh
# has put it on PATH, and both must give the same key).
otlp_venv_key() {
  {
    cat "$OTLP_TLS_ROOT/requirements/test.txt"
    python3 -c 'import sys; print(sys.version); print(sys.base_prefix)'
  } | otlp_hash -
}

otlp_venv_dir() {
  echo "$OTLP_TLS_CACHE/venv-$(otlp_venv_key)"
}

otlp_collections_dir() {
  echo "$OTLP_TLS_CACHE/collections-$(otlp_hash "$OTLP_TLS_ROOT/requirements/collections.txt")"
}

# Debian releases the test hosts are built from: bookworm is the default host of every
# fleet; bullseye and trixie hosts join the Molecule scenarios and the e2e fleet (issue 18).
OTLP_TLS_SUITES="bookworm bullseye trixie"

# The test-host image tag covers the build script, its package list and the suite:
# changing any of them builds a new image under a new tag.
otlp_image_tag() { # otlp_image_tag [SUITE]
  { echo "${1:-bookworm}"; cat "$OTLP_TLS_ROOT/tests/hosts/build-image.sh" \
    "$OTLP_TLS_ROOT/tests/hosts/image-packages.txt"; } | otlp_hash -
}

# localhost/otlp-tls-testhost:<hash> for bookworm, localhost/otlp-tls-testhost-<suite>:<hash>
# for the others.
otlp_image() { # otlp_image [SUITE]
  local suite=${1:-bookworm} repo=$OTLP_TLS_IMAGE_REPO
  [[ $suite == bookworm ]] || repo+="-$suite"
  echo "$repo:$(otlp_image_tag "$suite")"
}

# Extra `podman run` arguments a release's test host needs to behave as it does on a VM:
# systemd 257 (trixie) keeps CAP_SYS_ADMIN while it applies a unit's sandboxing (seccomp
# filters, ProtectClock=, PrivateDevices=, ...) for a non-root User=, and fails the start
# with 217/USER when its PID 1 lacks it, as a podman container's does by default.
otlp_image_run_args() { # otlp_image_run_args [SUITE]
  case ${1:-bookworm} in
    trixie) echo "--cap-add SYS_ADMIN" ;;
  esac
}

otlp_containers_conf() {
  echo "$OTLP_TLS_CACHE/containers.conf"
}

# Logging with elapsed time, so a slow step is visible in CI logs.
otlp_log() {
  printf '[otlp-tls %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}
