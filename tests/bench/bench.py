# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of tests/bench/run.sh, with the controller's python (the test venv).

  python bench.py recap LOG                      one JSON line: the PLAY RECAP of an ansible-playbook log
  python bench.py files DIR CA_NAME PROFILE:HOST=CN=SAN,SAN..
                                                 the floor's ready-made key, certificate and CA per host
  python bench.py memory STATS SIZE COLLECTOR    one JSON line: MiB per host from `podman stats` NAME MEMUSAGE lines
  python bench.py report MEASUREMENTS JSON_OUT   tables per fleet size, time per host, results as JSON
  python bench.py cpu OUT COMMAND...             run COMMAND (its exit status is ours), then write to OUT the CPU
                                                 seconds of the controller (COMMAND and every process under it that
                                                 was waited for: ansible-playbook, its workers, their `podman exec`
                                                 clients) and of the whole machine (the hosts' own work included)

MEASUREMENTS is the JSON-lines file run.sh appends to: one line per measured run
({"kind": "measure", "size", "run", "name", "seconds", "changed", ...}) and one per
fleet ({"kind": "fleet", "size", "hosts", "forks", "fleet_up_s", "prepare_s", ...}).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys

RECAP = re.compile(
    r'^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)'
    r'\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)')
# Rows of the table per size, in order, with the label printed.
ROWS = [
    ('ours_first', 'ours: site.yml first converge'),
    ('ours_second', 'ours: site.yml second converge'),
    ('ours_rotate', 'ours: leaf rotation'),
    ('baseline', 'baseline: community.crypto'),
    ('floor', 'floor: copy ready-made files'),
    ('tt_first', 'two tiers: site.yml first converge'),
    ('tt_second', 'two tiers: site.yml second converge'),
    ('tt_rotate', 'two tiers: leaf rotation'),
]
# Each two-tier row against the one-tier row of the same run, per host.
TWO_TIER = {'tt_first': 'ours_first', 'tt_second': 'ours_second', 'tt_rotate': 'ours_rotate'}
# Not compared: ten no-op tasks on every host, for the cost of one task.
EXTRA_ROWS = [('noop_x10', 'one no-op task on every host')]
PRINTED_EXTRA = [('noop_task', 'one no-op task on every host')]
OURS_COMPARED = ['ours_first', 'ours_rotate']


def recap(log):
    """The PLAY RECAP of an ansible-playbook log: per host counts and the totals."""
    hosts = {}
    in_recap = False
    with open(log) as handle:
        for line in handle:
            line = re.sub(r'\x1b\[[0-9;]*m', '', line)
            if line.startswith('PLAY RECAP'):
                in_recap, hosts = True, {}
                continue
            match = RECAP.match(line) if in_recap else None
            if match:
                hosts[match.group('host')] = dict((k, int(v)) for k, v in match.groupdict().items() if k != 'host')
    totals = dict((key, sum(h[key] for h in hosts.values())) for key in ('ok', 'changed', 'unreachable', 'failed'))
    totals['hosts'] = len(hosts)
    # The baseline's CA play runs on the controller: not a host of the fleet.
    totals['fleet_hosts'] = len([h for h in hosts if h != 'localhost'])
    totals['changed_hosts'] = sorted(h for h, c in hosts.items() if c['changed'])
    totals['changed_fleet_hosts'] = len([h for h in totals['changed_hosts'] if h != 'localhost'])
    return totals


def calls(path, collector):
    """Remote calls (podman exec) of one run: total, per app host (median) and on the collector."""
    counts = {}
    if os.path.exists(path):
        with open(path) as handle:
            for line in handle:
                host = line.strip()
                if host:
                    counts[host] = counts.get(host, 0) + 1
    apps = [n for h, n in counts.items() if h != collector]
    return {'total': sum(counts.values()), 'app_host_median': statistics.median(apps) if apps else 0,
            'collector': counts.get(collector, 0)}


def machine_busy_seconds(stat='/proc/stat'):
    """CPU seconds the whole machine spent busy (user, nice, system, irq, softirq, steal) since boot."""
    with open(stat) as handle:
        fields = handle.readline().split()
    assert fields[0] == 'cpu', fields
    ticks = [int(value) for value in fields[1:]]
    busy = sum(ticks[:3]) + sum(ticks[5:8])
    return busy / float(os.sysconf('SC_CLK_TCK'))


def run_counting_cpu(out, argv):
    """Run ``argv``, forwarding SIGTERM and SIGINT (timeout and run.sh stop it through us), and write the controller's
    and the machine's CPU seconds to ``out`` as JSON; returns its exit status."""
    machine0 = machine_busy_seconds()
    proc = subprocess.Popen(argv)

    def forward(signum, _frame):
        proc.send_signal(signum)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    rc = proc.wait()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, 'w') as handle:
        json.dump({'controller_cpu_s': round(usage.ru_utime + usage.ru_stime, 2),
                   'machine_cpu_s': round(machine_busy_seconds() - machine0, 2)}, handle)
    return rc


def make_files(out_dir, ca_name, specs):
    """A CA and, per PROFILE:HOST=CN=SAN,SAN..., an EC P-256 key (PKCS#8) and certificate, as the floor copies them."""
    # Imported here: `recap` and `report` need nothing outside the standard library.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def pem_key(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def usage(ca):
        return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                             encipher_only=False, decipher_only=False)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_name)])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_subject).issuer_name(ca_subject)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(usage(True), critical=True)
               .sign(ca_key, hashes.SHA256()))
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    for spec in specs:
        profile, _sep, spec = spec.partition(':')
        host, common_name, sans = spec.split('=', 2)
        alt = []
        for name in [n for n in sans.split(',') if n] or [host]:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        server = profile == 'server'
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                .issuer_name(ca_subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName(alt), critical=False)
                .add_extension(usage(False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                      else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        host_dir = os.path.join(out_dir, host)
        os.makedirs(host_dir, exist_ok=True)
        for name, data in (('key.pem', pem_key(key)), ('cert.pem', cert.public_bytes(serialization.Encoding.PEM)),
                           ('ca.pem', ca_pem)):
            path = os.path.join(host_dir, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as handle:
                handle.write(data)


def memory(stats_file, size, collector):
    """MiB of the collector and of the median app host, from `podman stats` lines "NAME 16.5MB / 24GB"."""
    # podman prints decimal units (kB, MB, GB).
    factor = {'b': 1.0 / 1048576, 'kb': 1e3 / 1048576, 'mb': 1e6 / 1048576, 'gb': 1e9 / 1048576,
              'kib': 1.0 / 1024, 'mib': 1.0, 'gib': 1024.0}
    collector_mib, apps = None, []
    with open(stats_file) as handle:
        for line in handle:
            fields = line.split()
            match = re.match(r'^([0-9.]+)([A-Za-z]+)$', fields[1]) if len(fields) >= 2 else None
            if not match:
                continue
            mib = float(match.group(1)) * factor.get(match.group(2).lower(), 1.0)
            if fields[0] == collector:
                collector_mib = mib
            else:
                apps.append(mib)
    return {'kind': 'memory', 'size': int(size), 'collector_mib': collector_mib,
            'app_host_mib': statistics.median(apps) if apps else None, 'app_hosts': len(apps)}


def _stats(values):
    return {'median': statistics.median(values), 'min': min(values), 'max': max(values), 'runs': len(values)}


def _ratio(num, den):
    return round(num / den, 2) if den else None


def summarize(lines):
    """Medians per size and measurement, ratios, and the time per host across sizes."""
    fleets = dict((line['size'], line) for line in lines if line['kind'] == 'fleet')
    sizes = sorted(set(line['size'] for line in lines if line['kind'] == 'measure'))
    result = {'sizes': []}
    for size in sizes:
        runs = [line for line in lines if line['kind'] == 'measure' and line['size'] == size]
        rows = {}
        for name, _label in ROWS + EXTRA_ROWS:
            seconds = [line['seconds'] for line in runs if line['name'] == name]
            if not seconds:
                continue
            rows[name] = _stats(seconds)
            hosts = [line.get('hosts', size) for line in runs if line['name'] == name][0]
            rows[name]['hosts'] = hosts
            rows[name]['per_host'] = rows[name]['median'] / hosts
            rows[name]['changed'] = [line['changed'] for line in runs if line['name'] == name]
            for key in ('controller_cpu_s', 'machine_cpu_s'):
                cpu = [line[key] for line in runs if line['name'] == name and line.get(key) is not None]
                if cpu:
                    rows[name][key.replace('_s', '_per_host')] = statistics.median(cpu) / hosts
            remote = [line['remote_calls'] for line in runs if line['name'] == name and line.get('remote_calls')]
            if remote:
                rows[name]['calls_per_app_host'] = statistics.median([r['app_host_median'] for r in remote])
                rows[name]['calls_collector'] = statistics.median([r['collector'] for r in remote])
        if 'noop_x10' in rows:
            rows['noop_task'] = dict((k, v / 10 if k in ('median', 'min', 'max', 'per_host') else v)
                                     for k, v in rows.pop('noop_x10').items())
        for name in rows:
            if name != 'noop_task' and 'noop_task' in rows:
                # The cost of the run in no-op tasks on every host, measured in the same benchmark.
                rows[name]['vs_noop'] = _ratio(rows[name]['median'], rows['noop_task']['median'])
        for name, one_tier in TWO_TIER.items():
            if name in rows and one_tier in rows:
                rows[name]['vs_one_tier_per_host'] = _ratio(rows[name]['per_host'], rows[one_tier]['per_host'])
        for name in OURS_COMPARED:
            if name in rows:
                rows[name]['vs_floor'] = _ratio(rows[name]['median'], rows.get('floor', {}).get('median'))
                rows[name]['vs_baseline'] = _ratio(rows[name]['median'], rows.get('baseline', {}).get('median'))
        entry = {'size': size, 'rows': rows}
        entry.update(dict((k, v) for k, v in fleets.get(size, {}).items() if k not in ('kind', 'size')))
        entry['memory'] = dict((k, v) for line in lines if line['kind'] == 'memory' and line['size'] == size
                               for k, v in line.items() if k.endswith('_mib'))
        entry['resets'] = [line['seconds'] for line in lines if line['kind'] == 'reset' and line['size'] == size]
        result['sizes'].append(entry)
    if len(sizes) >= 2:
        small, large = result['sizes'][0], result['sizes'][-1]
        growth = {}
        for name, _label in ROWS:
            if name in small['rows'] and name in large['rows']:
                # Time per host at the largest size over the smallest: <= 1 means no worse than linear.
                growth[name] = _ratio(large['rows'][name]['per_host'], small['rows'][name]['per_host'])
        result['per_host_growth'] = {'from': small['size'], 'to': large['size'], 'ratio': growth}
        for key in ('controller_cpu_per_host', 'machine_cpu_per_host'):
            cpu_growth = dict((name, _ratio(large['rows'][name][key], small['rows'][name][key])) for name, _label in ROWS
                              if key in small['rows'].get(name, {}) and key in large['rows'].get(name, {}))
            if cpu_growth:
                result['per_host_growth'][key] = cpu_growth
    return result


def print_tables(result, out=sys.stdout):
    """The tables run.sh prints: one per fleet size, then the time per host across sizes."""
    def fmt(value, spec='%.1f'):
        return '-' if value is None else spec % value

    for entry in result['sizes']:
        out.write('\n%d hosts (1 collector, %d app hosts), forks %s, %d run(s) each\n'
                  % (entry['size'], entry['size'] - 1, entry.get('forks', '?'),
                     max([r['runs'] for r in entry['rows'].values()] or [0])))
        out.write('| %-32s | %8s | %7s | %7s | %7s | %10s | %13s | %7s | %16s |\n'
                  % ('', 'median s', 'min s', 'max s', 's/host', 'ours/floor', 'ours/baseline', 'no-ops',
                     'calls/app, coll.'))
        widths = (34, 10, 9, 9, 9, 12, 15, 9, 18)
        out.write('|%s|\n' % '|'.join('-' * width for width in widths))
        for name, label in ROWS + PRINTED_EXTRA:
            row = entry['rows'].get(name)
            if not row:
                continue
            out.write('| %-32s | %8.2f | %7.2f | %7.2f | %7.2f | %10s | %13s | %7s | %16s |\n'
                      % (label, row['median'], row['min'], row['max'], row['per_host'],
                         fmt(row.get('vs_floor'), '%.2fx'), fmt(row.get('vs_baseline'), '%.2fx'),
                         fmt(row.get('vs_noop'), '%.2f'),
                         '-' if 'calls_per_app_host' not in row else '%g, %g' % (row['calls_per_app_host'],
                                                                                 row['calls_collector'])))
        pairs = [(name, entry['rows'][name].get('vs_one_tier_per_host')) for name in TWO_TIER if name in entry['rows']]
        if pairs:
            out.write('two tiers (%d hosts: 2 gateways, an agent on every app host) over one tier, per host: %s\n'
                      % (entry['size'] + 1, ', '.join('%s %s' % (name[3:], fmt(ratio, '%.2fx')) for name, ratio in pairs)))
        if entry.get('resets') and 'fleet_up_s' in entry:
            out.write('state between runs: reset %.1f s (median) vs recreating the fleet %.1f s (up) + %.1f s (units)\n'
                      % (statistics.median(entry['resets']), entry['fleet_up_s'], entry['prepare_s']))
        if entry.get('memory'):
            out.write('memory, converged and idle: collector %s MiB, app host %s MiB (median)\n'
                      % (fmt(entry['memory'].get('collector_mib')), fmt(entry['memory'].get('app_host_mib'))))
        if entry.get('note'):
            out.write('note: %s\n' % entry['note'])
    out.write('\nTime per host (median seconds / hosts)\n')
    sizes = [entry['size'] for entry in result['sizes']]
    out.write('| %-32s |%s\n' % ('', ''.join(' %7s |' % ('N=%d' % s) for s in sizes)))
    out.write('|%s|%s\n' % ('-' * 34, '---------|' * len(sizes)))
    for name, label in ROWS:
        cells = []
        for entry in result['sizes']:
            row = entry['rows'].get(name)
            cells.append(' %7s |' % fmt(row and row['per_host'], '%.2f'))
        out.write('| %-32s |%s\n' % (label, ''.join(cells)))
    titles = (('controller_cpu_per_host',
               'Controller CPU per host (CPU seconds of ansible-playbook, its workers and their podman exec clients / hosts)'),
              ('machine_cpu_per_host', 'Machine CPU per host (the whole machine, the hosts\' own work included / hosts)'))
    for key, title in titles:
        if not any(key in row for entry in result['sizes'] for row in entry['rows'].values()):
            continue
        out.write('\n%s\n' % title)
        out.write('| %-32s |%s\n' % ('', ''.join(' %7s |' % ('N=%d' % s) for s in sizes)))
        out.write('|%s|%s\n' % ('-' * 34, '---------|' * len(sizes)))
        for name, label in ROWS:
            cells = [' %7s |' % fmt((entry['rows'].get(name) or {}).get(key), '%.2f') for entry in result['sizes']]
            out.write('| %-32s |%s\n' % (label, ''.join(cells)))
    growth = result.get('per_host_growth')
    if growth:
        out.write('\nTime per host at N=%d over N=%d (<= 1.00: no worse than linear): %s\n'
                  % (growth['to'], growth['from'],
                     ', '.join('%s %s' % (k, fmt(v, '%.2f')) for k, v in growth['ratio'].items())))
        for key, what in (('controller_cpu_per_host', 'Controller CPU'), ('machine_cpu_per_host', 'Machine CPU')):
            if growth.get(key):
                out.write('%s per host at N=%d over N=%d: %s\n' % (
                    what, growth['to'], growth['from'],
                    ', '.join('%s %s' % (k, fmt(v, '%.2f')) for k, v in growth[key].items())))


def main(argv):
    if len(argv) >= 2 and argv[0] == 'recap':
        print(json.dumps(recap(argv[1])))
    elif len(argv) == 3 and argv[0] == 'calls':
        print(json.dumps(calls(argv[1], argv[2])))
    elif len(argv) == 4 and argv[0] == 'memory':
        print(json.dumps(memory(argv[1], argv[2], argv[3])))
    elif len(argv) >= 3 and argv[0] == 'files':
        make_files(argv[1], argv[2], argv[3:])
    elif len(argv) >= 3 and argv[0] == 'cpu':
        return run_counting_cpu(argv[1], argv[2:])
    elif len(argv) == 3 and argv[0] == 'report':
        with open(argv[1]) as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
        result = summarize(lines)
        result['measurements'] = [line for line in lines if line['kind'] == 'measure']
        result['environment'] = dict((line['key'], line['value']) for line in lines if line['kind'] == 'env')
        print_tables(result)
        with open(argv[2], 'w') as handle:
            json.dump(result, handle, indent=2, sort_keys=True)
            handle.write('\n')
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
