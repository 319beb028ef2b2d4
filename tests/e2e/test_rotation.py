# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Zero-loss rotation on the e2e fleet: every app sends numbered spans without end, then

1. a leaf rotation of the whole fleet (new keys);
2. a CA rotation, during which an app host goes away (its container killed) in phase trust: the
   rotation stays in its phase, fails the run and names the host, and status shows it pending;
3. the host back, the rotation resumed, and rotate.yml itself killed in the middle of phase
   reissue, the state shown, then resumed to the end;
4. the apps are stopped (they flush) and the spans each run of each unit sent are compared with
   what the collectors received: 0 lost, collectors never restarted, and no app logged a TLS
   or export error at any point (the runs killed with their host can not say what they sent:
   the host's runs from its return on count);
5. playbooks/check.yml passes on the rotated fleet, then catches an expiring certificate and an
   endpoint name the collector's certificate does not cover.

The module fixture runs the scenario once (it is one story: each step acts on what the one
before left) and records what each step saw; each test asserts one check of it. Logs and
summary.txt in .tmp/e2e/rotation/.

    pytest tests/e2e/test_rotation.py
"""

from __future__ import absolute_import, division, print_function

import calendar
import json
import os
import re
import subprocess
import time

import pytest

import fleetlib
import rotation_count

VICTIM = 'app-tls'
# The CA rotation takes every collector and every app host at once (the leaf rotation, and the
# CA rotation of test_revocation.py, are the rolling ones: one app host at a time). One batch of
# apps and max_fail_percentage 100: with VICTIM gone the other app hosts go on, so the phase
# gate is what holds the rotation (Ansible ends a play by itself when a whole batch fails).
FAST = ('-e', 'otlp_tls_rotate_collector_serial=100%', '-e', 'otlp_tls_rotate_app_serial=100%',
        '-e', 'otlp_tls_rotate_max_fail_percentage=100')


def say(out, text):
    with open(os.path.join(out, 'summary.txt'), 'a') as handle:
        handle.write(text + '\n')


def fingerprints_of(lines):
    """The 'Fingerprint=...' field of Fleet.fingerprints() lines."""
    return [line.split()[3] for line in lines]


def not_issued_by(fleet, ca_path):
    """host:path of every certificate on the fleet that ``ca_path``'s CA did not sign."""
    from cryptography import x509
    with open(ca_path, 'rb') as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    wrong = []
    for host in fleet.hosts:
        for path in fleet.sh(host, 'ls /etc/otlp-tls/*/cert.pem 2>/dev/null; true').split():
            cert = x509.load_pem_x509_certificate(fleet.read(host, path).encode())
            try:
                cert.verify_directly_issued_by(ca)
            except Exception:  # noqa: BLE001 - any failure means "not signed by this CA"
                wrong.append('%s:%s' % (host, path))
    return wrong


@pytest.fixture(scope='module')
def rotation(default_fleet):
    fleet = default_fleet
    out = fleet.out_dir('rotation')
    seen = {}
    fleet.moved('test_rotation running')
    restarts_before = {host: fleet.restarts(host) for host in fleet.collectors}
    pid_before = {host: fleet.pid(host) for host in fleet.collectors}
    since = int(time.time())
    fleet.new_runs(load=True)
    time.sleep(10)
    certs0 = fleet.fingerprints()

    # 1. leaf rotation with new keys
    began = time.time()
    seen['leaf'] = fleet.play('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=leaf', '-e', 'otlp_tls_rotate_new_keys=true',
                              '-e', 'otlp_tls_rotate_app_serial=1', log=os.path.join(out, 'leaf.log'))
    assert seen['leaf'].rc == 0, seen['leaf']
    certs1 = fleet.fingerprints()
    seen['unchanged'] = sorted(set(fingerprints_of(certs0)) & set(fingerprints_of(certs1)))
    seen['certs1'] = certs1
    say(out, 'leaf rotation: %d certificates re-issued with new keys in %.0f s' % (len(certs1), time.time() - began))

    # 2. CA rotation (FAST). First an app host goes away (its container is killed) in phase trust.
    began = time.time()
    runner = fleet.play_background('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=ca', *FAST,
                                   log=os.path.join(out, 'ca-1.log'))
    seen['host_killed'] = fleetlib.kill_when(fleet, runner, VICTIM, r'PLAY \[CA rotation, apps, phase trust\]')
    seen['held'] = fleet.result_of(runner)
    seen['held_phase'] = (fleet.rotation_phase() or {}).get('phase')
    held = re.search(r'stays in phase trust[^.]*', seen['held'].out)
    say(out, 'CA rotation with %s killed in phase trust: exit %d after %.0f s, held: %s' % (
        VICTIM, seen['held'].rc, time.time() - began, held.group(0) if held else None))
    seen['held_status'] = fleet.play('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=status',
                                     log=os.path.join(out, 'status-1.log'))
    fleetlib.bring_back(fleet, VICTIM)
    back = int(time.time())
    fleet.exec(VICTIM, 'systemctl', 'restart', *fleet.units(VICTIM))

    # 3. resumed, and this time rotate.yml itself is killed in the middle of phase reissue
    runner = fleet.play_background('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=ca', *FAST, log=os.path.join(out, 'ca-2.log'))
    killed = False
    deadline = time.time() + 300
    while time.time() < deadline and runner.poll() is None:
        state = fleet.rotation_phase() or {}
        if state.get('phase') == 'reissue' and state.get('done', {}).get('reissue'):
            fleet.stop(runner)
            killed = True
            break
        time.sleep(0.5)
    if runner.poll() is None:
        fleet.stop(runner)
    seen['killed'] = killed
    state = fleet.rotation_phase() or {}
    seen['killed_state'] = state
    first = time.time() - began
    say(out, 'CA rotation killed after %.0f s, in phase %s with %s done'
        % (first, state.get('phase'), ', '.join(state.get('done', {}).get('reissue', []))))
    seen['status'] = fleet.play('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=status', log=os.path.join(out, 'status.log'))
    began = time.time()
    seen['resume'] = fleet.play('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=ca', *FAST, log=os.path.join(out, 'ca-3.log'))
    assert seen['resume'].rc == 0, seen['resume']
    seen['phase'] = (fleet.rotation_phase() or {}).get('phase')
    say(out, 'CA rotation resumed and completed in %.0f s (%.0f s before the kill)' % (time.time() - began, first))
    seen['certs2'] = fleet.fingerprints()
    # rotation.sh compared issuer names, which the old and the new CA share (same common name):
    # here each certificate's signature is verified with the new CA's key.
    seen['not_from_new_ca'] = not_issued_by(fleet, os.path.join(fleet.ca_dir, 'ca.crt'))
    seen['bundles'] = {}
    for host in fleet.hosts:
        for bundle in fleet.sh(host, 'ls /etc/otlp-tls/*/ca.pem').split():
            seen['bundles']['%s:%s' % (host, bundle)] = fleet.read(host, bundle).count('BEGIN CERTIFICATE')

    # 4. stop the apps (each flushes and says how many spans it sent); count
    time.sleep(5)
    fleet.stop_apps()
    time.sleep(3)
    # Every run of every unit since the module began (new_runs restarted them all): every run
    # that sent must be accounted for, except the runs killed with their host, which could not
    # say what they sent (those that started once it was back count).
    journals = {host: fleet.journal(host) for host in fleet.apps}
    sent, runs = fleetlib.sent_rows(journals, since=since)
    killed_runs = fleetlib.sent_rows({VICTIM: journals[VICTIM]}, since=since)[1] - \
        fleetlib.sent_rows({VICTIM: journals[VICTIM]}, since=back)[1]
    runs -= killed_runs
    time.sleep(2)
    received = fleetlib.received_rows(fleet)
    fleetlib.write_lines(os.path.join(out, 'sent.txt'), sent)
    fleetlib.write_lines(os.path.join(out, 'received.txt'), received)
    seen['table'], seen['problems'] = rotation_count.account(sent, received, runs=runs)
    say(out, seen['table'])
    say(out, '%s: %d runs counted, from its return on; its runs from before the kill died with its container '
             '(%d of them left in its journal, not counted)' % (
                 VICTIM, len(fleetlib.sent_rows({VICTIM: journals[VICTIM]}, since=back)[1]), len(killed_runs)))
    since_journals = {host: fleet.journal(host, since=since) for host in fleet.apps}
    seen['errors'] = fleetlib.app_errors(since_journals)
    say(out, 'TLS or export errors logged by the apps during the rotations: %d' % len(seen['errors']))
    seen['collectors'] = {host: (pid_before[host], fleet.pid(host), restarts_before[host], fleet.restarts(host))
                          for host in fleet.collectors}

    # 5. check.yml: passes, catches an expiring certificate, catches a name the certificate lacks
    # With the Prometheus textfile too (the single-tier fleet's expiry metrics, for node_exporter).
    seen['check_ok'] = fleet.play('playbooks/check.yml', '-e', 'otlp_tls_check_report=%s/check.json' % out,
                                  '-e', 'otlp_tls_check_prometheus=%s/otlp_tls.prom' % out,
                                  log=os.path.join(out, 'check-ok.log'))
    seen['check_json'] = json.load(open(os.path.join(out, 'check.json')))
    seen['textfile'] = os.path.join(out, 'otlp_tls.prom')
    seen['check_expiring'] = fleet.play('playbooks/check.yml', '-e', 'otlp_tls_check_min_days_left=400', '-e',
                                        'otlp_tls_check_report=%s/check-expiring.json' % out,
                                        log=os.path.join(out, 'check-expiring.log'))
    ip = fleet.address('collector-mtls')
    fleet.sh('app-mtls', 'grep -q " collector-alias$" /etc/hosts || echo "$1 collector-alias" >> /etc/hosts', ip)
    seen['check_san'] = fleet.play('playbooks/check.yml', '--limit', 'collector-mtls,app-mtls', '-e',
                                   'otlp_tls_exporter_collector=collector-alias',
                                   '-e', 'otlp_tls_check_report=%s/check-san.json' % out,
                                   log=os.path.join(out, 'check-san.log'))
    # The fleet is on the rotated CA of .tmp/e2e/ca, converged; the apps are stopped.
    fleet.update_state(moved=None)
    return seen


def test_leaf_rotation_reissues_every_certificate(rotation):
    assert rotation['unchanged'] == [], '%d certificates were not re-issued by the leaf rotation: %s' % (
        len(rotation['unchanged']), rotation['unchanged'])


def test_ca_rotation_with_a_host_gone_fails_the_run(rotation):
    assert rotation['host_killed'], 'rotate.yml ended before %s could be killed' % VICTIM
    assert rotation['held'].rc != 0, 'rotate.yml succeeded although %s went away' % VICTIM


def test_ca_rotation_holds_the_phase_and_names_the_host(rotation):
    out = re.sub(r'\s+', ' ', rotation['held'].out)
    assert 'stays in phase trust: 1 host(s) have not completed it: %s' % VICTIM in out, \
        'rotate.yml did not hold the phase for %s' % VICTIM
    assert rotation['held_phase'] == 'trust', 'the rotation moved on to %s without %s' % (rotation['held_phase'], VICTIM)


def test_rotation_status_shows_the_host_pending(rotation):
    assert rotation['held_status'].rc == 0, rotation['held_status']
    # The host alone: the list of pending hosts ends with it.
    assert re.search(r'pending in trust: %s(?![\w,-])' % VICTIM, rotation['held_status'].out), \
        'rotate.yml status does not show %s pending: %r' % (VICTIM, rotation['held_status'])


def test_ca_rotation_was_interrupted_in_phase_reissue(rotation):
    assert rotation['killed'], 'the CA rotation ended before it could be interrupted: %s' % rotation['killed_state']
    assert rotation['killed_state'].get('phase') == 'reissue'


def test_rotation_status_shows_the_state(rotation):
    assert rotation['status'].rc == 0, rotation['status']


def test_resumed_ca_rotation_completes(rotation):
    assert rotation['phase'] == 'done', 'the resumed CA rotation ended in phase %s' % rotation['phase']


def test_every_certificate_is_from_the_new_ca(rotation):
    assert rotation['certs2'], 'no certificates on the fleet'
    assert rotation['not_from_new_ca'] == [], 'certificates not signed by the new CA: %s' % rotation['not_from_new_ca']


def test_every_bundle_holds_the_new_ca_alone(rotation):
    extra = dict((path, n) for path, n in rotation['bundles'].items() if n != 1)
    assert rotation['bundles'] and not extra, 'bundles that still hold more than one CA: %s' % extra


def test_no_span_lost(rotation):
    assert not rotation['problems'], rotation['table']


def test_no_tls_or_export_error_logged_by_the_apps(rotation):
    assert rotation['errors'] == [], '\n'.join(rotation['errors'][:20])


@pytest.mark.parametrize('host', fleetlib.COLLECTORS)
def test_collector_never_restarted(rotation, host):
    before, after, restarts_before, restarts_after = rotation['collectors'][host]
    assert before == after and restarts_before == restarts_after, (
        'the collector on %s restarted (PID %s -> %s, NRestarts %s -> %s)' % (
            host, before, after, restarts_before, restarts_after))


def test_check_yml_passes_on_the_rotated_fleet(rotation):
    assert rotation['check_ok'].rc == 0, rotation['check_ok']


def test_check_yml_writes_the_prometheus_textfile(rotation):
    """Every row with a certificate has its seconds left as of the run, as node_exporter would serve them."""
    path = rotation['textfile']
    assert oct(os.stat(path).st_mode & 0o777) == '0o644', 'node_exporter (another user) must read it'
    text = open(path).read()
    promtool = os.environ.get('OTLP_TLS_PROMTOOL') or subprocess.run(
        ['bash', os.path.join(fleetlib.ROOT, 'tests', 'prometheus', 'promtool.sh'), '--cached'],
        stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    lint = subprocess.run([promtool, 'check', 'metrics'], input=text.encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)
    assert lint.returncode == 0, lint.stdout.decode()
    report = rotation['check_json']
    checked = calendar.timegm(time.strptime(report['checked_at'], '%Y-%m-%dT%H:%M:%SZ'))
    samples = {}
    for line in text.splitlines():
        found = re.match(r'^tlscheck_time_left_seconds\{otlp_tls_host="([^"]*)",otlp_tls_role="([^"]*)",'
                         r'otlp_tls_entry="([^"]*)",.*\} (-?\d+)$', line)
        if found:
            samples[found.group(1, 2, 3)] = (int(found.group(4)), line)
    rows = dict(((row['host'], row['role'], row['certificate']), row) for row in report['rows'] if row.get('not_after'))
    assert rows and sorted(samples) == sorted(rows), 'samples %s, report rows %s' % (sorted(samples), sorted(rows))
    for key, row in rows.items():
        value, line = samples[key]
        assert value == calendar.timegm(time.strptime(row['not_after'], '%Y-%m-%dT%H:%M:%SZ')) - checked, line
        assert ('otlp_tls_renew_before="30d"' in line) == (row['role'] != 'backend'), line
    assert 'otlp_tls_check_last_run_timestamp_seconds %d' % checked in text.splitlines()


def test_check_yml_catches_expiring_certificates(rotation):
    result = rotation['check_expiring']
    assert result.rc != 0, 'check.yml passed although every certificate expires within 400 days'
    assert 'fewer than the 400 required' in result.out, 'no expiry problem reported: %r' % result


def test_check_yml_catches_a_name_the_certificate_lacks(rotation):
    result = rotation['check_san']
    assert result.rc != 0, 'check.yml passed although apps use a name the collector certificate lacks'
    assert 'do not cover collector-alias' in result.out, 'no SAN problem reported: %r' % result
