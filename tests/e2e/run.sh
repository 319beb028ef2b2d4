#!/usr/bin/env bash
# End-to-end tests: pytest over the fleet fixtures of tests/e2e/conftest.py. Real SDK apps
# (Python, Go, Java, Node.js) as systemd units, configured only by the exporter role, send spans
# over gRPC and HTTP/protobuf to the real collector with mTLS and with server TLS; clients without
# a certificate, with another CA's or with an expired one are refused; then name constraints,
# rotation, revocation, bad inputs, faults, secrets, a compromised host, and the fleet in two tiers
# (agents, a gateway pool, a backend with a token: every hop encrypted) (tests/e2e/CHECKS.md
# lists every check). Bash does the set-up only (tests/hosts/fleet.sh, tests/e2e/apps/*/build.sh).
#
#   bash tests/e2e/run.sh                        # everything; JUnit XML in tests/output/junit/e2e.xml
#   bash tests/e2e/run.sh --readme               # also write the matrix into README.md
#   bash tests/e2e/run.sh -k "java and grpc and mtls"    # more arguments go to pytest
#
# Environment: E2E_LANGUAGES="python go" (a subset of the apps); E2E_MATRIX=0, E2E_NAME_CONSTRAINTS=0,
# E2E_ROTATION=0, E2E_REVOCATION=0, E2E_BAD=0, E2E_FAULTS=0, E2E_SECRETS=0, E2E_COMPROMISED=0,
# E2E_TWO_TIER=0 leave a module out; E2E_KEEP=1 keeps the fleet for a look (podman exec -it otlp-e2e-app-mtls bash) and
# for the next run, which reuses it; E2E_FRESH=1 makes a new one; E2E_JUNIT=path.
# E2E_INSTALLED=1 (what `make e2e` sets) installs the collection as a user does: it builds the
# tarball with `ansible-galaxy collection build`, installs it into an empty collections path, and
# every playbook of the run (site.yml, rotate.yml, check.yml) comes from that installed copy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$OTLP_TLS_ROOT"

args=()
if [[ ${1:-} == --readme ]]; then args+=(--e2e-readme); shift; fi
# The modules, in the order that moves the fleet least (conftest.py sorts them so too).
modules=()
for spec in check_run:1 runtimes:1 matrix:${E2E_MATRIX:-1} name_constraints:${E2E_NAME_CONSTRAINTS:-1} \
    rotation:${E2E_ROTATION:-1} revocation:${E2E_REVOCATION:-1} bad_inputs:${E2E_BAD:-1} \
    faults:${E2E_FAULTS:-1} secrets:${E2E_SECRETS:-1} compromised_host:${E2E_COMPROMISED:-1} \
    two_tier:${E2E_TWO_TIER:-1}; do
  [[ ${spec#*:} == 0 ]] || modules+=("tests/e2e/test_${spec%%:*}.py")
done
if [[ ${E2E_INSTALLED:-0} == 1 && -z ${E2E_CODE_ROOT:-} ]]; then
  galaxy=tests/output/galaxy
  rm -rf "$galaxy"
  mkdir -p "$galaxy/collections"
  ansible-galaxy collection build --output-path "$galaxy" . >"$galaxy/build.log"
  tarball=$(ls "$galaxy"/otlp-tls-*.tar.gz)
  # Empty collections path, no dependencies to fetch (galaxy.yml has none): only the tarball.
  ANSIBLE_COLLECTIONS_PATH="$PWD/$galaxy/collections" \
    ansible-galaxy collection install --offline -p "$galaxy/collections" "$tarball" >"$galaxy/install.log"
  E2E_CODE_ROOT="$PWD/$galaxy/collections/ansible_collections/otlp/tls"
  [[ -f $E2E_CODE_ROOT/playbooks/site.yml && -f $E2E_CODE_ROOT/MANIFEST.json ]] || {
    otlp_log "ERROR: $tarball did not install a collection with playbooks/site.yml"; exit 1; }
  export E2E_CODE_ROOT
  otlp_log "e2e: playbooks from the installed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB, $(tar tzf "$tarball" | wc -l) entries) in $E2E_CODE_ROOT"
fi
junit=${E2E_JUNIT:-tests/output/junit/e2e.xml}
mkdir -p "$(dirname "$junit")"
start=$SECONDS
rc=0
pytest -p no:cacheprovider -ra --durations=0 --junitxml="$junit" -o junit_suite_name=e2e \
  "${args[@]}" "$@" "${modules[@]}" || rc=$?
otlp_log "e2e: pytest exit $rc in $((SECONDS - start)) s; JUnit XML: $junit"
exit "$rc"
