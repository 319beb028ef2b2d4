#!/usr/bin/env bash
# The unit tests once per cell of the support matrix, each cell in its own cached virtualenv
# (tests/matrix/venv.sh), MATRIX_JOBS cells at a time (default 2: one per core here):
#
#   cryptography <version>   tests/matrix/cryptography.txt: the managed hosts' cryptography;
#                            runs the tests of module_utils and of every module
#   ansible-core <version>   tests/matrix/ansible-core.txt: every ansible-core minor version from
#                            the requires_ansible floor; runs every unit test (tests/unit),
#                            including the real ansible-playbook runs of tests/unit/playbooks
#
#   bash tests/matrix/cells.sh                         # every cell of both tables
#   bash tests/matrix/cells.sh cryptography            # one table
#   bash tests/matrix/cells.sh ansible-core 2.16.19    # one cell
#
# The newest release of each (the test venv's own) runs in `make unit`. Set-up and scheduling
# only: the tests are pytest, and tests/matrix/test_versions.py checks that a cell imports the
# version it was made for. JUnit XML: tests/output/junit/<package>-<version>.xml; each cell's
# output: tests/output/matrix/<package>-<version>.log (printed when the cell fails).
set -euo pipefail
# shellcheck source=../../scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$OTLP_TLS_ROOT"

jobs=${MATRIX_JOBS:-2}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { otlp_log "ERROR: MATRIX_JOBS='$jobs' is not a positive number"; exit 2; }

table() { awk '!/^#/ && NF {print $1}' "tests/matrix/$1.txt"; }
cells=()
case ${1:-} in
  '') for package in cryptography ansible-core; do
        while read -r version; do cells+=("$package $version"); done < <(table "$package")
      done ;;
  cryptography | ansible-core)
      package=$1; shift
      if (($#)); then
        for version in "$@"; do cells+=("$package $version"); done
      else
        while read -r version; do cells+=("$package $version"); done < <(table "$package")
      fi ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac

mkdir -p tests/output/junit tests/output/matrix
# Venvs first, one at a time (pip's cache is shared); then the tests, `jobs` at a time.
declare -A dirs
for cell in "${cells[@]}"; do
  dirs[$cell]=$(bash tests/matrix/venv.sh $cell)
done

run_cell() { # run_cell PACKAGE VERSION DIR: the cell's pytest run; its output in its log
  local package=$1 version=$2 dir=$3 name=$1-$2 tests
  if [[ $package == cryptography ]]; then
    tests=(tests/unit/plugins/module_utils tests/unit/plugins/modules)
  else
    tests=(tests/unit)
  fi
  local start=$SECONDS
  if OTLP_TLS_EXPECT_PACKAGE="$package" OTLP_TLS_EXPECT_VERSION="$version" \
    "$dir/bin/python" -m pytest -q -p no:cacheprovider --junitxml="tests/output/junit/$name.xml" \
    -o junit_suite_name="$name" tests/matrix/test_versions.py "${tests[@]}" \
    >"tests/output/matrix/$name.log" 2>&1; then
    otlp_log "matrix: $package $version passed in $((SECONDS - start)) s ($(tail -n1 "tests/output/matrix/$name.log"))"
  else
    otlp_log "matrix: $package $version FAILED after $((SECONDS - start)) s; its output:"
    tail -n 60 "tests/output/matrix/$name.log" >&2
    return 1
  fi
}

start=$SECONDS
declare -A pids
failed=()
for cell in "${cells[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do sleep 1; done
  # shellcheck disable=SC2086 # a cell is "package version"
  run_cell $cell "${dirs[$cell]}" &
  pids[$cell]=$!
done
for cell in "${cells[@]}"; do
  wait "${pids[$cell]}" || failed+=("$cell")
done
otlp_log "matrix: ${#cells[@]} cells, $jobs at a time, in $((SECONDS - start)) s"
if ((${#failed[@]})); then
  otlp_log "matrix: FAILED: $(printf '%s, ' "${failed[@]}" | sed 's/, $//')"
  exit 1
fi
