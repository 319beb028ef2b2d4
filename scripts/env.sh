# shellcheck shell=bash source-path=SCRIPTDIR
# Environment for running the otlp.tls tests; prepared by scripts/setup.sh.
#
#   source scripts/env.sh            # bash/zsh, from any directory
#   eval "$(bash scripts/env.sh)"    # any POSIX shell: prints export lines
#
# Only points at caches; it builds nothing (run scripts/setup.sh for that)
# but warns when something it points at is missing.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export OTLP_TLS_ROOT OTLP_TLS_CACHE

# Python tools (ansible-*, molecule, pytest, ...) from the cached venv.
VIRTUAL_ENV="$(otlp_venv_dir)"
export VIRTUAL_ENV
case ":$PATH:" in
  *":$VIRTUAL_ENV/bin:"*) ;;
  *) export PATH="$VIRTUAL_ENV/bin:$PATH" ;;
esac

# podman: runc runtime and machine-fitting ulimits (tests/hosts/containers-conf.sh).
CONTAINERS_CONF="$(otlp_containers_conf)"
export CONTAINERS_CONF

# otlp.tls itself (via the .tmp symlink to this clone) first, then the
# collections taken from the ansible wheel. Not ~/.ansible/collections, so
# every machine runs with the same collection versions.
ANSIBLE_COLLECTIONS_PATH="$OTLP_TLS_ROOT/.tmp/collections:$(otlp_collections_dir)"
export ANSIBLE_COLLECTIONS_PATH

# Images for molecule platforms and fleets (.config/molecule/config.yml reads them):
# bookworm by default, OTLP_TLS_TEST_IMAGE_BULLSEYE / _TRIXIE for the other releases.
OTLP_TLS_TEST_IMAGE="$(otlp_image)"
OTLP_TLS_TEST_IMAGE_BULLSEYE="$(otlp_image bullseye)"
OTLP_TLS_TEST_IMAGE_TRIXIE="$(otlp_image trixie)"
export OTLP_TLS_TEST_IMAGE OTLP_TLS_TEST_IMAGE_BULLSEYE OTLP_TLS_TEST_IMAGE_TRIXIE

# The real collector (release-style archive + checksum, installed by the role's "file"
# method like an air-gapped user's) and telemetrygen, built by scripts/setup.sh.
OTLP_TLS_COLLECTOR_BIN="$(bash "$OTLP_TLS_ROOT/tests/collector/build.sh" --cached 2>/dev/null || true)"
OTLP_TLS_COLLECTOR_CORE_BIN="$(OTLP_TLS_COLLECTOR_MANIFEST=manifest-core.yaml bash "$OTLP_TLS_ROOT/tests/collector/build.sh" --cached 2>/dev/null || true)"
OTLP_TLS_TELEMETRYGEN="$(bash "$OTLP_TLS_ROOT/tests/collector/telemetrygen.sh" --cached 2>/dev/null || true)"
OTLP_TLS_PROMTOOL="$(bash "$OTLP_TLS_ROOT/tests/prometheus/promtool.sh" --cached 2>/dev/null || true)"
export OTLP_TLS_COLLECTOR_BIN OTLP_TLS_COLLECTOR_CORE_BIN OTLP_TLS_TELEMETRYGEN OTLP_TLS_PROMTOOL

# CI logs are files: no ANSI colour codes in them.
if [[ -n "${CI:-}" && "${CI:-}" != false ]]; then
  export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 PY_COLORS=0 NO_COLOR=1
fi

# Say what is missing instead of failing later with an obscure error.
_otlp_missing=()
[[ -x "$VIRTUAL_ENV/bin/molecule" ]] || _otlp_missing+=("venv $VIRTUAL_ENV")
[[ -f "$CONTAINERS_CONF" ]] || _otlp_missing+=("$CONTAINERS_CONF")
[[ -f "$(otlp_collections_dir)/.otlp-tls-complete" ]] || _otlp_missing+=("$(otlp_collections_dir)")
[[ -n $OTLP_TLS_COLLECTOR_BIN ]] || _otlp_missing+=("the collector build")
[[ -n $OTLP_TLS_TELEMETRYGEN ]] || _otlp_missing+=("telemetrygen")
[[ -L "$OTLP_TLS_ROOT/.tmp/collections/ansible_collections/otlp/tls" ]] ||
  _otlp_missing+=(".tmp/collections/ansible_collections/otlp/tls")
if ((${#_otlp_missing[@]})); then
  otlp_log "WARNING: not set up yet (${_otlp_missing[*]}); run: bash scripts/setup.sh"
fi
unset _otlp_missing

# Executed instead of sourced: print the variables for `eval` in any shell.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  for _v in OTLP_TLS_ROOT OTLP_TLS_CACHE VIRTUAL_ENV PATH CONTAINERS_CONF \
    ANSIBLE_COLLECTIONS_PATH OTLP_TLS_TEST_IMAGE OTLP_TLS_TEST_IMAGE_BULLSEYE OTLP_TLS_TEST_IMAGE_TRIXIE OTLP_TLS_COLLECTOR_BIN OTLP_TLS_TELEMETRYGEN \
    ANSIBLE_FORCE_COLOR ANSIBLE_NOCOLOR PY_COLORS NO_COLOR; do
    [[ -n "${!_v+x}" ]] && printf 'export %s=%q\n' "$_v" "${!_v}"
  done
  exit 0
fi
