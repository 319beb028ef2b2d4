#!/usr/bin/env bash
# Zero-loss rotation on the e2e fleet (run by tests/e2e/run.sh once the matrix passed, with
# the fleet up): every app sends numbered spans without end, then
#   1. a leaf rotation of the whole fleet (new keys),
#   2. a CA rotation, killed in the middle of phase reissue, the state shown, then resumed,
#   3. the apps are stopped (they flush) and the spans each run of each unit sent are
#      compared with what the collectors received: 0 lost, collectors never restarted,
#      and no app logged a TLS or export error at any point,
#   4. playbooks/check.yml passes on the rotated fleet, then catches an expiring
#      certificate and an endpoint name the collector's certificate does not cover.
# shellcheck disable=SC2154 # fleet, work, collectors, apps, hosts, extra, out: set by stage.sh
# shellcheck source=stage.sh
source "$(dirname "${BASH_SOURCE[0]}")/stage.sh" rotation
mkdir -p "$out/sent" "$out/received"
summary=$out/summary.txt
say() { echo "$*" | tee -a "$summary"; }
# A playbook whose output goes to a log, shown in full when it fails.
play() {
  local log=$1; shift
  ansible-playbook "${extra[@]}" "$@" > "$log" 2>&1 || { tail -n 60 "$log" >&2; echo "rotation: ansible-playbook $* failed (log: $log)" >&2; exit 1; }
}

pid_of() { podman exec "$fleet-$1" systemctl show -p MainPID --value otelcol; }
fingerprints() {  # every certificate on the fleet, with the CA that issued it
  for host in "${collectors[@]}" "${apps[@]}"; do
    podman exec "$fleet-$host" sh -c 'for f in /etc/otlp-tls/*/cert.pem; do [ -e "$f" ] || continue
      printf "%s %s %s\n" "$(hostname)" "$f" "$(openssl x509 -in "$f" -noout -fingerprint -sha256 -issuer | tr "\n" " ")"; done'
  done
}
declare -A pid_before
for host in "${collectors[@]}"; do pid_before[$host]=$(pid_of "$host"); done

since=$(date +%s)
play "$out/load.log" tests/e2e/rotation_load.yml
otlp_log "rotation: every app sends without end at ${E2E_ROTATION_RATE:-5} spans/s"
sleep 10
fingerprints > "$out/certs-0.txt"

t=$SECONDS
play "$out/leaf.log" playbooks/rotate.yml -e otlp_tls_rotate=leaf -e otlp_tls_rotate_new_keys=true \
  -e otlp_tls_rotate_app_serial=1
leaf_s=$((SECONDS - t))
fingerprints > "$out/certs-1.txt"
unchanged=$(comm -12 <(awk '{print $4}' "$out/certs-0.txt" | sort) <(awk '{print $4}' "$out/certs-1.txt" | sort) | wc -l)
[[ $unchanged -eq 0 ]] || { echo "rotation: $unchanged certificates were not re-issued by the leaf rotation" >&2; exit 1; }
say "leaf rotation: $(wc -l < "$out/certs-1.txt") certificates re-issued with new keys in ${leaf_s} s"

# CA rotation, killed in the middle of phase reissue.
t=$SECONDS
setsid ansible-playbook "${extra[@]}" playbooks/rotate.yml -e otlp_tls_rotate=ca > "$out/ca-1.log" 2>&1 &
runner=$!
killed=
for _ in $(seq 600); do
  if python3 - "$work/ca/rotation.json" <<'PY' 2>/dev/null; then
import json, sys
state = json.load(open(sys.argv[1]))
sys.exit(0 if state['phase'] == 'reissue' and state.get('done', {}).get('reissue') else 1)
PY
    kill -TERM -- "-$runner" 2>/dev/null && killed=yes
    break
  fi
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.5
done
wait "$runner" 2>/dev/null || true
[[ $killed ]] || { echo "rotation: the CA rotation ended before it could be interrupted" >&2; exit 1; }
first_s=$((SECONDS - t))
say "CA rotation killed after ${first_s} s, in phase $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["phase"], "with", ", ".join(s["done"].get("reissue", [])), "done")' "$work/ca/rotation.json")"
play "$out/status.log" playbooks/rotate.yml -e otlp_tls_rotate=status
sed -n '/TASK \[Show the rotation state\]/,/^$/p' "$out/status.log" | grep -v '^TASK' | tee -a "$summary"
t=$SECONDS
play "$out/ca-2.log" playbooks/rotate.yml -e otlp_tls_rotate=ca
resume_s=$((SECONDS - t))
phase=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phase"])' "$work/ca/rotation.json")
[[ $phase == "done" ]] || { echo "rotation: the resumed CA rotation ended in phase $phase" >&2; exit 1; }
say "CA rotation resumed and completed in ${resume_s} s (${first_s} s before the kill, $((first_s + resume_s)) s in all)"
fingerprints > "$out/certs-2.txt"
new_ca=$(openssl x509 -in "$work/ca/ca.crt" -noout -issuer)
stale=$(grep -vc -- "${new_ca#issuer=}" "$out/certs-2.txt" || true)
[[ $stale -eq 0 ]] || { echo "rotation: $stale certificates are not from the new CA" >&2; cat "$out/certs-2.txt" >&2; exit 1; }
for host in "${collectors[@]}" "${apps[@]}"; do
  for bundle in $(podman exec "$fleet-$host" sh -c 'ls /etc/otlp-tls/*/ca.pem'); do
    n=$(podman exec "$fleet-$host" grep -c 'BEGIN CERTIFICATE' "$bundle")
    [[ $n -eq 1 ]] || { echo "rotation: $host:$bundle still holds $n CAs" >&2; exit 1; }
  done
done
say "after the CA rotation every certificate is from the new CA and every bundle holds it alone"

sleep 5
# Stop the apps: each flushes and says how many spans it sent.
for host in "${apps[@]}"; do
  podman exec "$fleet-$host" sh -c 'systemctl stop "e2e-*.service"'
done
sleep 3
for host in "${apps[@]}"; do
  mode=${host#app-}
  # Every run of every unit, the matrix stage's included: every run that sent must be accounted for.
  podman exec "$fleet-$host" journalctl -o json -u 'e2e-*' > "$out/$host.journal-all.json"
  podman exec "$fleet-$host" journalctl -o json --since "@$since" -u 'e2e-*' > "$out/$host.journal.json"
  python3 - "$mode" "$out/$host.journal-all.json" > "$out/sent/$host" <<'PY'
import json, re, sys
mode = sys.argv[1]
for line in open(sys.argv[2]):
    entry = json.loads(line)
    match = re.match(r'e2e: sent (\d+) spans', str(entry.get('MESSAGE', '')))
    if match:
        unit = entry['_SYSTEMD_UNIT'][len('e2e-'):-len('.service')]
        print('%s-%s %s %s' % (unit, mode, entry['_SYSTEMD_INVOCATION_ID'], match.group(1)))
PY
  # Anything an SDK logged about TLS or a failed export, while the rotation ran.
  python3 - "$out/$host.journal.json" >> "$out/errors.txt" <<'PY'
import json, re, sys
# What the apps themselves wrote (not systemd's own lines about the units).
pattern = re.compile(r'x509|certificate|handshake|\btls\b|ssl|unavailable|export(ing)? failed|failed to export|deadline', re.I)
for line in open(sys.argv[1]):
    entry = json.loads(line)
    message = str(entry.get('MESSAGE', ''))
    if not str(entry.get('_SYSTEMD_UNIT', '')).startswith('e2e-'):
        continue
    if pattern.search(message.replace('otlp.tls', '')) and not message.startswith('e2e: sent'):
        print('%s: %s' % (entry.get('_SYSTEMD_UNIT'), message[:300]))
PY
done
for host in "${collectors[@]}"; do
  sleep 1
  podman exec -i "$fleet-$host" python3 - --name e2e-span --by-run /var/lib/otelcol/traces.json \
    < tests/files/count_spans.py > "$out/received/$host"
done
say "$(python3 tests/e2e/rotation_count.py "$out/sent" "$out/received")" || true
python3 tests/e2e/rotation_count.py "$out/sent" "$out/received" > /dev/null \
  || { echo "rotation: spans were lost (see above)" >&2; exit 1; }
errors=$(wc -l < "$out/errors.txt")
say "TLS or export errors logged by the apps during the rotations: $errors"
[[ $errors -eq 0 ]] || { head -20 "$out/errors.txt" >&2; exit 1; }
for host in "${collectors[@]}"; do
  now=$(pid_of "$host") restarts=$(podman exec "$fleet-$host" systemctl show -p NRestarts --value otelcol)
  [[ $now == "${pid_before[$host]}" && $restarts == 0 ]] \
    || { echo "rotation: the collector on $host restarted (PID ${pid_before[$host]} -> $now)" >&2; exit 1; }
done
say "collectors: same PID before and after both rotations, 0 restarts"

# check.yml: passes on the rotated fleet ...
play "$out/check-ok.log" playbooks/check.yml -e otlp_tls_check_report="$out/check.json"
sed -n '/"msg": \[/,/\]/p' "$out/check-ok.log" | tee -a "$summary"
# ... catches certificates expiring within the threshold ...
if ansible-playbook "${extra[@]}" playbooks/check.yml -e otlp_tls_check_min_days_left=400 \
    -e otlp_tls_check_report="$out/check-expiring.json" > "$out/check-expiring.log"; then
  echo "rotation: check.yml passed although every certificate expires within 400 days" >&2; exit 1
fi
grep -q 'fewer than the 400 required' "$out/check-expiring.log" || { echo "rotation: no expiry problem reported" >&2; exit 1; }
say "check.yml with a 400-day threshold: exit non-zero, $(grep -c 'fewer than the 400 required' "$out/check-expiring.json") expiring certificates reported"
# ... and an endpoint name the collector's certificate does not cover.
ip=$(podman exec "$fleet-collector-mtls" hostname -I | awk '{print $1}')
podman exec "$fleet-app-mtls" sh -c "echo '$ip collector-alias' >> /etc/hosts"
if ansible-playbook "${extra[@]}" playbooks/check.yml --limit collector-mtls,app-mtls \
    -e otlp_tls_exporter_collector=collector-alias -e otlp_tls_check_report="$out/check-san.json" > "$out/check-san.log"; then
  echo "rotation: check.yml passed although apps use a name the collector certificate lacks" >&2; exit 1
fi
grep -q 'do not cover collector-alias' "$out/check-san.log" || { echo "rotation: no SAN problem reported" >&2; exit 1; }
say "check.yml with apps pointed at collector-alias: exit non-zero, SAN mismatch reported"
otlp_log "rotation: all passed"
