#!/usr/bin/env bash
# Prints the path of a cached virtualenv for one cell of the support matrix, building it first
# when it is missing (set-up only; the tests are pytest):
#
#   bash tests/matrix/venv.sh cryptography 3.3.2    # that cryptography and nothing else
#   bash tests/matrix/venv.sh ansible-core 2.16.19  # that ansible-core (its own jinja2, PyYAML, ...)
#
# $OTLP_TLS_CACHE/matrix-<package>-<version>-<key>. A site hook placed after the venv's own
# site-packages adds the test venv's (pytest, and cryptography or ansible-core where the venv
# has none of its own), so the package this venv was made for is the one imported; the key
# covers the test venv and the interpreter, so a rebuilt test venv never pairs with an old one.
set -euo pipefail
# shellcheck source=../../scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh" 2>/dev/null

package=${1:-}
version=${2:-}
case $package in
  cryptography | ansible-core) ;;
  *) sed -n '2,6p' "$0" >&2; exit 2 ;;
esac
[[ $version =~ ^[0-9]+(\.[0-9]+)*$ ]] || { otlp_log "ERROR: '$version' is not a version number"; exit 2; }

test_site=$("$VIRTUAL_ENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
key=$(printf '%s\n' "$VIRTUAL_ENV" "$(python3 -c 'import sys; print(sys.version)')" | otlp_hash -)
dir=$OTLP_TLS_CACHE/matrix-$package-$version-$key
if [[ ! -f $dir/.otlp-tls-complete ]]; then
  otlp_log "matrix: building the venv for $package $version"
  rm -rf "$dir"
  python3 -m venv "$dir" >&2
  # Binary wheels only, as a managed host gets a built package.
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: "$package==$version" >&2
  site=$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  printf 'import site; site.addsitedir(%s)\n' "'$test_site'" >"$site/zz-otlp-tls-test-venv.pth"
  touch "$dir/.otlp-tls-complete"
fi
echo "$dir"
