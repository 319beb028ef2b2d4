#!/usr/bin/env bash
# Bad inputs on the converged e2e fleet (run by tests/e2e/run.sh after the rotation test):
# each case runs playbooks/site.yml (or rotate.yml) with one wrong setting and must
#   - fail, with a message that names the problem and the fix (checked by a pattern),
#   - leave every managed file on every host, and the CA directory, byte for byte and mode
#     for mode as it was (sha256 + mode of /etc/otlp-tls, /etc/otelcol, /opt/otlp-tls and
#     the systemd units and drop-ins, before and after),
#   - leave every collector and app running with the same PID.
# shellcheck disable=SC2154 # fleet, work, collectors, apps, hosts, extra, out: set by stage.sh
# shellcheck source=stage.sh
source "$(dirname "${BASH_SOURCE[0]}")/stage.sh" bad
python3 tests/e2e/make_bad_cas.py "$out/cas"

# The apps send while the bad runs happen; a port on collector-mtls is taken by another program.
ansible-playbook "${extra[@]}" tests/e2e/rotation_load.yml > "$out/load.log"
podman exec "$fleet-collector-mtls" systemd-run --unit e2e-squatter python3 -m http.server 4399 >/dev/null
podman exec "$fleet-app-mtls" sh -c "grep -q collector-alias /etc/hosts || echo \"\$(getent hosts collector-mtls | cut -d' ' -f1) collector-alias\" >> /etc/hosts"
sleep 2

snapshot() {
  for host in "${hosts[@]}"; do
    podman exec "$fleet-$host" sh -c 'find /etc/otlp-tls /etc/otelcol /opt/otlp-tls /etc/systemd/system -xdev \
      \( -type f -o -type l \) 2>/dev/null | sort | while read -r f; do
        printf "%s %s %s\n" "$(stat -c "%a %U:%G" "$f")" "$(sha256sum < "$f" | cut -c1-16)" "$f"; done' | sed "s/^/$host /"
    podman exec "$fleet-$host" sh -c 'for u in otelcol $(systemctl list-units --plain --no-legend "e2e-*.service" | cut -d" " -f1); do
      echo "pid $u $(systemctl show -p MainPID --value "$u") $(systemctl is-active "$u")"; done' | sed "s/^/$host /"
  done
  find "$work/ca" -type f | sort | xargs sha256sum | sed 's/^/ca /'
}

# The snapshot must see a change, or the cases below would prove nothing: a mode change
# on one managed file is the control.
base=$(snapshot)
mode=$(podman exec "$fleet-collector-tls" stat -c %a /etc/otelcol/config.yaml)
podman exec "$fleet-collector-tls" chmod 0604 /etc/otelcol/config.yaml
[[ $(snapshot) != "$base" ]] || { echo "bad inputs: the snapshot does not see a mode change" >&2; exit 1; }
podman exec "$fleet-collector-tls" chmod "$mode" /etc/otelcol/config.yaml
echo "snapshot: $(grep -vc ' pid \|^ca ' <<< "$base") managed files and $(grep -c ' pid ' <<< "$base") processes on ${#hosts[@]} hosts, $(grep -c '^ca ' <<< "$base") CA files; a mode change is seen" | tee "$out/summary.txt"

passed=0 failed=0
declare -a report
# case NAME PATTERN PLAYBOOK [ansible-playbook args...]
case_() {
  local name=$1 pattern=$2 playbook=$3; shift 3
  local log=$out/$name.log before after
  before=$(snapshot)
  if ansible-playbook "${extra[@]}" "$@" "$playbook" > "$log" 2>&1; then
    report+=("FAIL $name: the run succeeded"); failed=$((failed + 1)); return
  fi
  after=$(snapshot)
  if [[ $before != "$after" ]]; then
    report+=("FAIL $name: files or processes changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -3 | tr '\n' ' ')")
    failed=$((failed + 1)); return
  fi
  if ! grep -v '^\s*$' "$log" | tr -s ' \n' ' ' | grep -Eq -- "$pattern"; then
    report+=("FAIL $name: the message does not match /$pattern/ (log: $log)"); failed=$((failed + 1)); return
  fi
  local msg
  msg=$(grep -Eo -- "$pattern" <(tr -s ' \n' ' ' < "$log") | head -1)
  report+=("ok   $name: ${msg:0:150}"); passed=$((passed + 1))
}

apps_with() {  # the e2e apps of app-mtls with one app changed
  printf '{"otlp_tls_exporter_apps": [%s]}' "$1"
}
lim_app=(--limit "collector-mtls,app-mtls")
lim_col=(--limit collector-mtls)

case_ unknown-language 'unknown SDK language .cobol.: choose one of' playbooks/site.yml "${lim_app[@]}" \
  -e "$(apps_with '{"unit": "e2e-go-grpc", "language": "cobol"}')"
case_ unknown-protocol "unknown protocol 'grpcx': choose grpc or http/protobuf" playbooks/site.yml "${lim_app[@]}" \
  -e "$(apps_with '{"unit": "e2e-go-grpc", "language": "go", "protocol": "grpcx"}')"
case_ http-scheme-with-tls 'must be a host name, without scheme or path' playbooks/site.yml "${lim_app[@]}" \
  -e otlp_tls_exporter_collector=http://collector-mtls
case_ grpc-endpoint-with-path 'must be a host name, without scheme or path' playbooks/site.yml "${lim_app[@]}" \
  -e otlp_tls_exporter_collector=collector-mtls/v1/traces
case_ collector-endpoint-without-port 'endpoints must be host:port' playbooks/site.yml "${lim_col[@]}" \
  -e otlp_tls_collector_grpc_endpoint=0.0.0.0
# The app hosts name the collector collector-alias and the inventory says the collector
# answers to it, but its certificate was never re-issued with that name (only app-mtls runs).
case_ san-does-not-cover-endpoint 'do not cover collector-alias.*Add the name to the collector.s otlp_tls_collector_endpoint_names' \
  playbooks/site.yml --limit app-mtls \
  -e '{"otlp_tls_exporter_collector": "collector-alias", "otlp_tls_collector_endpoint_names": ["collector-mtls", "collector-alias"]}'
case_ collector-name-unknown 'would connect to collector-nowhere, which is neither a host of the group otlp_collectors.*add it to that collector.s otlp_tls_collector_endpoint_names' \
  playbooks/site.yml --limit app-mtls -e otlp_tls_exporter_collector=collector-nowhere
case_ unit-does-not-exist 'e2e-nope.service do not exist on app-mtls: install the apps first' playbooks/site.yml "${lim_app[@]}" \
  -e "$(apps_with '{"unit": "e2e-nope", "language": "go"}')"
case_ dotnet-http-with-tls 'ignores OTEL_EXPORTER_OTLP_CERTIFICATE and the client certificate variables: use protocol grpc for .NET' playbooks/site.yml "${lim_app[@]}" \
  -e "$(apps_with '{"unit": "e2e-go-grpc", "language": "dotnet", "protocol": "http/protobuf"}')"
case_ ca-key-wrong-passphrase 'could not be decrypted: the passphrase is wrong' playbooks/site.yml "${lim_col[@]}" \
  -e "{\"otlp_tls_ca_dir\": \"$out/cas/encrypted\", \"otlp_tls_ca_key_passphrase\": \"not-the-right-one\"}"
case_ ca-expired 'expired on .*: rotate the CA' playbooks/site.yml "${lim_col[@]}" \
  -e "{\"otlp_tls_ca_dir\": \"$out/cas/expired\"}"
case_ ca-key-and-certificate-do-not-match 'do not belong together: restore the matching pair' playbooks/site.yml "${lim_col[@]}" \
  -e "{\"otlp_tls_ca_dir\": \"$out/cas/mismatch\"}"
case_ ca-certificate-path-is-a-directory 'is a directory: point it at a file inside it' playbooks/site.yml "${lim_col[@]}" \
  -e "{\"otlp_tls_ca_dir\": \"$out/cas/directory\"}"
case_ ca-key-unreadable 'is not a readable PEM or DER private key' playbooks/site.yml "${lim_col[@]}" \
  -e "{\"otlp_tls_ca_dir\": \"$out/cas/garbage\"}"
case_ collector-config-fails-validation 'failed .otelcol validate.; the live config /etc/otelcol/config.yaml was not replaced' \
  playbooks/site.yml "${lim_col[@]}" \
  -e '{"otlp_tls_collector_extra_config": {"exporters": {"file/traces": {"compression": "nonsense"}}}}'
case_ collector-binary-missing 'is not a file on the controller: point it at the collector archive' playbooks/site.yml "${lim_col[@]}" \
  -e otlp_tls_collector_file=/nonexistent/otelcol_0.165.0_linux_amd64.tar.gz -e otlp_tls_collector_checksum=
case_ collector-checksum-wrong 'has sha256 [0-9a-f]{64}, not 0{64} as otlp_tls_collector_checksum says: replace the file or fix the checksum' playbooks/site.yml "${lim_col[@]}" \
  -e otlp_tls_collector_checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000
case_ port-in-use 'port.s. 4399 are taken by another program.*python3.*Stop that program, or choose a free port' \
  playbooks/site.yml "${lim_col[@]}" -e otlp_tls_collector_http_endpoint=0.0.0.0:4399
case_ renew-before-invalid 'renew_before .400. must be at least 0 and below validity_days' playbooks/site.yml "${lim_col[@]}" \
  -e otlp_tls_certificate_renew_before=400
case_ tls-min-version-too-old 'otlp_tls_collector_tls_min_version must be one of: 1.2, 1.3, got: 1.1' playbooks/site.yml "${lim_col[@]}" \
  -e otlp_tls_collector_tls_min_version=1.1
case_ rotate-what-unknown 'Say what to rotate: -e otlp_tls_rotate=leaf' playbooks/rotate.yml -e otlp_tls_rotate=everything

podman exec "$fleet-collector-mtls" systemctl stop e2e-squatter
printf '%s\n' "${report[@]}" | tee -a "$out/summary.txt"
echo "bad inputs: $passed of $((passed + failed)) refused with a clear message, nothing changed, everything still running" \
  | tee -a "$out/summary.txt"
[[ $failed -eq 0 ]]
