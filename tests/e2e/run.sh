#!/usr/bin/env bash
# End-to-end tests: pytest over the fleet fixtures of tests/e2e/conftest.py. Real SDK apps
# (Python, Go, Java, Node.js) as systemd units, configured only by the exporter role, send spans
# over gRPC and HTTP/protobuf to the real collector with mTLS and with server TLS; clients without
# a certificate, with another CA's or with an expired one are refused; then name constraints,
# rotation, revocation, bad inputs, faults, secrets and a compromised host (tests/e2e/CHECKS.md
# lists every check). Bash does the set-up only (tests/hosts/fleet.sh, tests/e2e/apps/*/build.sh).
#
#   bash tests/e2e/run.sh                        # everything; JUnit XML in tests/output/junit/e2e.xml
#   bash tests/e2e/run.sh --readme               # also write the matrix into README.md
#   bash tests/e2e/run.sh -k "java and grpc and mtls"    # more arguments go to pytest
#
# Environment: E2E_LANGUAGES="python go" (a subset of the apps); E2E_MATRIX=0, E2E_NAME_CONSTRAINTS=0,
# E2E_ROTATION=0, E2E_REVOCATION=0, E2E_BAD=0, E2E_FAULTS=0, E2E_SECRETS=0, E2E_COMPROMISED=0 leave a
# module out; E2E_KEEP=1 keeps the fleet for a look (podman exec -it otlp-e2e-app-mtls bash) and
# for the next run, which reuses it; E2E_FRESH=1 makes a new one; E2E_JUNIT=path.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$OTLP_TLS_ROOT"

args=()
if [[ ${1:-} == --readme ]]; then args+=(--e2e-readme); shift; fi
# The modules, in the order that moves the fleet least (conftest.py sorts them so too).
modules=()
for spec in check_run:1 matrix:${E2E_MATRIX:-1} name_constraints:${E2E_NAME_CONSTRAINTS:-1} \
    rotation:${E2E_ROTATION:-1} revocation:${E2E_REVOCATION:-1} bad_inputs:${E2E_BAD:-1} \
    faults:${E2E_FAULTS:-1} secrets:${E2E_SECRETS:-1} compromised_host:${E2E_COMPROMISED:-1}; do
  [[ ${spec#*:} == 0 ]] || modules+=("tests/e2e/test_${spec%%:*}.py")
done
junit=${E2E_JUNIT:-tests/output/junit/e2e.xml}
mkdir -p "$(dirname "$junit")"
start=$SECONDS
rc=0
pytest -p no:cacheprovider -ra --durations=0 --junitxml="$junit" -o junit_suite_name=e2e \
  "${args[@]}" "$@" "${modules[@]}" || rc=$?
otlp_log "e2e: pytest exit $rc in $((SECONDS - start)) s; JUnit XML: $junit"
exit "$rc"
