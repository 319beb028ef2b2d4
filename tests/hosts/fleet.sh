#!/usr/bin/env bash
# A local fleet of systemd test hosts (podman containers on their own network) and an
# Ansible inventory for it. Used by the demo and the benchmarks; Molecule has its own.
#
#   tests/hosts/fleet.sh up   NAME DIR host:group[,group][@suite][+alias,...] ...   # start, wait for systemd, write DIR/inventory.yml
#   tests/hosts/fleet.sh down NAME                              # remove the containers and the network
#
# Containers are called NAME-<host>, live on network NAME and resolve each other by
# their short host name. A host runs Debian bookworm, or the release named by @suite
# (bullseye, trixie: tests/hosts/build-image.sh --suite). +alias gives it more names on the
# network: hosts that share one resolve it to all their addresses (a gateway pool behind one
# name). Sources scripts/env.sh itself when the caller has not (images, CONTAINERS_CONF).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# podman must run with the project's containers.conf (netavark, runc) for `down` as for `up`: a
# fleet removed under another configuration leaves its DNS entries behind (aardvark-dns), and
# the next fleet of that name then resolves no host name at all.
if [[ -z ${CONTAINERS_CONF:-} ]]; then
  # shellcheck source=../../scripts/env.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/env.sh"
fi

usage() { sed -n '2,11p' "$0" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
action=$1 name=$2
shift 2

down() {
  local ids
  mapfile -t ids < <(podman ps -a --filter "label=otlp-tls-fleet=$name" -q)
  [[ ${#ids[@]} -eq 0 ]] || podman rm -f -t 2 "${ids[@]}" >/dev/null
  podman network exists "$name" && podman network rm -f "$name" >/dev/null
  otlp_log "fleet $name: removed"
}

# suite_of SPEC: the Debian release of a host:groups[@suite][+aliases] spec (bookworm when none).
suite_of() {
  local suite=bookworm spec=${1%%+*}
  [[ $spec != *@* ]] || suite=${spec##*@}
  [[ " $OTLP_TLS_SUITES " == *" $suite "* ]] || {
    echo "fleet $name: unknown release '$suite' in '$1'; use one of: $OTLP_TLS_SUITES" >&2; exit 2; }
  echo "$suite"
}

up() {
  local dir image
  : "${OTLP_TLS_TEST_IMAGE:?source scripts/env.sh first}"
  # ansible.cfg reads paths relative to itself: write absolute ones.
  mkdir -p "$1" && dir=$(cd "$1" && pwd)
  shift
  podman network exists "$name" || podman network create "$name" >/dev/null
  local spec host groups suite started=()
  for spec in "$@"; do
    host=${spec%%:*} suite=$(suite_of "$spec")
    local alias aliases=() names
    if [[ $spec == *+* ]]; then
      names=${spec#*+}
      for alias in ${names//,/ }; do aliases+=(--network-alias "$alias"); done
    fi
    # The default release keeps the image env.sh named (a bench may point it elsewhere).
    image=$OTLP_TLS_TEST_IMAGE
    if [[ $suite != bookworm ]]; then
      image=$(otlp_image "$suite")
      podman image exists "$image" || {
        echo "fleet $name: no image $image for $host; run: bash tests/hosts/build-image.sh --suite $suite" >&2; exit 1; }
    fi
    if [[ $(podman inspect -f '{{.State.Running}}' "$name-$host" 2>/dev/null) != true ]]; then
      podman rm -f "$name-$host" >/dev/null 2>&1 || true
      # --hostname and --network-alias make the short name resolve on the fleet network.
      # shellcheck disable=SC2046 # otlp_image_run_args prints separate arguments
      podman run -d --name "$name-$host" --hostname "$host" --network "$name" --network-alias "$host" "${aliases[@]}" \
        --systemd always --label "otlp-tls-fleet=$name" $(otlp_image_run_args "$suite") "$image" /sbin/init >/dev/null
      started+=("$host")
    fi
  done
  for host in "${started[@]}"; do
    timeout 60 podman exec "$name-$host" systemctl is-system-running --wait >/dev/null || {
      echo "fleet $name: $host did not finish booting" >&2; exit 1; }
  done
  otlp_log "fleet $name: ${#started[@]} started, $(( $# - ${#started[@]} )) already running"

  # The inventory: groups from the specs, every host reached with the pipelining connection.
  {
    echo "# Written by tests/hosts/fleet.sh for the fleet '$name'."
    echo "all:"
    echo "  vars:"
    echo "    ansible_connection: podman_pipelining"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "  children:"
    local group
    for group in $(printf '%s\n' "$@" | cut -d+ -f1 | cut -d: -f2 | cut -d@ -f1 | tr ',' '\n' | sort -u); do
      echo "    $group:"
      echo "      hosts:"
      for spec in "$@"; do
        host=${spec%%:*} groups=${spec%%+*} groups=${groups#*:} groups=${groups%@*} suite=$(suite_of "$spec")
        if [[ ",$groups," == *",$group,"* ]]; then
          echo "        $host:"
          echo "          ansible_host: $name-$host"
          echo "          test_debian_release: $suite"
        fi
      done
    done
  } > "$dir/inventory.yml"
  cat > "$dir/ansible.cfg" <<CFG
[defaults]
inventory = $dir/inventory.yml
connection_plugins = $OTLP_TLS_ROOT/tests/hosts/connection_plugins
interpreter_python = auto_silent
forks = 20
callback_result_format = yaml
[connection]
pipelining = true
CFG
}

case $action in
  up) [[ $# -ge 2 ]] || usage; up "$@" ;;
  down) down ;;
  *) usage ;;
esac
