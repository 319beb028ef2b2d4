# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""E2e: revocation, on the fleet of conftest.py (any order: it needs the fleet on its own CA).

Every app sends numbered spans without end (Fleet.new_runs). One app unit, e2e-go-grpc on
app-mtls (a gRPC client with mTLS), is revoked with playbooks/revoke.yml while all of them send:
the CA rotation it runs re-issues every other certificate and retires the CA that issued the
revoked one. Then:
  - the revoked certificate's handshakes are refused by the collector, while another unit's
    certificate on the same host is accepted;
  - the revoked app's open gRPC connection ended within the bound the collector sets
    (max_connection_age + grace, from tests/e2e/vars.yml) after the collector stopped trusting
    its CA: measured from the collector's client CA file change to the last span that arrived;
  - every other app lost 0 spans (every run of every unit since the module began, counted as in
    test_rotation.py);
  - the ledger has the revoked serial and the CRL beside the CA lists it;
  - a plain site.yml issues the revoked unit nothing; un-revoked, it gets a certificate again.

    pytest tests/e2e/test_revocation.py       (the fleet fixtures of conftest.py)

It leaves the fleet converged on the rotated CA of .tmp/e2e/ca, the unit un-revoked again.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import time

import pytest
import yaml

import fleetlib
import rotation_count

ROOT = fleetlib.ROOT
HOST, UNIT, SERVICE = 'app-mtls', 'e2e-go-grpc', 'go-grpc-mtls'
OTHER_UNIT = 'e2e-python-grpc'
COLLECTOR = 'collector-mtls'
FLEET = None  # the fleet fixture, set by the module fixture
OUT = None
CA_DIR = fleetlib.CA_DIR


def podman(host, *argv, **kwargs):
    return FLEET.exec(host, *argv, **kwargs)


def play(name, *argv):
    return FLEET.play_ok(argv[-1], *argv[:-1], log=os.path.join(OUT, name + '.log')).out


def probe(cert_unit):
    """A handshake from app-mtls to the mTLS collector with one unit's client certificate."""
    args = dict(host=COLLECTOR, port=4317, ca_path='/etc/otlp-tls/%s/ca.pem' % OTHER_UNIT,
                client_certificate_path='/etc/otlp-tls/%s/cert.pem' % cert_unit,
                client_private_key_path='/etc/otlp-tls/%s/key.pem' % cert_unit)
    proc = subprocess.run(['ansible', HOST, '-m', 'otlp.tls.tls_probe', '-a', json.dumps(args)], cwd=ROOT,
                          env=FLEET.env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='json'),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    doc = json.loads(proc.stdout.decode())
    return doc['plays'][0]['tasks'][0]['hosts'][HOST]


def vars_file():
    with open(os.path.join(ROOT, 'tests', 'e2e', 'vars.yml')) as handle:
        return yaml.safe_load(handle)


def seconds(duration):
    units = {'s': 1, 'm': 60, 'h': 3600}
    return int(str(duration)[:-1]) * units[str(duration)[-1]]


@pytest.fixture(scope='module')
def revoked(default_fleet):
    global FLEET, OUT  # pylint: disable=global-statement
    FLEET, OUT = default_fleet, default_fleet.out_dir('revocation')
    default_fleet.moved('test_revocation running (%s:%s revoked)' % (HOST, UNIT))
    since = int(time.time())
    FLEET.new_runs(load=True)
    time.sleep(10)
    assert probe(UNIT)['ok'], 'the unit to revoke must be able to connect before'
    attacker = start_attacker()
    start = time.time()
    # The collectors one at a time (the default: this is the e2e's rolling CA rotation), every app
    # host at once (test_rotation.py's CA rotation takes every host at once).
    text = play('revoke', '-e', 'otlp_tls_revoke=%s:%s' % (HOST, UNIT),
                '-e', "otlp_tls_revoke_reason='e2e'", '-e', 'otlp_tls_rotate_app_serial=100%', 'playbooks/revoke.yml')
    took = time.time() - start
    cut = int(podman(COLLECTOR, 'stat', '-c', '%Y', '/etc/otlp-tls/collector/ca.pem').stdout)
    config = vars_file()
    bound = seconds(config['otlp_tls_collector_grpc_max_connection_age']) + \
        seconds(config['otlp_tls_collector_grpc_max_connection_age_grace'])
    # Past the bound, with room for the SDK's batch delay and the file exporter.
    time.sleep(max(0, cut + bound + 15 - time.time()))
    attacker.terminate()
    try:
        attacker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        attacker.kill()
        attacker.wait()
    result = dict(since=since, start=start, took=took, cut=cut, bound=bound, text=text, unrevoked=False)
    yield result
    if not result['unrevoked']:
        # A test failed before un-revoking: leave no revoked unit behind for the next module.
        default_fleet.play('playbooks/revoke.yml', '-e', 'otlp_tls_unrevoke=%s:%s' % (HOST, UNIT),
                           log=os.path.join(OUT, 'unrevoke-teardown.log'))
    else:
        default_fleet.update_state(moved=None)


def start_attacker():
    """Whoever holds the revoked key: one long gRPC connection to the mTLS collector with the revoked
    certificate, sending 5 spans a second, not checking the server (it has no reason to: it is not
    cut off by its own trust store but only by the collector). telemetrygen, run on the controller."""
    key_dir = os.path.join(OUT, 'attacker')
    os.makedirs(key_dir, exist_ok=True)
    for name in ('cert.pem', 'key.pem', 'ca.pem'):
        with open(os.path.join(key_dir, name), 'wb') as handle:
            handle.write(podman(HOST, 'cat', '/etc/otlp-tls/%s/%s' % (UNIT, name)).stdout.encode())
    os.chmod(os.path.join(key_dir, 'key.pem'), 0o600)
    address = FLEET.address(COLLECTOR)
    binary = os.environ.get('OTLP_TLS_TELEMETRYGEN')
    assert binary and os.path.exists(binary), 'telemetrygen is built by scripts/setup.sh (OTLP_TLS_TELEMETRYGEN)'
    log = open(os.path.join(OUT, 'attacker.log'), 'w')
    return subprocess.Popen([binary, 'traces', '--otlp-endpoint', '%s:4317' % address, '--mtls',
                             '--client-cert', os.path.join(key_dir, 'cert.pem'),
                             '--client-key', os.path.join(key_dir, 'key.pem'), '--ca-cert', os.path.join(key_dir, 'ca.pem'),
                             '--otlp-insecure-skip-verify', '--rate', '5', '--duration', '20m',
                             '--service', 'revoked-attacker'], stdout=log, stderr=subprocess.STDOUT)


def test_the_revoked_certificate_is_refused_and_the_others_accepted(revoked):
    refused = probe(UNIT)
    assert not refused['ok'], refused
    accepted = probe(OTHER_UNIT)
    assert accepted['ok'], accepted
    with open(os.path.join(OUT, 'summary.txt'), 'a') as handle:
        handle.write('revoke.yml (%s:%s) took %.0f s; afterwards its handshake: %s (%s); %s: ok\n' % (
            HOST, UNIT, revoked['took'], refused.get('stage'), refused.get('error', '')[:120], OTHER_UNIT))


def last_span_of(service):
    """End time (Unix seconds) of the newest span of ``service`` the mTLS collector recorded
    (tests/files/count_spans.py --last-end, run on the collector)."""
    with open(os.path.join(fleetlib.ROOT, 'tests', 'files', 'count_spans.py'), 'rb') as handle:
        script = handle.read()
    return float(podman(COLLECTOR, 'python3', '-', '--last-end', service, '/var/lib/otelcol/traces.json',
                        input=script).stdout.strip())


def test_the_open_connection_ended_within_the_bound(revoked):
    attacker = last_span_of('revoked-attacker')
    app = last_span_of(SERVICE)
    with open(os.path.join(OUT, 'summary.txt'), 'a') as handle:
        handle.write('the collector dropped the revoked certificate\'s CA at %s; bound: max_connection_age + grace = %d s\n'
                     % (time.strftime('%H:%M:%S', time.gmtime(revoked['cut'])), revoked['bound']))
        handle.write('a client holding the revoked key (one gRPC connection, not checking the server): last span '
                     'arrived %+.1f s after that\n' % (attacker - revoked['cut']))
        handle.write('the revoked app itself: last span %+.1f s after that (its own trust store, which the rotation '
                     'no longer updates, stopped it once the collector served a certificate of the new CA)\n'
                     % (app - revoked['cut']))
    # The attacker's connection was open during the rotation, and ended within the bound.
    assert attacker > revoked['start'], 'the revoked-key client sent nothing during the rotation (attacker.log)'
    # It was still connected when the collector dropped the CA (reconnecting every max_connection_age).
    assert attacker - revoked['cut'] >= -revoked['bound'], attacker - revoked['cut']
    assert attacker - revoked['cut'] <= revoked['bound'] + 5, (attacker - revoked['cut'], revoked['bound'])
    assert app - revoked['cut'] <= revoked['bound'] + 5


def test_every_other_app_lost_nothing(revoked):
    FLEET.stop_apps()
    time.sleep(3)
    journals = {host: FLEET.journal(host) for host in FLEET.apps}
    sent, runs = fleetlib.sent_rows(journals, since=revoked['since'])
    sent = [row for row in sent if row[0] != SERVICE]
    received = [row for row in fleetlib.received_rows(FLEET) if row[0] != SERVICE]
    fleetlib.write_lines(os.path.join(OUT, 'sent.txt'), sent)
    fleetlib.write_lines(os.path.join(OUT, 'received.txt'), received)
    table, problems = rotation_count.account(sent, received, runs=runs)
    with open(os.path.join(OUT, 'summary.txt'), 'a') as handle:
        handle.write('spans of every other app, every run:\n' + table + '\n')
    print(table)
    assert not problems, table


def test_ledger_crl_and_the_signer_keep_it_revoked(revoked):
    from cryptography import x509
    with open(os.path.join(CA_DIR, 'revoked.json')) as handle:
        state = json.load(handle)
    serials = set()
    for per_ca in state['serials'].values():
        serials.update(serial for serial, info in per_ca.items() if info['host'] == HOST and info['entry'] == UNIT)
    assert serials
    with open(os.path.join(CA_DIR, 'ledger.jsonl')) as handle:
        ledger = [json.loads(line) for line in handle if line.strip()]
    assert serials <= set(r['serial'] for r in ledger if r['host'] == HOST and r['entry'] == UNIT)
    # The CRL beside the CA lists the certificate the unit held when it was revoked (signed by
    # the CA that issued it, retired now; older CAs of the ledger were retired before, their
    # keys are gone and their certificates verify nowhere).
    revoked_at = state['revoked'][0]['at']
    held = max((r for r in ledger if r['host'] == HOST and r['entry'] == UNIT and r['issued_at'] <= revoked_at),
               key=lambda r: r['issued_at'])
    with open(os.path.join(CA_DIR, 'crl.pem'), 'rb') as handle:
        crl = x509.load_pem_x509_crl(handle.read())
    listed = set('%x' % r.serial_number for r in crl)
    assert held['serial'] in listed and listed <= serials, (held['serial'], listed, serials)
    # A plain converge issues it nothing; the other units are kept.
    text = play('site-after', 'playbooks/site.yml')
    assert 'not signed, revoked: %s:%s' % (HOST, UNIT) in text
    # Un-revoked (a rebuilt host), the next converge gives it a certificate from the current CA.
    play('unrevoke', '-e', 'otlp_tls_unrevoke=%s:%s' % (HOST, UNIT), 'playbooks/revoke.yml')
    revoked['unrevoked'] = True
    play('site-unrevoked', 'playbooks/site.yml')
    assert probe(UNIT)['ok']
