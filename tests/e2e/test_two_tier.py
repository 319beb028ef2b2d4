# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every hop encrypted, on the e2e fleet in two tiers (tests/e2e/two_tier/inventory.yml):

    apps --(mTLS or TLS, otlp-agent.<host> = 127.0.0.1)--> agent on app-mtls / app-tls
         --(mTLS, dns:///otlp-gateway:4317, round robin)--> gateways collector-mtls + collector-tls
         --(TLS under the vendor's CA, bearer token)--> backend
    app-bullseye's apps --(mTLS)--> a gateway directly (one tier, in the same fleet)

The backend is the test collector with a gRPC receiver under a CA of its own (standing in for a
vendor) and the contrib bearertokenauth extension; the token comes from an Ansible Vault file.
The real SDK apps (four languages) send numbered spans without end, and the story is:

1. the backend, then site.yml at -vvv --diff (the two-tier converge);
2. a rogue agent (a real collector on the controller) exporting to the gateways without a client
   certificate, then with one from another CA: refused, 0 of its spans recorded anywhere;
3. a leaf rotation with new keys of the gateways, the agents and the apps: no collector PID changes,
   no collector reloads;
4. one gateway's service stopped for 30 s: the agents' retries and queues carry it;
5. a CA rotation: the agents (whose exporter's ca_file changed) restarted in each phase, with their
   host's apps stopped around it (rotate_ca_phase.yml); the gateways (which re-read their client CA
   file) and the backend neither restarted nor reloaded;
6. a day later: a 2-day gateway certificate with 20 hours left, and an app's client certificate
   replaced by one expiring in 2 days; the scheduled site.yml renews both, then check.yml;
7. the apps stopped; each phase's runs accounted for at the backend: 0 lost;
8. the token in no output (-vvv, --diff), and on the hosts only in files that root and the
   collector's group alone can read.

All along, every agent and gateway reports each of its certificates' time left every 10 s
(otlp_tls_collector_cert_metrics) through the tiers to the backend: every certificate is there,
the values agree with check.yml within one interval, the 2-day app certificate drops below its
renew_before and the shipped alert rule fires on the values received, its renewal brings the
value back, and both CAs of the overlap bundle are reported during the CA rotation.

The module fixture runs the story once; each test asserts one check of what it recorded. Logs,
summary.txt and the per-phase tables in .tmp/e2e/two_tier/. The fleet is left in two tiers
(marked moved): the next module that needs the one-tier fleet converges it back.

    pytest tests/e2e/test_two_tier.py
"""

from __future__ import absolute_import, division, print_function

import concurrent.futures
import datetime
import json
import os
import re
import secrets as random
import subprocess
import sys
import time

import pytest

import fleetlib
import rotation_count

sys.path.insert(0, os.path.join(fleetlib.ROOT, 'tests', 'files'))
import cert_metrics  # noqa: E402 pylint: disable=wrong-import-position

GATEWAYS = list(fleetlib.COLLECTORS)
AGENTS = ['app-mtls', 'app-tls']
COLLECTORS = GATEWAYS + AGENTS + [fleetlib.BACKEND]
OUTAGE_SECONDS = 30
PHASES = ['steady', 'leaf', 'outage', 'ca', 'renew']
# The gateways' certificates live 2 days and renew at 1 day left (two_tier/inventory.yml); the agents' hosts keep
# the defaults (a year, 30 days), so that an app's certificate can be shortened below its renew_before.
SHORT_LIVED = 'collector-mtls'
# The app whose client certificate the certificate-metrics test replaces by one expiring in 2 days.
SHORT_APP = ('app-mtls', 'e2e-go-grpc')
# Where the backend writes the metrics that reach it, and how often the agents and gateways report
# each certificate (two_tier/vars.yml).
METRICS_FILE = '/var/lib/otelcol/metrics.json'
CERT_INTERVAL = 10

# Where a fleet CA file would let a rogue client verify the gateways (it does: only its own
# certificate is wrong).
ROGUE_CONFIG = '''receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%(port)d
exporters:
  otlp_grpc/gateway:
    endpoint: %(gateway)s:4317
    tls:
      ca_file: %(ca)s
      server_name_override: otlp-gateway
%(client)s    retry_on_failure:
      max_interval: 5s
      max_elapsed_time: 20s
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_grpc/gateway]
'''


def say(out, text):
    with open(os.path.join(out, 'summary.txt'), 'a') as handle:
        handle.write(text + '\n')


def make_ca(common_name, directory, leaf_name=None):
    """A CA (and a server leaf for ``leaf_name``), EC P-256, files in ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def write(name, data, mode=0o644):
        path = os.path.join(directory, name)
        with open(path, 'wb') as handle:
            handle.write(data)
        os.chmod(path, mode)

    def key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    write('ca.crt', ca.public_bytes(serialization.Encoding.PEM))
    if not leaf_name:
        return
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if leaf_name == 'backend' else ExtendedKeyUsageOID.CLIENT_AUTH
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, leaf_name)]))
            .issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(leaf_name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    write(leaf_name + '.crt', cert.public_bytes(serialization.Encoding.PEM))
    write(leaf_name + '.key', key_pem(key), 0o600)


def vault(out, token):
    """The token in an Ansible Vault file; the arguments that give it to a playbook."""
    password = os.path.join(out, 'vault-pass')
    with open(password, 'w') as handle:
        handle.write(random.token_hex(16))
    os.chmod(password, 0o600)
    path = os.path.join(out, 'token.yml')
    with open(path, 'w') as handle:
        handle.write('e2e_vendor_token: %s\n' % token)
    subprocess.run(['ansible-vault', 'encrypt', '--vault-password-file', password, path], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(path) as handle:
        assert handle.read().startswith('$ANSIBLE_VAULT'), 'ansible-vault did not encrypt %s' % path
    return ['-e', '@' + path, '--vault-password-file', password]


def two_tier_args(fleet, vault_args):
    return ['-i', os.path.join(fleet.work, 'inventory.yml'), '-i', os.path.join(fleetlib.HERE, 'two_tier', 'inventory.yml'),
            '-e', '@tests/e2e/two_tier/vars.yml'] + vault_args


def expiring_soon(fleet, host, hours=20, directory='/etc/otlp-tls/collector'):
    """Replace the certificate in ``directory`` on ``host`` (the collector's by default) by one for the
    same key, subject and names that expires in ``hours``, signed by the fleet's current CA: a 2-day
    certificate a day and more later."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    with open(os.path.join(fleet.ca_dir, 'ca.key'), 'rb') as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), None)
    with open(os.path.join(fleet.ca_dir, 'ca.crt'), 'rb') as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    old = x509.load_pem_x509_certificate(fleet.read(host, directory + '/cert.pem').encode())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(ca.subject).public_key(old.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=28))
               .not_valid_after(now + datetime.timedelta(hours=hours)))
    for extension in old.extensions:
        if extension.oid != x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER:
            builder = builder.add_extension(extension.value, extension.critical)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False)
    pem = builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
    fleet.exec(host, 'sh', '-c', 'cat > "$0/cert.pem"', directory, input=pem.encode())
    if fleet.exec(host, 'test', '-f', directory + '/fullchain.pem', check=False).returncode == 0:
        chain = fleet.read(host, directory + '/fullchain.pem').split('-----END CERTIFICATE-----\n', 1)[1]
        fleet.exec(host, 'sh', '-c', 'cat > "$0/fullchain.pem"', directory, input=(pem + chain).encode())
    return fleet.sh(host, 'openssl x509 -in "$1/cert.pem" -noout -enddate -fingerprint -sha256', directory)


def wait_for_point(fleet, key, wanted, timeout=90):
    """The newest certificate metric point at the backend for ``key`` (host, entry) that ``wanted`` accepts, waiting
    for it up to ``timeout`` seconds (the collectors report every CERT_INTERVAL seconds); None if none came."""
    deadline = time.time() + timeout
    while True:
        text = fleet.exec(fleetlib.BACKEND, 'cat', METRICS_FILE, check=False).stdout
        found = [p for p in cert_metrics.points(text.splitlines())
                 if (p['host'], p['entry']) == key and wanted(p)]
        if found or time.time() > deadline:
            return max(found, key=lambda p: p['time']) if found else None
        time.sleep(2)


def reloads(fleet, host, since):
    """How many times systemd reloaded the collector on ``host`` since a Unix time."""
    text = fleet.exec(host, 'journalctl', '-u', 'otelcol', '--since', '@%d' % since, '-o', 'cat', check=False).stdout
    return len([line for line in text.splitlines() if line.startswith('Reloading')])


def starts(fleet, host, since):
    """How many times systemd started the collector on ``host`` since a Unix time."""
    text = fleet.exec(host, 'journalctl', '-u', 'otelcol', '--since', '@%d' % since, '-o', 'cat', check=False).stdout
    return len([line for line in text.splitlines() if line.startswith('Started ')])


def collectors_state(fleet):
    return dict((host, (fleet.pid(host), fleet.restarts(host))) for host in COLLECTORS)


def rogue_agent(fleet, out, name, client):
    """A collector on the controller that exports to one gateway with ``client`` (TLS lines of its
    exporter: none, or another CA's certificate), fed 20 spans by telemetrygen; its log."""
    directory = os.path.join(out, 'rogue-' + name)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, 'ca.pem'), 'w') as handle:
        handle.write(fleet.read('collector-mtls', '/etc/otlp-tls/collector/ca.pem'))
    port = 24317 if name == 'nocert' else 24417
    with open(os.path.join(directory, 'config.yaml'), 'w') as handle:
        handle.write(ROGUE_CONFIG % dict(port=port, gateway=fleet.address('collector-tls'),
                                         ca=os.path.join(directory, 'ca.pem'), client=client))
    log_path = os.path.join(directory, 'collector.log')
    with open(log_path, 'w') as log:
        agent = subprocess.Popen([os.environ['OTLP_TLS_COLLECTOR_BIN'], '--config', os.path.join(directory, 'config.yaml')],
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(3)
        sent = subprocess.run([os.environ['OTLP_TLS_TELEMETRYGEN'], 'traces', '--otlp-endpoint', '127.0.0.1:%d' % port,
                               '--otlp-insecure', '--traces', '20', '--service', 'rogue-' + name],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, check=False)
        time.sleep(12)
    finally:
        # Its log says what it met; what it still holds has nowhere to go.
        agent.kill()
        agent.wait(30)
    with open(log_path, errors='replace') as handle:
        return {'telemetrygen_rc': sent.returncode, 'log': handle.read()}


def spans_of(fleet, host, services):
    out = {}
    for line in fleet.count_spans(host, '/var/lib/otelcol/traces.json', *services):
        service, spans = line.split()[:2]
        out[service] = int(spans)
    return out


def account_phases(fleet, since):
    """Per phase: (table, problems) of the runs that started in it, counted at the backend."""
    journals = {host: fleet.journal(host) for host in fleet.apps}
    sent = fleetlib.sent_rows(journals)[0]
    lines = fleet.count_spans(fleetlib.BACKEND, '--name', 'e2e-span', '--by-run', '/var/lib/otelcol/traces.json')
    received = [tuple(line.split()) for line in lines if len(line.split()) == 6]
    started = dict((phase, fleetlib.sent_rows(journals, since=since[phase])[1]) for phase in PHASES)
    out = {}
    for index, phase in enumerate(PHASES):
        runs = started[phase] - (started[PHASES[index + 1]] if index + 1 < len(PHASES) else set())
        out[phase] = rotation_count.account(sent, received, runs=runs)
    fleetlib.write_lines(os.path.join(fleet.work, 'two_tier', 'sent.txt'), sent)
    fleetlib.write_lines(os.path.join(fleet.work, 'two_tier', 'received.txt'), received)
    return out


def files_holding(fleet, host, needle):
    script = r'''cat > /tmp/.needle; grep -rlF -f /tmp/.needle /etc /root /opt /var /tmp /run /home --exclude=.needle \
        2>/dev/null | while read -r f; do echo "$f $(stat -c "%a %U %G" "$f")"; done; rm -f /tmp/.needle'''
    return fleet.exec(host, 'sh', '-c', script, input=(needle + '\n').encode(), check=False).stdout.splitlines()


@pytest.fixture(scope='module')
def two_tier(site_fleet):
    fleet = site_fleet
    out = fleet.out_dir('two_tier')
    seen = {}
    fleet.moved('test_two_tier running')
    vendor = os.path.join(out, 'vendor')
    make_ca('e2e vendor CA', vendor, 'backend')
    token = 'vendor-' + random.token_hex(16)
    with open(os.path.join(vendor, 'token'), 'w') as handle:
        handle.write(token)
    os.chmod(os.path.join(vendor, 'token'), 0o600)
    seen['token'] = token
    args = two_tier_args(fleet, vault(out, token))
    # Both gateways, and every app host, at once: the pool and the apps carry it (and it saves minutes).
    fast = ['-e', 'otlp_tls_rotate_collector_serial=100%', '-e', 'otlp_tls_rotate_app_serial=100%']
    env = {'env': {'E2E_VENDOR_DIR': vendor}}

    # 1. the backend, then the two tiers
    began = time.time()
    seen['backend'] = fleet.play('tests/e2e/two_tier/backend.yml', *args, log=os.path.join(out, 'backend.log'), **env)
    assert seen['backend'].rc == 0, seen['backend']
    say(out, 'backend converged in %.0f s' % (time.time() - began))
    began = time.time()
    seen['site'] = fleet.play('playbooks/site.yml', '--diff', *args, verbose='-vvv', log=os.path.join(out, 'site.log'),
                              **env)
    assert seen['site'].rc == 0, seen['site']
    say(out, 'site.yml -vvv --diff, one tier to two: %.0f s' % (time.time() - began))
    seen['configs'] = dict((host, fleet.read(host, '/etc/otelcol/config.yaml')) for host in GATEWAYS + AGENTS)
    seen['hosts_files'] = dict((host, fleet.read(host, '/etc/hosts')) for host in AGENTS)
    seen['endpoints'] = dict((host, fleet.sh(host, 'cat /etc/systemd/system/e2e-go-grpc.service.d/50-otlp-tls.conf'))
                             for host in fleet.apps)
    state0 = collectors_state(fleet)

    # Steady load from every app; a new run of every unit at the start of each phase.
    since = {}
    since['steady'] = int(time.time())
    fleet.new_runs(load=True)
    time.sleep(10)

    # 2. rogue agents, under load, both at once
    other = os.path.join(out, 'other-ca')
    make_ca('e2e other CA', other, 'rogue-agent')
    clients = {'nocert': '', 'otherca': '      cert_file: %s\n      key_file: %s\n' % (
        os.path.join(other, 'rogue-agent.crt'), os.path.join(other, 'rogue-agent.key'))}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = dict((name, pool.submit(rogue_agent, fleet, out, name, client)) for name, client in clients.items())
        seen['rogue'] = dict((name, future.result()) for name, future in futures.items())

    # 3. leaf rotation with new keys
    since['leaf'] = int(time.time())
    fleet.new_runs()
    time.sleep(5)
    prints0 = fleet.fingerprints()
    began = time.time()
    seen['leaf'] = fleet.play('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=leaf', '-e', 'otlp_tls_rotate_new_keys=true',
                              *(fast + args), log=os.path.join(out, 'leaf.log'), **env)
    assert seen['leaf'].rc == 0, seen['leaf']
    seen['leaf_seconds'] = time.time() - began
    prints1 = fleet.fingerprints()
    seen['leaf_unchanged'] = sorted(set(line.split()[3] for line in prints0) & set(line.split()[3] for line in prints1))
    seen['leaf_state'] = (state0, collectors_state(fleet))
    seen['leaf_reloads'] = dict((host, reloads(fleet, host, since['leaf'])) for host in COLLECTORS)
    say(out, 'leaf rotation (gateways, agents, apps; new keys): %.0f s; reloads %s' % (
        seen['leaf_seconds'], seen['leaf_reloads']))
    time.sleep(5)

    # 4. one gateway down for 30 s
    since['outage'] = int(time.time())
    fleet.new_runs()
    time.sleep(8)
    stopped = time.time()
    fleet.exec('collector-tls', 'systemctl', 'stop', 'otelcol')
    time.sleep(OUTAGE_SECONDS)
    fleet.exec('collector-tls', 'systemctl', 'start', 'otelcol')
    seen['outage_seconds'] = time.time() - stopped
    say(out, 'collector-tls stopped for %.0f s' % seen['outage_seconds'])
    time.sleep(15)

    # 5. CA rotation
    since['ca'] = int(time.time())
    fleet.new_runs()
    time.sleep(5)
    state1 = collectors_state(fleet)
    began = time.time()
    seen['ca'] = fleet.play('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=ca', *(fast + args),
                            log=os.path.join(out, 'ca.log'), **env)
    assert seen['ca'].rc == 0, seen['ca']
    seen['ca_seconds'] = time.time() - began
    seen['ca_state'] = (state1, collectors_state(fleet))
    seen['ca_reloads'] = dict((host, reloads(fleet, host, since['ca'])) for host in COLLECTORS)
    seen['ca_starts'] = dict((host, starts(fleet, host, since['ca'])) for host in COLLECTORS)
    seen['ca_bundles'] = dict((host, fleet.read(host, '/etc/otlp-tls/collector/ca.pem').count('BEGIN CERTIFICATE'))
                              for host in GATEWAYS + AGENTS)
    say(out, 'CA rotation across the tiers: %.0f s; reloads %s; starts %s'
        % (seen['ca_seconds'], seen['ca_reloads'], seen['ca_starts']))
    time.sleep(10)

    # 6. a day later: a 2-day gateway certificate with 20 hours left, and an app's client certificate replaced by one
    # expiring in 2 days (its renew_before is 30): its metric drops below renew_before; the scheduled site.yml renews
    # both, and the metric climbs back.
    since['renew'] = int(time.time())
    fleet.new_runs()
    time.sleep(5)
    state2 = collectors_state(fleet)
    seen['renew_before'] = expiring_soon(fleet, SHORT_LIVED)
    seen['short_app_cert'] = expiring_soon(fleet, SHORT_APP[0], hours=48, directory='/etc/otlp-tls/' + SHORT_APP[1])
    # The agent reads its copy of the app's certificate (the app's directory is the app's alone), which the role keeps
    # equal to it: as a certificate the collection installed a year ago, both hold the 2-day one.
    fleet.sh(SHORT_APP[0], 'cat "/etc/otlp-tls/$1/cert.pem" > "/etc/otlp-tls/collector/apps/$1.pem"', SHORT_APP[1])
    # From here on every read of the copy finds the 2-day certificate (a read that began before may not).
    seen['short_app_replaced'] = time.time()
    seen['short_app_dropped'] = wait_for_point(fleet, SHORT_APP, lambda p: p['time'] > seen['short_app_replaced'])
    seen['renew'] = fleet.play('playbooks/site.yml', *args, log=os.path.join(out, 'renew.log'), **env)
    assert seen['renew'].rc == 0, seen['renew']
    seen['renewed_at'] = time.time()
    seen['renew_after'] = fleet.sh(SHORT_LIVED, 'openssl x509 -in /etc/otlp-tls/collector/cert.pem -noout -enddate '
                                                '-fingerprint -sha256')
    seen['renew_state'] = (state2, collectors_state(fleet))
    seen['check'] = fleet.play('playbooks/check.yml', '-e', 'otlp_tls_check_min_days_left=1', '-e',
                               'otlp_tls_check_report=%s/check.json' % out, *args, log=os.path.join(out, 'check.log'),
                               **env)
    seen['short_app_climbed'] = wait_for_point(fleet, SHORT_APP, lambda p: p['time'] > seen['renewed_at'])
    say(out, 'scheduled site.yml with a 2-day gateway certificate at 20 hours left: %s -> %s' % (
        seen['renew_before'].splitlines()[0], seen['renew_after'].splitlines()[0]))
    say(out, 'certificate metric of %s %s: replaced by a 2-day one at %.0f, %s s left at the backend at %.0f; renewed '
        'by %.0f, %s s left at %.0f' % (SHORT_APP + (seen['short_app_replaced'], (seen['short_app_dropped'] or {}).get('value'),
                                        (seen['short_app_dropped'] or {}).get('time', 0), seen['renewed_at'],
                                        (seen['short_app_climbed'] or {}).get('value'),
                                        (seen['short_app_climbed'] or {}).get('time', 0))))
    time.sleep(5)

    # 7. stop the apps (each flushes and says what it sent); account each phase at the backend
    fleet.stop_apps()
    time.sleep(10)
    seen['phases'] = account_phases(fleet, since)
    for phase in PHASES:
        say(out, 'phase %s, at the backend:\n%s' % (phase, seen['phases'][phase][0]))
    seen['rogue_spans'] = dict((host, spans_of(fleet, host, ['rogue-nocert', 'rogue-otherca']))
                               for host in GATEWAYS + [fleetlib.BACKEND])
    seen['cert_points'] = cert_metrics.points(fleet.read(fleetlib.BACKEND, METRICS_FILE).splitlines())
    seen['gateway_share'] = dict((host, sum(int(line.split()[1]) for line in fleet.count_spans(
        host, '/var/lib/otelcol/traces.json') if len(line.split()) >= 2)) for host in GATEWAYS)

    # 8. the token: in no output, on the hosts only where root and the collector's group read it
    logs = [seen[name] for name in ('backend', 'site', 'leaf', 'ca', 'renew', 'check')]
    seen['token_in_output'] = [result.path for result in logs if token in result.out]
    seen['token_files'] = dict((host, files_holding(fleet, host, token)) for host in COLLECTORS + ['app-bullseye'])
    seen['token_journal'] = [host for host in COLLECTORS
                             if token in fleet.exec(host, 'journalctl', '-o', 'cat', check=False).stdout]
    return seen


def test_the_agents_export_to_the_gateway_pool_and_the_gateways_to_the_backend(two_tier):
    for host in AGENTS:
        config = two_tier['configs'][host]
        assert 'otlp_grpc/otlp_tls_gateway' in config and 'dns:///otlp-gateway:4317' in config, host
        assert 'endpoint: 127.0.0.1:4317' in config, '%s: the agent must listen on loopback' % host
    for host in GATEWAYS:
        config = two_tier['configs'][host]
        assert 'otlp_grpc/otlp_tls_backend' in config and 'Bearer ${env:OTLP_TLS_BACKEND_TOKEN}' in config, host
        assert two_tier['token'] not in config
        assert 'client_ca_file' in config, '%s must require client certificates' % host
    for host in AGENTS:
        assert 'https://otlp-agent.%s:4317' % host in two_tier['endpoints'][host], two_tier['endpoints'][host]
        assert '127.0.0.1 otlp-agent.%s' % host in two_tier['hosts_files'][host]
    assert 'https://collector-mtls:4317' in two_tier['endpoints']['app-bullseye']


@pytest.mark.parametrize('phase', PHASES)
def test_every_span_reaches_the_backend(two_tier, phase):
    table, problems = two_tier['phases'][phase]
    assert not problems, table


def test_both_gateways_carried_traffic(two_tier):
    share = two_tier['gateway_share']
    assert all(share[host] > 0 for host in GATEWAYS), 'spans recorded per gateway: %s' % share


@pytest.mark.parametrize('rogue', ['nocert', 'otherca'])
def test_a_rogue_agent_is_refused_by_the_gateways(two_tier, rogue):
    seen = two_tier['rogue'][rogue]
    recorded = dict((host, spans.get('rogue-' + rogue, 0)) for host, spans in two_tier['rogue_spans'].items())
    assert sum(recorded.values()) == 0, 'spans of the rogue agent %s were recorded: %s' % (rogue, recorded)
    assert seen['telemetrygen_rc'] == 0, 'telemetrygen could not hand its spans to the rogue agent'
    assert re.search(r'certificate required|bad certificate|unknown certificate|handshake|tls', seen['log'], re.I), \
        'the rogue agent logged no TLS refusal:\n%s' % seen['log'][-2000:]


def test_leaf_rotation_reissued_everything_and_restarted_no_collector(two_tier):
    assert two_tier['leaf_unchanged'] == [], 'certificates the leaf rotation did not re-issue: %s' % two_tier['leaf_unchanged']
    before, after = two_tier['leaf_state']
    assert before == after, 'collector PIDs or NRestarts changed in the leaf rotation: %s -> %s' % (before, after)
    assert set(two_tier['leaf_reloads'].values()) == {0}, 'reloads in the leaf rotation: %s' % two_tier['leaf_reloads']


def test_ca_rotation_moved_only_the_collectors_whose_ca_file_changed(two_tier):
    before, after = two_tier['ca_state']
    kept = [host for host in GATEWAYS + [fleetlib.BACKEND] if before[host] != after[host]]
    assert not kept, 'gateway or backend PIDs or NRestarts changed in the CA rotation: %s -> %s' % (before, after)
    moved = [host for host in AGENTS if before[host][0] != after[host][0] or two_tier['ca_reloads'][host]]
    assert moved == AGENTS, 'agents not restarted or reloaded: %s (PIDs %s -> %s)' % (
        sorted(set(AGENTS) - set(moved)), before, after)
    reloaded = two_tier['ca_reloads']
    assert all(reloaded[host] == 0 for host in GATEWAYS + [fleetlib.BACKEND]), reloaded
    assert two_tier['ca_starts'] and all(two_tier['ca_starts'][host] >= 3 for host in AGENTS), two_tier['ca_starts']
    assert set(two_tier['ca_bundles'].values()) == {1}, two_tier['ca_bundles']


def test_a_scheduled_run_renews_a_short_lived_hop_certificate_without_a_restart(two_tier):
    before, after = two_tier['renew_before'], two_tier['renew_after']
    assert before.split()[-1] != after.split()[-1], 'site.yml kept the certificate with 20 hours left:\n%s' % after
    not_after = datetime.datetime.strptime(after.split('=', 1)[1].split('\n')[0], '%b %d %H:%M:%S %Y %Z')
    left = not_after - datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert datetime.timedelta(days=1, hours=20) < left <= datetime.timedelta(days=2), 'the new one has %s left' % left
    state_before, state_after = two_tier['renew_state']
    assert state_before == state_after, 'PIDs or NRestarts changed: %s -> %s' % (state_before, state_after)


def test_check_yml_reports_both_hops(two_tier):
    result = two_tier['check']
    assert result.rc == 0, result
    with open(os.path.join(os.path.dirname(result.path), 'check.json')) as handle:
        rows = json.load(handle)['rows']
    agents = dict((row['host'], row) for row in rows if row['role'] == 'agent')
    backends = dict((row['host'], row) for row in rows if row['role'] == 'backend')
    assert sorted(agents) == sorted(AGENTS) and sorted(backends) == sorted(GATEWAYS), rows
    for row in agents.values():
        assert row['ok'] and row['handshake'] == 'ok 2/2 gateways' and row['days_left'] >= 364, row
    for row in backends.values():
        assert row['ok'] and row['handshake'].startswith('ok') and row['days_left'] >= 29, row


def test_the_token_is_in_no_output(two_tier):
    assert two_tier['token_in_output'] == [], 'the backend token is in %s' % two_tier['token_in_output']


def test_the_token_is_readable_by_root_and_the_collector_only(two_tier):
    bad = []
    for host, lines in two_tier['token_files'].items():
        for line in lines:
            path, mode, owner, group = line.split()
            if owner != 'root' or group != 'otelcol' or int(mode, 8) & 0o027:
                bad.append('%s:%s' % (host, line))
    assert not bad, 'files holding the token that others may read: %s' % bad
    assert not two_tier['token_files']['app-bullseye'] and not two_tier['token_files']['app-mtls']
    assert two_tier['token_journal'] == [], 'the token is in the journal of %s' % two_tier['token_journal']


# --- certificate metrics (otlp_tls_collector_cert_metrics): every certificate of every agent and gateway reaches the
# backend through the tiers; compared with check.yml, the alert rules and a renewal. app-bullseye runs no agent: its
# certificates are in check.yml's report (and its Prometheus textfile, test_rotation.py), not here.

def check_report(two_tier):
    with open(os.path.join(os.path.dirname(two_tier['check'].path), 'check.json')) as handle:
        return json.load(handle)


def epoch(stamp):
    return datetime.datetime.strptime(stamp, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()


def expected_entries(report):
    """(host, entry) of every certificate check.yml found on an agent or gateway, and each one's not_after."""
    out = {}
    for row in report['rows']:
        if row['host'] not in GATEWAYS + AGENTS or not row.get('not_after') or row['role'] == 'backend':
            continue
        out[(row['host'], row['certificate'] if row['role'] == 'app' else 'collector')] = epoch(row['not_after'])
    return out


def test_every_certificate_of_every_agent_and_gateway_reaches_the_backend(two_tier):
    found = set((p['host'], p['entry']) for p in two_tier['cert_points'])
    wanted = set(expected_entries(check_report(two_tier)))
    wanted |= set((host, 'ca-%d' % i) for host in GATEWAYS + AGENTS for i in (0, 1))
    wanted |= set((host, 'backend-ca') for host in GATEWAYS)
    assert len([e for e in wanted if e[0] == SHORT_APP[0]]) >= 3 + 6, 'too few certificates expected: %s' % wanted
    assert wanted <= found, 'not at the backend: %s' % sorted(wanted - found)
    assert found <= wanted | set((host, entry) for host, entry in found if entry.startswith('ca-')), \
        'unexpected: %s' % sorted(found - wanted)
    roles = dict(((p['host'], p['entry']), (p['role'], p['renew_before'])) for p in two_tier['cert_points'])
    for host in GATEWAYS:
        assert roles[(host, 'collector')] == ('gateway', '1d') and roles[(host, 'backend-ca')] == ('ca', None), host
    for host in AGENTS:
        assert roles[(host, 'collector')] == ('agent', '30d') and roles[(host, 'ca-0')] == ('ca', None), host
    assert roles[SHORT_APP] == ('app', '30d')


def test_the_values_agree_with_check_yml_within_one_interval(two_tier):
    report = check_report(two_tier)
    checked = epoch(report['checked_at'])
    by_key = {}
    for point in two_tier['cert_points']:
        by_key.setdefault((point['host'], point['entry']), []).append(point)
    compared = []
    for key, not_after in sorted(expected_entries(report).items()):
        nearest = min(by_key[key], key=lambda p: abs(p['time'] - checked))
        told = not_after - checked
        assert abs(nearest['value'] - told) <= CERT_INTERVAL + 1, (
            '%s: %d s left at the backend (at %.0f), check.yml says %d s at %.0f' % (
                key, nearest['value'], nearest['time'], told, checked))
        compared.append(key)
    assert len(compared) >= 10, compared


def humanize_duration(seconds):
    """As Prometheus's humanizeDuration writes a duration of a day or more."""
    return '%dd %dh %dm %ds' % (seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60, seconds % 60)


def test_a_two_day_app_certificate_drops_below_renew_before_and_the_rule_fires(two_tier, tmp_path):
    dropped = two_tier['short_app_dropped']
    assert dropped, 'no point of %s at the backend after its certificate was replaced' % (SHORT_APP,)
    assert 47 * 3600 <= dropped['value'] <= 48 * 3600, dropped
    assert dropped['renew_before'] == '30d' and dropped['value'] < 30 * 86400
    # The shipped rule, on the values the backend received: before the replacement (a year left) no alert; the
    # value after it, held for more than the rule's hour, fires OtlpTlsCertificateRenewalOverdue for this app.
    before = [p for p in two_tier['cert_points'] if (p['host'], p['entry']) == SHORT_APP
              and p['time'] < two_tier['short_app_replaced']]
    assert before and before[-1]['value'] > 300 * 86400, before[-1:]
    labels = ('{otlp_tls_host="%s", otlp_tls_entry="%s", otlp_tls_role="app", otlp_tls_renew_before="30d"}'
              % SHORT_APP)
    # 'Nx90' is 91 samples (minutes 0 to 90): the falling values start at minute 91.
    left = dropped['value'] - 60 * (175 - 91)
    alert = {'exp_labels': {'severity': 'warning', 'renew_before': '30d', 'otlp_tls_host': SHORT_APP[0],
                            'otlp_tls_entry': SHORT_APP[1], 'otlp_tls_role': 'app', 'otlp_tls_renew_before': '30d'},
             'exp_annotations': {
                 'summary': '%s %s: less time left than renew_before (30 days)' % SHORT_APP,
                 'description': 'The certificate %s (app) expires in %s; it should have been renewed. Renewal is not '
                                'running: check the scheduled site.yml (cron or AWX schedule) and the CA host, then run '
                                'playbooks/site.yml --limit %s.' % (SHORT_APP[1], humanize_duration(left), SHORT_APP[0])}}
    test = {'rule_files': [os.path.join(fleetlib.ROOT, 'prometheus', 'otlp-tls-alerts.yml')],
            'evaluation_interval': '1m',
            'tests': [{'interval': '1m',
                       'input_series': [{'series': 'tlscheck_time_left_seconds' + labels,
                                         'values': '%dx90 %d-60x90' % (before[-1]['value'], dropped['value'])}],
                       'alert_rule_test': [
                           {'eval_time': '85m', 'alertname': 'OtlpTlsCertificateRenewalOverdue', 'exp_alerts': []},
                           {'eval_time': '175m', 'alertname': 'OtlpTlsCertificateRenewalOverdue',
                            'exp_alerts': [alert]}]}]}
    path = tmp_path / 'observed.test.yml'
    path.write_text(json.dumps(test))
    promtool = os.environ.get('OTLP_TLS_PROMTOOL') or subprocess.run(
        ['bash', os.path.join(fleetlib.ROOT, 'tests', 'prometheus', 'promtool.sh'), '--cached'],
        stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    run = subprocess.run([promtool, 'test', 'rules', str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         check=False)
    assert run.returncode == 0, run.stdout.decode()


def test_site_yml_renews_it_and_the_value_climbs_back(two_tier):
    climbed = two_tier['short_app_climbed']
    assert climbed and climbed['value'] > 364 * 86400, climbed
    new = two_tier['short_app_cert']
    assert new, 'the replaced certificate was not read'


def test_each_ca_of_the_overlap_bundle_was_reported_during_the_ca_rotation(two_tier):
    """ca-0 and ca-1 are the two CAs of the bundle while the rotation overlaps them, the same CA outside it."""
    points = two_tier['cert_points']
    for host in GATEWAYS + AGENTS:
        slots = {}
        for point in points:
            if point['host'] == host and point['entry'] in ('ca-0', 'ca-1'):
                slots.setdefault(int(point['time'] // CERT_INTERVAL), {})[point['entry']] = point['value']
        # Two CAs made minutes apart (the fleet's, and the one the rotation made) end minutes apart; one CA read by two
        # receivers in the same interval differs by at most the interval.
        apart = [t for t, pair in slots.items() if len(pair) == 2 and abs(pair['ca-0'] - pair['ca-1']) > 120]
        same = [t for t, pair in slots.items() if len(pair) == 2 and abs(pair['ca-0'] - pair['ca-1']) <= CERT_INTERVAL + 2]
        assert apart, '%s never reported two different CAs in the CA rotation' % host
        assert same, '%s never reported the one CA twice outside it' % host
