#!/usr/bin/env bash
# Benchmark: playbooks/site.yml on fleets of 10, 25 and 50 test hosts (1 collector, the
# rest app hosts with one unit each), and the same app hosts in two tiers (an agent on each,
# and 2 gateways behind one DNS name: one host more), against the same certificate work done with
# community.crypto primitives (baseline.yml) and against the least any playbook must do
# (floor.yml: copy ready-made files, write the drop-in, restart). Each figure is the
# median of --runs runs, each from a comparable state. Prints a table per size and the
# time per host across sizes; writes tests/bench/results/<timestamp>.json.
#
#   bash tests/bench/run.sh [--sizes 10,25,50] [--runs 3] [--profile]
#
#   --profile   one more first and second converge per size with ansible.posix.profile_tasks,
#               their output kept in the results directory (not part of the figures)
# Environment: ROTATE_CMD (below), BENCH_TIMEOUT (seconds per ansible-playbook, 900),
# BENCH_FORKS_MAX (25), BENCH_HOST_MIB (memory budgeted per test host, 120),
# BENCH_NOOP_RUNS (in how many of the runs the no-op row is measured, default all), BENCH_RECIPE_RUNS (in how
# many the baseline and floor rows are, default all).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# The leaf rotation being measured: ansible-playbook arguments, after the fleet's -e's.
ROTATE_CMD=${ROTATE_CMD:-"playbooks/rotate.yml -e otlp_tls_rotate=leaf -e otlp_tls_rotate_app_serial=100%"}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
# forks = hosts, at most 25. On 2 cores the CPU, not forks, is the limit from about 5
# forks on (ten no-op tasks on 10 hosts: 32.7 s with 1 fork, 27.4 s with 2, 25.0 s with 5,
# 24.0 s with 10); more forks only keep waits (restarts) overlapping, and the cap keeps
# 50 hosts from costing 50 python workers of ~60 MB each.
BENCH_FORKS_MAX=${BENCH_FORKS_MAX:-25}
# What one test host costs in memory, with room to spare (podman stats shows ~17 MiB per
# idle app host, ~66 MiB for the collector), for deciding how large a fleet this machine holds.
BENCH_HOST_MIB=${BENCH_HOST_MIB:-120}
# The no-op row (ten ping tasks) is a reference that no ratio uses: measured in the first run
# only, it saves about 5 minutes at 50 hosts (three runs).
BENCH_NOOP_RUNS=${BENCH_NOOP_RUNS:-1000}
BENCH_RECIPE_RUNS=${BENCH_RECIPE_RUNS:-1000}

usage() { sed -n '2,15p' "$0" >&2; exit 2; }
sizes=10,25,50 runs=3 profile=0
while (($#)); do
  case $1 in
    --sizes) sizes=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --profile) profile=1; shift ;;
    *) usage ;;
  esac
done
[[ $sizes =~ ^[0-9]+(,[0-9]+)*$ && $runs =~ ^[1-9][0-9]*$ ]] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/env.sh
source "$here/../../scripts/env.sh"
cd "$OTLP_TLS_ROOT"
# Set up on first use, as `make setup` would (a second run of setup.sh skips every step).
if [[ -z $OTLP_TLS_COLLECTOR_BIN || ! -x $VIRTUAL_ENV/bin/ansible-playbook ]] ||
  ! podman image exists "$OTLP_TLS_TEST_IMAGE" 2>/dev/null; then
  bash scripts/setup.sh
  # shellcheck source=../../scripts/env.sh
  source "$here/../../scripts/env.sh"
fi

fleet=otlp-bench
work=$OTLP_TLS_ROOT/.tmp/bench
stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$here/results
measurements=$work/measurements.jsonl
mkdir -p "$results" "$work/logs"
: >"$measurements"
# Always remove the fleet, also when interrupted or killed by a timeout around this script.
# Every systemd container takes ~6 inotify instances of root's fs.inotify.max_user_instances
# (128 on a stock kernel: 16-20 hosts). Raise it for the run when the largest fleet needs
# more (BENCH_RAISE_INOTIFY=0 to leave it alone) and put it back afterwards.
inotify_orig=$(cat /proc/sys/fs/inotify/max_user_instances)
largest=$(tr ',' '\n' <<<"$sizes" | sort -n | tail -n1)
inotify_used=$( (find /proc/[0-9]*/fd -lname 'anon_inode:inotify' 2>/dev/null || true) | wc -l)
inotify_need=$(( largest * 6 + inotify_used + 64 ))
if [[ ${BENCH_RAISE_INOTIFY:-1} == 1 ]] && (( inotify_need > inotify_orig )); then
  sysctl -qw fs.inotify.max_user_instances="$inotify_need"
  echo "bench: fs.inotify.max_user_instances $inotify_orig -> $inotify_need for this run" >&2
fi
trap 'bash tests/hosts/fleet.sh down "$fleet" >/dev/null 2>&1 || true; sysctl -qw fs.inotify.max_user_instances="$inotify_orig"' EXIT
# The timed ansible-playbook runs in the background so that a signal is handled at once.
child=
trap '[[ -z $child ]] || kill -TERM "$child" 2>/dev/null; exit 130' INT TERM
export ANSIBLE_CONFIG=$work/bench.cfg

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
record() { printf '%s\n' "$1" >>"$measurements"; }
env_line() { record "$(jq -cn --arg k "$1" --arg v "$2" '{kind: "env", key: $k, value: $v}')"; }

env_line cpus "$(nproc)"
env_line mem_total_mib "$(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo)"
env_line ansible_core "$(ansible --version | sed -n 1p)"
env_line commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git status --porcelain -- roles plugins playbooks 2>/dev/null | grep -q . && echo '+changes')"
env_line rotate_cmd "$ROTATE_CMD"
# Other work on the machine skews the figures: say how much there was.
env_line other_containers_at_start "$(podman ps --format '{{index .Labels "otlp-tls-fleet"}}' | grep -cvx "$fleet" || true)"

# The largest fleet this machine can hold: memory, and inotify instances (every systemd in
# a rootful container uses some, all counted against root's fs.inotify.max_user_instances).
fit() {
  # 6 per host: systemd 4, dbus-daemon 1, systemd-logind 1 (counted on these hosts).
  local want=$1 avail_mib inotify_max inotify_used per_host=6 by_mem by_inotify
  avail_mib=$(awk '/^MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
  # Keep 2 GiB for the controller: ansible-playbook, one python process per fork.
  by_mem=$(( (avail_mib - 2048) / BENCH_HOST_MIB ))
  inotify_max=$(cat /proc/sys/fs/inotify/max_user_instances)
  inotify_used=$(find /proc/[0-9]*/fd -lname 'anon_inode:inotify' 2>/dev/null | wc -l)
  by_inotify=$(( (inotify_max - inotify_used - 8) / per_host ))
  local n=$want note=
  if ((by_mem < n)); then
    n=$by_mem note="asked for $want hosts; $avail_mib MiB available holds $by_mem at $BENCH_HOST_MIB MiB a host (+2 GiB for the controller)"
  fi
  if ((by_inotify < n)); then
    n=$by_inotify
    note="asked for $want hosts; fs.inotify.max_user_instances=$inotify_max ($inotify_used in use) allows $by_inotify systemd containers at ~$per_host each (raise it: sysctl fs.inotify.max_user_instances=1024)"
  fi
  echo "$n|$note"
}

# Back to where a first converge starts: nothing of ours (files, drop-ins, the collector,
# its user, the CA) or of the baseline or floor anywhere. One `podman exec` per host, all
# at once: far cheaper than recreating the fleet (measured and recorded per size).
reset_script='
systemctl disable --now otelcol >/dev/null 2>&1 || true
rm -rf /etc/otlp-tls /etc/otlp-bench /etc/otelcol /opt/otlp-tls /usr/local/bin/otelcol /var/lib/otelcol \
  /etc/systemd/system/otelcol.service /etc/systemd/system/BENCH_UNIT.service.d
userdel otelcol >/dev/null 2>&1 || true
groupdel otelcol >/dev/null 2>&1 || true
systemctl daemon-reload
if systemctl cat BENCH_UNIT.service >/dev/null 2>&1; then systemctl restart BENCH_UNIT.service; fi
'
on_all_hosts() {
  local host pids=() rc=0
  for host in "${hosts[@]}"; do
    podman exec "$fleet-$host" bash -c "$1" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  return $rc
}
reset_all() {
  local t0
  t0=$(now)
  on_all_hosts "${reset_script//BENCH_UNIT/$bench_unit}" || { echo "bench: reset failed" >&2; exit 1; }
  rm -rf "$work/ca" "$work/baseline-ca"
  record "$(jq -cn --argjson size "$size" --argjson s "$(elapsed "$t0")" '{kind: "reset", size: $size, seconds: $s}')"
}
reset_recipe() {
  on_all_hosts "rm -rf /etc/otlp-bench/$1" || { echo "bench: reset of $1 failed" >&2; exit 1; }
  rm -rf "$work/baseline-ca"
}

# measure NAME RUN PLAYBOOK_ARGS...: time one ansible-playbook run, fail loudly on error.
measure() {
  local name=$1 run=$2 log t0 seconds rc=0 recap load others
  shift 2
  log=$work/logs/N$size-run$run-$name.log
  load=$(cut -d' ' -f1 /proc/loadavg)
  others=$(podman ps --format '{{index .Labels "otlp-tls-fleet"}}' | grep -cvx "$fleet" || true)
  # Every `podman exec` (one remote call) writes a line with its host (tests/hosts/connection_plugins).
  calls=${log%.log}.calls
  rm -f "$calls"
  t0=$(now)
  # The controller's CPU seconds (ansible-playbook and everything it waited for) and the machine's, for this run.
  cpu=${log%.log}.cpu
  rm -f "$cpu"
  OTLP_TLS_COUNT_EXEC=$calls timeout --kill-after=30 "$BENCH_TIMEOUT" \
    python3 "$here/bench.py" cpu "$cpu" ansible-playbook "${extra[@]}" "$@" >"$log" 2>&1 &
  child=$!
  wait "$child" || rc=$?
  seconds=$(elapsed "$t0")
  child=
  if ((rc != 0)); then
    tail -n 40 "$log" >&2
    echo "bench: $name (N=$size, run $run) failed with rc $rc$( ((rc == 124)) && echo ' (timed out)'); log: $log" >&2
    exit 1
  fi
  recap=$(python3 "$here/bench.py" recap "$log")
  # The two-tier rows run on one host more: the second gateway.
  local play_hosts=$size
  [[ $name != tt_* ]] || play_hosts=$((size + 1))
  if [[ $(jq .fleet_hosts <<<"$recap") -ne $play_hosts ]]; then
    echo "bench: $name (N=$size, run $run): PLAY RECAP lists $(jq .fleet_hosts <<<"$recap") fleet hosts, not $play_hosts; log: $log" >&2
    exit 1
  fi
  if [[ $name == *_second && $(jq .changed <<<"$recap") -ne 0 ]]; then
    echo "bench: the second converge changed something (N=$size, run $run): $(jq -c '{changed, changed_hosts}' <<<"$recap"); log: $log" >&2
    grep -B2 -E '^changed:' "$log" | head -n 40 >&2
    exit 1
  fi
  # Everything but the second converge and the no-ops must have changed every host.
  if [[ $name != *_second && $name != noop_x10 && $(jq .changed_fleet_hosts <<<"$recap") -ne $play_hosts ]]; then
    echo "bench: $name (N=$size, run $run) changed only $(jq .changed_fleet_hosts <<<"$recap") of $play_hosts hosts; log: $log" >&2
    exit 1
  fi
  local remote cpu_json
  remote=$(python3 "$here/bench.py" calls "$calls" "$fleet-collector1")
  cpu_json=$(cat "$cpu")
  record "$(jq -cn --arg name "$name" --argjson size "$size" --argjson run "$run" --argjson s "$seconds" \
    --argjson recap "$recap" --argjson load "$load" --argjson others "$others" --argjson remote "$remote" \
    --argjson hosts "$play_hosts" --argjson cpu "$cpu_json" \
    '{kind: "measure", name: $name, size: $size, hosts: $hosts, run: $run, seconds: $s, changed: $recap.changed,
      changed_hosts: ($recap.changed_hosts | length), ok: $recap.ok, load_before: $load, other_containers: $others,
      remote_calls: $remote, controller_cpu_s: $cpu.controller_cpu_s, machine_cpu_s: $cpu.machine_cpu_s}')"
  otlp_log "bench N=$size run $run: $name ${seconds} s, changed $(jq .changed <<<"$recap") on $(jq '.changed_hosts | length' <<<"$recap") hosts"
}

bench_unit=benchapp
IFS=, read -r -a size_list <<<"$sizes"
done_sizes=()
read -r -a rotate_args <<<"$ROTATE_CMD"
for want in "${size_list[@]}"; do
  bash tests/hosts/fleet.sh down "$fleet" >/dev/null 2>&1 || true
  IFS='|' read -r size note <<<"$(fit "$want")"
  if ((size < 2)); then
    echo "bench: this machine can not hold a fleet for N=$want: $note" >&2
    exit 1
  fi
  [[ -z $note ]] || otlp_log "bench: $note"
  if [[ " ${done_sizes[*]} " == *" $size "* ]]; then
    otlp_log "bench: N=$size already measured, skipping"
    continue
  fi
  done_sizes+=("$size")
  # collector2 is the second gateway of the two-tier rows (tests/bench/two_tier.yml adds it to
  # otlp_collectors); the one-tier rows leave it alone.
  hosts=(collector1 collector2)
  specs=(collector1:otlp_collectors+otlp-gateway collector2:otlp_bench_spare+otlp-gateway)
  for ((i = 1; i < size; i++)); do
    hosts+=("$(printf 'app%02d' "$i")")
    specs+=("$(printf 'app%02d' "$i"):otlp_apps")
  done
  forks=$((size < BENCH_FORKS_MAX ? size : BENCH_FORKS_MAX))

  otlp_log "bench: fleet of $size hosts (forks $forks)"
  t0=$(now)
  bash tests/hosts/fleet.sh up "$fleet" "$work" "${specs[@]}"
  fleet_up=$(elapsed "$t0")
  # fleet.sh's ansible.cfg with forks for this size: the same settings for all three playbooks.
  sed "s/^forks = .*/forks = $forks/" "$work/ansible.cfg" >"$work/bench.cfg"
  grep -q "^forks = $forks\$" "$work/bench.cfg"
  extra=(-e "{\"otlp_tls_ca_dir\": \"$work/ca\", \"bench_ca_dir\": \"$work/baseline-ca\", \"bench_floor_dir\": \"$work/floor\"}"
    -e @tests/bench/vars.yml)
  collector_ip=$(podman inspect -f "{{(index .NetworkSettings.Networks \"$fleet\").IPAddress}}" "$fleet-collector1")
  extra+=(-e "bench_collector_ip=$collector_ip")
  t0=$(now)
  ansible-playbook "${extra[@]}" tests/bench/prepare.yml >"$work/logs/N$size-prepare.log" 2>&1 ||
    { tail -n 40 "$work/logs/N$size-prepare.log" >&2; exit 1; }
  prepare=$(elapsed "$t0")
  # The floor's files, made once and untimed: it only copies them.
  rm -rf "$work/floor"
  floor_specs=("server:collector1=collector1=collector1,$collector_ip")
  for host in "${hosts[@]:2}"; do floor_specs+=("client:$host=$bench_unit@$host=$host"); done
  python3 "$here/bench.py" files "$work/floor" "otlp.tls bench floor CA" "${floor_specs[@]}"
  record "$(jq -cn --argjson size "$size" --argjson forks "$forks" --argjson up "$fleet_up" --argjson prep "$prepare" \
    --arg note "$note" --arg want "$want" \
    '{kind: "fleet", size: $size, asked: ($want | tonumber), forks: $forks, fleet_up_s: $up, prepare_s: $prep, note: $note}')"

  for ((run = 1; run <= runs; run++)); do
    reset_all
    measure ours_first "$run" playbooks/site.yml
    measure ours_second "$run" playbooks/site.yml
    measure ours_rotate "$run" "${rotate_args[@]}"
    # The recipes we compare with change nothing between runs: BENCH_RECIPE_RUNS of them are enough.
    if ((run <= BENCH_RECIPE_RUNS)); then
      reset_recipe baseline
      measure baseline "$run" tests/bench/baseline.yml
      reset_recipe floor
      measure floor "$run" tests/bench/floor.yml
    fi
    if ((run <= BENCH_NOOP_RUNS)); then measure noop_x10 "$run" tests/bench/overhead.yml; fi
    # The same app hosts in two tiers, from nothing again.
    reset_all
    two_tier=(-i "$work/inventory.yml" -i tests/bench/two_tier.yml)
    measure tt_first "$run" "${two_tier[@]}" playbooks/site.yml
    measure tt_second "$run" "${two_tier[@]}" playbooks/site.yml
    measure tt_rotate "$run" "${two_tier[@]}" "${rotate_args[@]}"
  done
  if ((profile)); then
    reset_all
    for name in first second; do
      otlp_log "bench N=$size: profiling a $name converge"
      ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=60 \
        timeout --kill-after=30 "$BENCH_TIMEOUT" ansible-playbook "${extra[@]}" playbooks/site.yml \
        >"$results/$stamp-profile-N$size-$name.txt" 2>&1 &
      child=$!
      wait "$child" || { echo "bench: the profiled $name converge failed: $results/$stamp-profile-N$size-$name.txt" >&2; exit 1; }
      child=
    done
    otlp_log "bench N=$size: profiles in $results/$stamp-profile-N$size-*.txt"
  fi
  # Memory per host, the fleet converged and idle: MiB of the collector and of the median app host.
  podman stats --no-stream --format '{{.Name}} {{.MemUsage}}' "${hosts[@]/#/$fleet-}" >"$work/logs/N$size-memory.txt"
  record "$(python3 "$here/bench.py" memory "$work/logs/N$size-memory.txt" "$size" "$fleet-collector1")"
  bash tests/hosts/fleet.sh down "$fleet"
done

python3 "$here/bench.py" report "$measurements" "$results/$stamp.json"
otlp_log "bench: results in $results/$stamp.json, logs in $work/logs"
