#!/usr/bin/env bash
# End-to-end: real SDK apps (Python, Go, Java, Node.js) as systemd units, configured only by
# the exporter role, send spans over gRPC and HTTP/protobuf to the real collector with mTLS
# and with server TLS; clients without a certificate, with another CA's or with an expired
# one are refused. Prints the language x protocol x TLS matrix and fails unless all pass.
#
#   bash tests/e2e/run.sh            # E2E_LANGUAGES="python go" to run a subset
#   bash tests/e2e/run.sh --readme   # also write the matrix into README.md
#   E2E_KEEP=1 keeps the fleet for a look (podman exec -it otlp-e2e-app-mtls bash)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$OTLP_TLS_ROOT"

fleet=otlp-e2e
work=$OTLP_TLS_ROOT/.tmp/e2e
export E2E_LANGUAGES=${E2E_LANGUAGES:-python go java nodejs}
start=$SECONDS

# The apps, built on this machine from the registries and cached (see each build.sh).
rm -rf "$work" && mkdir -p "$work/bundles" "$work/results"
for language in $E2E_LANGUAGES; do
  dir=$(bash "tests/e2e/apps/${language/nodejs/node}/build.sh" | tail -n1)
  tar -C "$dir" -czf "$work/bundles/$language.tar.gz" .
  export "E2E_APP_${language^^}=$work/bundles/$language.tar.gz"
done
otlp_log "e2e: apps ready ($((SECONDS - start)) s)"

[[ ${E2E_KEEP:-} ]] || trap 'bash tests/hosts/fleet.sh down "$fleet" >/dev/null 2>&1 || true' EXIT
bash tests/hosts/fleet.sh down "$fleet" >/dev/null 2>&1 || true
bash tests/hosts/fleet.sh up "$fleet" "$work" \
  collector-mtls:otlp_collectors collector-tls:otlp_collectors app-mtls:otlp_apps app-tls:otlp_apps
export ANSIBLE_CONFIG=$work/ansible.cfg E2E_RESULTS_DIR=$work/results E2E_EXPIRED_DIR=$work/expired
extra=(-e "{\"otlp_tls_ca_dir\": \"$work/ca\"}" -e @tests/e2e/vars.yml)

ansible-playbook "${extra[@]}" tests/e2e/prepare.yml
# A check run on the fresh fleet must succeed and write nothing, anywhere.
ansible-playbook "${extra[@]}" playbooks/site.yml --check --diff
for host in collector-mtls collector-tls app-mtls app-tls; do
  if podman exec "$fleet-$host" test -e /etc/otlp-tls -o -e /etc/otelcol -o -e /opt/otlp-tls; then
    echo "e2e: the check run wrote files on $host" >&2; exit 1
  fi
done
[[ ! -e $work/ca ]] || { echo "e2e: the check run made a CA" >&2; exit 1; }
otlp_log "e2e: site.yml --check --diff on the fresh fleet wrote nothing"
ansible-playbook "${extra[@]}" playbooks/site.yml
python3 tests/e2e/make_expired_cert.py "$work/ca" "$E2E_EXPIRED_DIR"
ansible-playbook "${extra[@]}" tests/e2e/verify.yml

otlp_log "e2e: matrix ($((SECONDS - start)) s)"
readme=()
[[ ${1:-} != --readme ]] || readme=(README.md)
python3 tests/e2e/matrix.py "$E2E_RESULTS_DIR" "${readme[@]}"

# Name constraints, on loopback: the real collector and the Python, Go and Node SDKs refuse a leaf
# outside the CA's constraints, even one signed with the CA key (no fleet needed).
[[ ${E2E_NAME_CONSTRAINTS:-1} == 0 ]] || pytest -q -p no:cacheprovider tests/e2e/test_name_constraints.py

# Rotation without losing a span, on the same fleet.
[[ ${E2E_ROTATION:-1} == 0 ]] || E2E_FLEET=$fleet bash tests/e2e/rotation.sh
# One app unit revoked while every app sends: cut off within the collector's bound, 0 lost by the others.
[[ ${E2E_REVOCATION:-1} == 0 ]] || E2E_FLEET=$fleet pytest -q -p no:cacheprovider tests/e2e/test_revocation.py
# Bad inputs, faults, secrets (the last one moves the fleet to a new CA).
[[ ${E2E_BAD:-1} == 0 ]] || E2E_FLEET=$fleet bash tests/e2e/bad_inputs.sh
[[ ${E2E_FAULTS:-1} == 0 ]] || E2E_FLEET=$fleet bash tests/e2e/faults.sh
[[ ${E2E_SECRETS:-1} == 0 ]] || E2E_FLEET=$fleet bash tests/e2e/secrets.sh
# A compromised app host (its python3 forges CSRs and injects facts) through site.yml, a leaf
# and a CA rotation; moves the fleet to yet another CA, so it runs last.
[[ ${E2E_COMPROMISED:-1} == 0 ]] || E2E_FLEET=$fleet pytest -q -p no:cacheprovider tests/e2e/test_compromised_host.py
otlp_log "e2e: all passed ($((SECONDS - start)) s)"
