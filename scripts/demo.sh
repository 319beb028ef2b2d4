#!/usr/bin/env bash
# The demo: a local fleet of systemd test hosts in three tiers (apps -> an agent on each app
# host -> 2 gateways behind one DNS name -> a backend that wants a token; tests/demo/inventory.yml),
# playbooks/site.yml run against it, and the proof a user wants to see. `make demo` runs `up`
# (after scripts/setup.sh).
#
#   bash scripts/demo.sh up     # start (or reuse) the fleet, converge, prove
#   bash scripts/demo.sh down   # remove the fleet and the demo CA
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$OTLP_TLS_ROOT"

fleet=otlp-demo
dir=$OTLP_TLS_ROOT/.tmp/demo
hosts=(collector1:otlp_collectors+otlp-gateway collector2:otlp_collectors+otlp-gateway backend:otlp_backend
  app1:otlp_apps,otlp_agents app2:otlp_apps,otlp_agents)

case ${1:-up} in
  down)
    bash tests/hosts/fleet.sh down "$fleet"
    rm -rf "$dir"
    exit 0 ;;
  up) ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac

start=$(date +%s)
bash tests/hosts/fleet.sh up "$fleet" "$dir" "${hosts[@]}"
export ANSIBLE_CONFIG=$dir/ansible.cfg
# The backend's own CA and certificate (a vendor's), and the token it accepts, made once; the
# token reaches the gateways only from an Ansible Vault file.
vendor=$dir/vendor
export E2E_VENDOR_DIR=$vendor
if [[ ! -f $vendor/backend.crt || ! -f $dir/token.yml ]]; then
  rm -rf "$vendor" && mkdir -p "$vendor" && (
    cd "$vendor"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -subj '/CN=demo vendor CA' \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=backend' \
      -keyout backend.key -out backend.csr 2>/dev/null
    printf 'subjectAltName=DNS:backend\nextendedKeyUsage=serverAuth\n' > ext
    openssl x509 -req -in backend.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile ext \
      -out backend.crt 2>/dev/null
    umask 077
    printf 'demo-%s' "$(openssl rand -hex 16)" > token
    openssl rand -hex 16 > "$dir/vault-pass"
    printf 'e2e_vendor_token: %s\n' "$(cat token)" > "$dir/token.yml"
  )
  ansible-vault encrypt --vault-password-file "$dir/vault-pass" "$dir/token.yml" >/dev/null 2>&1
fi
# The demo's CA stays inside the checkout's .tmp, never in your home directory.
extra=(-i "$dir/inventory.yml" -i tests/demo/inventory.yml -e "{\"otlp_tls_ca_dir\": \"$dir/ca\"}"
  -e @tests/demo/vars.yml -e "@$dir/token.yml" --vault-password-file "$dir/vault-pass")

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
otlp_log "demo: the backend (a collector under the vendor's CA, requiring the token)"
ansible-playbook "${extra[@]}" tests/e2e/two_tier/backend.yml
otlp_log "demo: ansible-playbook playbooks/site.yml (gateways, agents, apps)"
ansible-playbook "${extra[@]}" playbooks/site.yml
ansible-playbook "${extra[@]}" --tags start tests/demo/apps.yml
otlp_log "demo: proving it"
ansible-playbook "${extra[@]}" tests/demo/proof.yml

cat <<MSG

The demo fleet is up ($(( $(date +%s) - start )) s). Hosts: ${hosts[*]%%:*}
  log into a host:     podman exec -it $fleet-app1 bash
  run a playbook:      source scripts/env.sh; export E2E_VENDOR_DIR=$vendor ANSIBLE_CONFIG=$dir/ansible.cfg
                       ansible-playbook ${extra[*]} playbooks/site.yml
  see an app's setup:  podman exec $fleet-app1 systemctl cat checkout
  tear it down:        make demo-down
A second 'make demo' reuses the fleet and the CA and changes nothing.
MSG
