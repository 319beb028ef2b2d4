#!/usr/bin/env bash
# The demo: a local fleet of systemd test hosts, playbooks/site.yml run against it, and
# the proof a user wants to see. `make demo` runs `up` (after scripts/setup.sh).
#
#   bash scripts/demo.sh up     # start (or reuse) the fleet, converge, prove
#   bash scripts/demo.sh down   # remove the fleet and the demo CA
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$OTLP_TLS_ROOT"

fleet=otlp-demo
dir=$OTLP_TLS_ROOT/.tmp/demo
hosts=(collector1:otlp_collectors app1:otlp_apps app2:otlp_apps)

case ${1:-up} in
  down)
    bash tests/hosts/fleet.sh down "$fleet"
    rm -rf "$dir"
    exit 0 ;;
  up) ;;
  *) sed -n '2,7p' "$0" >&2; exit 2 ;;
esac

start=$(date +%s)
bash tests/hosts/fleet.sh up "$fleet" "$dir" "${hosts[@]}"
export ANSIBLE_CONFIG=$dir/ansible.cfg
# The demo's CA stays inside the checkout's .tmp, never in your home directory.
extra=(-e "{\"otlp_tls_ca_dir\": \"$dir/ca\"}" -e @tests/demo/vars.yml)

# The real SDK apps of the end-to-end tests, built from the registries and cached.
mkdir -p "$dir/bundles"
for language in python java go nodejs; do
  app=$(bash "tests/e2e/apps/${language/nodejs/node}/build.sh" | tail -n1)
  bundle=$dir/bundles/$(basename "$app").tar.gz
  [[ -f $bundle ]] || tar -C "$app" -czf "$bundle" .
  export "E2E_APP_${language^^}=$bundle"
done
otlp_log "demo: the apps (systemd units under their own users)"
ansible-playbook "${extra[@]}" --skip-tags start tests/demo/apps.yml
otlp_log "demo: ansible-playbook playbooks/site.yml"
ansible-playbook "${extra[@]}" playbooks/site.yml
ansible-playbook "${extra[@]}" --tags start tests/demo/apps.yml
otlp_log "demo: proving it"
ansible-playbook "${extra[@]}" tests/demo/proof.yml

cat <<MSG

The demo fleet is up ($(( $(date +%s) - start )) s). Hosts: ${hosts[*]%%:*}
  log into a host:     podman exec -it $fleet-app1 bash
  run a playbook:      source scripts/env.sh; ANSIBLE_CONFIG=$dir/ansible.cfg ansible-playbook -e otlp_tls_ca_dir=$dir/ca -e @tests/demo/vars.yml playbooks/site.yml
  see an app's setup:  podman exec $fleet-app1 systemctl cat checkout
  tear it down:        make demo-down
A second 'make demo' reuses the fleet and the CA and changes nothing.
MSG
