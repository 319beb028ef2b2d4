# shellcheck shell=bash
# Sourced by the stages that run on the e2e fleet once tests/e2e/run.sh has converged it
# (rotation.sh, bad_inputs.sh, faults.sh, secrets.sh):
#   source "$(dirname "${BASH_SOURCE[0]}")/stage.sh" NAME
# Sets up the environment and the fleet's Ansible config, and defines fleet, work, the
# host lists, extra (the playbooks' -e arguments) and out (NAME's own, emptied directory).
# shellcheck disable=SC2034 # the variables are for the stage that sources this file
set -euo pipefail
# shellcheck source=../../scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
cd "$OTLP_TLS_ROOT"

fleet=${E2E_FLEET:-otlp-e2e}
work=$OTLP_TLS_ROOT/.tmp/e2e
export ANSIBLE_CONFIG=$work/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
collectors=(collector-mtls collector-tls)
apps=(app-mtls app-tls)
hosts=("${collectors[@]}" "${apps[@]}")
extra=(-e "{\"otlp_tls_ca_dir\": \"$work/ca\"}" -e @tests/e2e/vars.yml)
out=$work/${1:?stage name}
rm -rf "$out" && mkdir -p "$out"
