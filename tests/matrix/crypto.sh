#!/usr/bin/env bash
# The unit tests of module_utils and of every module, run once per managed-host cryptography
# version in tests/matrix/cryptography.txt (the newest release is the test venv's own and runs
# in `make unit`).
#
#   bash tests/matrix/crypto.sh            # every version in the table
#   bash tests/matrix/crypto.sh 3.3.2      # one version
#
# Set-up only: each version gets its own cached virtualenv (tests/matrix/venv.sh) holding
# cryptography and what it needs; everything else comes from the test venv. The run checks
# that the cryptography imported is the one asked for. The tests themselves are pytest.
# JUnit XML: tests/output/junit/crypto-<version>.xml.
set -euo pipefail
# shellcheck source=../../scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$OTLP_TLS_ROOT"

table=tests/matrix/cryptography.txt
if (($#)); then
  versions=("$@")
else
  mapfile -t versions < <(awk '!/^#/ && NF {print $1}' "$table")
fi

mkdir -p tests/output/junit
failed=()
for version in "${versions[@]}"; do
  dir="$(bash tests/matrix/venv.sh cryptography "$version")"
  start=$(date +%s)
  if OTLP_TLS_EXPECT_CRYPTOGRAPHY="$version" "$dir/bin/python" -m pytest -q -p no:cacheprovider \
    --junitxml="tests/output/junit/crypto-$version.xml" -o junit_suite_name="crypto-$version" \
    tests/matrix/test_crypto_version.py tests/unit/plugins/module_utils tests/unit/plugins/modules; then
    otlp_log "crypto matrix: cryptography $version passed in $(($(date +%s) - start)) s"
  else
    otlp_log "crypto matrix: cryptography $version FAILED"
    failed+=("$version")
  fi
done
if ((${#failed[@]})); then
  otlp_log "crypto matrix: failed with cryptography ${failed[*]}"
  exit 1
fi
