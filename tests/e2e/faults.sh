#!/usr/bin/env bash
# Faults on the e2e fleet (run by tests/e2e/run.sh after the bad inputs):
#   1. an app host goes away (its container is killed) in the middle of site.yml: the other
#      hosts complete; once it is back, a re-run converges it;
#   2. an app host goes away in the middle of a CA rotation: the rotation stays in its
#      phase and names the host; once it is back, re-running rotate.yml completes it, and
#      check.yml passes (every client trusts its collector, every handshake works).
# (A collector whose new config fails validation, and rotate.yml killed mid-phase, are in
# bad_inputs.sh and rotation.sh.)
# shellcheck disable=SC2154 # fleet, work, collectors, apps, hosts, extra, out: set by stage.sh
# shellcheck source=stage.sh
source "$(dirname "${BASH_SOURCE[0]}")/stage.sh" faults
victim=app-tls
die() { echo "faults: $*" >&2; exit 1; }
recap() { sed -n '/PLAY RECAP/,$p' "$1" | grep -E "^$2 " | head -1; }

# Kill the victim's container once PATTERN shows up in LOG (or the run ends).
kill_when() {
  local log=$1 pattern=$2 runner=$3
  for _ in $(seq 1200); do
    if grep -Eq -- "$pattern" "$log" 2>/dev/null; then podman kill "$fleet-$victim" >/dev/null; return 0; fi
    kill -0 "$runner" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}
bring_back() {
  podman start "$fleet-$victim" >/dev/null
  for _ in $(seq 60); do
    state=$(podman exec "$fleet-$victim" systemctl is-system-running 2>/dev/null || true)
    [[ $state == running || $state == degraded ]] && return 0
    sleep 1
  done
  die "$victim did not come back"
}

# 1. site.yml, every certificate re-issued, the victim killed when the apps play starts.
ansible-playbook "${extra[@]}" playbooks/site.yml -e otlp_tls_certificate_force=true > "$out/site-1.log" 2>&1 &
runner=$!
kill_when "$out/site-1.log" 'PLAY \[Apps\]' "$runner" || die "site.yml ended before $victim could be killed"
rc=0; wait "$runner" || rc=$?
[[ $rc -ne 0 ]] || die "site.yml succeeded although $victim went away"
for host in collector-mtls collector-tls app-mtls; do
  recap "$out/site-1.log" "$host" | grep -q 'unreachable=0 *failed=0' || die "$host did not complete: $(recap "$out/site-1.log" "$host")"
done
echo "site.yml with $victim killed mid-run: exit $rc; $(recap "$out/site-1.log" "$victim" | tr -s ' ')" | tee "$out/summary.txt"
bring_back
ansible-playbook "${extra[@]}" playbooks/site.yml > "$out/site-2.log" 2>&1 || { tail -30 "$out/site-2.log"; die "the re-run failed"; }
ansible-playbook "${extra[@]}" playbooks/site.yml > "$out/site-3.log" 2>&1 || die "the third run failed"
grep -E '^[a-z-]+ +:' "$out/site-3.log" | grep -v 'changed=0 ' && die "a converge after the re-run still changed something"
echo "the re-run converged $victim; a further run changed nothing" | tee -a "$out/summary.txt"

# 2. CA rotation, the victim killed when the trust phase reaches the apps.
# One batch of apps and max_fail_percentage 100: the other app host goes on, so the phase
# gate is what holds the rotation (Ansible ends a play by itself when a whole batch fails).
ansible-playbook "${extra[@]}" playbooks/rotate.yml -e otlp_tls_rotate=ca -e otlp_tls_rotate_max_fail_percentage=100 \
  -e otlp_tls_rotate_app_serial=100% > "$out/ca-1.log" 2>&1 &
runner=$!
kill_when "$out/ca-1.log" 'PLAY \[CA rotation, apps, phase trust\]' "$runner" || die "rotate.yml ended before $victim could be killed"
rc=0; wait "$runner" || rc=$?
[[ $rc -ne 0 ]] || die "rotate.yml succeeded although $victim went away"
grep -q "stays in phase trust: 1 host(s) have not completed it: $victim" "$out/ca-1.log" \
  || die "rotate.yml did not hold the phase for $victim"
phase=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phase"])' "$work/ca/rotation.json")
[[ $phase == trust ]] || die "the rotation moved on to $phase without $victim"
echo "CA rotation with $victim killed in phase trust: exit $rc, held: $(grep -o "stays in phase trust[^.]*" "$out/ca-1.log" | head -1)" | tee -a "$out/summary.txt"
ansible-playbook "${extra[@]}" playbooks/rotate.yml -e otlp_tls_rotate=status > "$out/status.log" 2>&1
grep -q "pending in trust: $victim'" "$out/status.log" || die "rotate.yml status does not show $victim pending"
echo "rotate.yml status: $(grep -o "pending in trust: [^']*" "$out/status.log")" | tee -a "$out/summary.txt"
bring_back
ansible-playbook "${extra[@]}" playbooks/rotate.yml -e otlp_tls_rotate=ca > "$out/ca-2.log" 2>&1 || { tail -30 "$out/ca-2.log"; die "the resumed rotation failed"; }
phase=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["phase"])' "$work/ca/rotation.json")
[[ $phase == "done" ]] || die "the resumed rotation ended in phase $phase"
ansible-playbook "${extra[@]}" tests/e2e/rotation_load.yml > "$out/load.log" 2>&1
sleep 3
ansible-playbook "${extra[@]}" playbooks/check.yml -e otlp_tls_check_report="$out/check.json" > "$out/check.log" 2>&1 \
  || { sed -n '/"msg": \[/,/\]/p' "$out/check.log" >&2; die "check.yml failed after the resumed rotation"; }
echo "once $victim was back, rotate.yml completed the rotation and check.yml passed" | tee -a "$out/summary.txt"
