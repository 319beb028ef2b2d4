# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rows, verdict and table of playbooks/check.yml, and the status lines of rotate.yml and revoke.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json
import os
import subprocess

import pytest

from ansible_collections.otlp.tls.plugins.filter import check_report as cr
from ansible_collections.otlp.tls.plugins.module_utils import pki

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))

ROW_KEYS = ['host', 'role', 'certificate', 'units', 'subject', 'issuer', 'days_left', 'not_after', 'sans', 'key_matches',
            'chain_ok', 'endpoint', 'handshake', 'served_by', 'ok', 'problems']
LONG_ISSUER = 'CN=Example Corporation Internal OpenTelemetry Certificate Authority 2026'
LONG_ENDPOINT = 'https://otel-collector-primary.observability.eu-west-1.example.internal:4317'


def unit(name, cert=None, endpoint='https://collector1:4317', mtls=True, per_signal=False, collector='collector1'):
    env = {'OTEL_EXPORTER_OTLP_PROTOCOL': 'grpc', 'OTEL_EXPORTER_OTLP_CERTIFICATE': '/etc/otlp-tls/%s/ca.pem' % name}
    if endpoint is not None:
        env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' if per_signal else 'OTEL_EXPORTER_OTLP_ENDPOINT'] = endpoint
    if mtls:
        env.update(OTEL_EXPORTER_OTLP_CLIENT_KEY='/etc/otlp-tls/%s/key.pem' % name,
                   OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE='/etc/otlp-tls/%s/cert.pem' % name)
    cert = cert or name
    return {'unit': name, 'name': name, 'language': 'go', 'user': name, 'group': name, 'collector': collector,
            'env': env, 'header_names': [],
            'certificate': {'name': cert, 'dir': '/etc/otlp-tls/' + cert, 'profile': 'client', 'owner': 'root',
                            'group': name, 'key_mode': '0640', 'common_name': cert, 'subject_alt_names': []}}


def x509(problems=(), days=200, issuer=LONG_ISSUER, key=True, chain=True):
    return {'changed': False, 'exists': True, 'problems': list(problems), 'key_matches': key, 'chain_verified': chain,
            'info': {'subject': 'CN=checkout@app1', 'issuer': issuer, 'days_left': days,
                     'dns_names': ['app1'], 'ip_addresses': ['10.0.0.7']}}


def probe(ok=True, stage='', error='', peer='CN=collector1'):
    result = {'ok': ok, 'stage': stage, 'error': error, 'verified': ok}
    if ok:
        result['tls_version'] = 'TLSv1.3'
    if peer:
        result['peer'] = {'subject': peer}
    return result


SKIPPED = {'skipped': True, 'changed': False, 'false_condition': 'item.mtls'}


class HostVars(dict):
    """hostvars as a filter sees it: a host without the variable has no key."""


# ---- check_targets ---------------------------------------------------------------------

def test_targets_one_per_certificate_with_its_units_and_address():
    plan = [unit('checkout'), unit('checkout-worker', cert='checkout'), unit('plain'),
            dict(unit('no-tls'), env={'OTEL_EXPORTER_OTLP_ENDPOINT': 'http://collector1:4318'})]
    targets = cr.check_targets(plan)
    assert [t['certificate']['name'] for t in targets] == ['checkout', 'plain']
    assert targets[0]['units'] == ['checkout', 'checkout-worker']
    first = targets[0]
    assert (first['host'], first['port'], first['endpoint']) == ('collector1', 4317, 'https://collector1:4317')
    assert targets[0]['mtls'] is True
    assert targets[0]['certificate']['dir'] == '/etc/otlp-tls/checkout'


@pytest.mark.parametrize('app, host, port, endpoint', [
    (unit('a', mtls=False), 'collector1', 4317, 'https://collector1:4317'),
    (unit('a', per_signal=True, endpoint='https://c2:4318/v1/traces'), 'c2', 4318, 'https://c2:4318/v1/traces'),
    (unit('a', endpoint='https://[fd00::7]:4317'), 'fd00::7', 4317, 'https://[fd00::7]:4317'),
    (unit('a', endpoint='https://collector1'), 'collector1', 443, 'https://collector1'),
    (unit('a', endpoint=None), '', 0, ''),
    (unit('a', endpoint='https://collector1:notaport'), '', 0, 'https://collector1:notaport'),
])
def test_targets_address_as_the_sdk_reads_it(app, host, port, endpoint):
    target, = cr.check_targets([app])
    assert (target['host'], target['port'], target['endpoint']) == (host, port, endpoint)


def test_targets_metrics_only_endpoint_is_found():
    app = unit('a', endpoint=None)
    app['env']['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] = 'https://collector1:4318/v1/metrics'
    assert cr.check_targets([app])[0]['host'] == 'collector1'


@pytest.mark.parametrize('plan', [None, [], [dict(unit('x'), env={})]])
def test_targets_nothing_to_check(plan):
    assert cr.check_targets(plan) == []


# ---- check_app_rows --------------------------------------------------------------------

def app_rows(plan, certs, probes, registered=True):
    targets = cr.check_targets(plan)
    if registered:
        certs, probes = {'results': certs, 'changed': False}, {'results': probes}
    return cr.check_app_rows(targets, certs, probes, 'app1')


def test_app_row_healthy_has_every_key_and_value():
    row, = app_rows([unit('checkout'), unit('worker', cert='checkout')], [x509()], [probe()])
    assert list(row) == ROW_KEYS
    assert row == {
        'host': 'app1', 'role': 'app', 'certificate': 'checkout', 'units': ['checkout', 'worker'],
        'subject': 'CN=checkout@app1', 'issuer': LONG_ISSUER, 'days_left': 200, 'not_after': None, 'sans': ['app1', '10.0.0.7'],
        'key_matches': True, 'chain_ok': True, 'endpoint': 'https://collector1:4317', 'handshake': 'ok TLSv1.3',
        'served_by': 'CN=collector1', 'ok': True, 'problems': []}


def test_app_row_server_tls_only():
    row, = app_rows([unit('checkout', mtls=False)], [SKIPPED], [probe()], registered=False)
    assert row['subject'] == '(server TLS only)'
    assert (row['issuer'], row['days_left'], row['sans'], row['key_matches'], row['chain_ok']) == ('-', None, [], None,
                                                                                                   None)
    assert row['ok'] is True and row['handshake'] == 'ok TLSv1.3'


def test_app_row_certificate_problems_and_failed_handshake():
    row, = app_rows([unit('checkout', per_signal=True)],
                    [x509(problems=['CN=checkout@app1 expires in 3 days, fewer than the 30 required: renew it'],
                          days=3, key=False, chain=False)],
                    [probe(ok=False, stage='verify', error='the server certificate does not verify', peer=None)])
    assert row['ok'] is False
    assert row['problems'] == [
        'CN=checkout@app1 expires in 3 days, fewer than the 30 required: renew it',
        # The endpoint is named even when it is a per-signal one.
        'handshake to https://collector1:4317 failed at verify: the server certificate does not verify']
    assert (row['handshake'], row['served_by'], row['key_matches'], row['chain_ok']) == ('FAILED', '-', False, False)


def test_app_row_without_endpoint_fails_and_says_why():
    row, = app_rows([unit('checkout', endpoint=None)], [x509()], [dict(SKIPPED, false_condition='item.host')])
    assert row['ok'] is False and row['handshake'] == '-'
    assert row['problems'] == ['no OTLP endpoint in the environment of checkout']


def test_app_row_with_an_endpoint_without_address_fails_and_says_why():
    row, = app_rows([unit('checkout', endpoint='https://collector1:notaport')], [x509()],
                    [dict(SKIPPED, false_condition='item.host')])
    assert row['ok'] is False and row['handshake'] == 'FAILED'
    assert row['problems'] == ['no host and port to connect to in the endpoint https://collector1:notaport']


def test_app_rows_none_without_tls_units():
    assert app_rows([], [], []) == []


def test_app_rows_results_must_match_targets():
    with pytest.raises(Exception, match='2 targets but 1 certificate and 2 handshake results'):
        app_rows([unit('a'), unit('b')], [x509()], [probe(), probe()])


# ---- collectors --------------------------------------------------------------------------

def test_names_used_only_names_of_this_collector_once():
    hostvars = HostVars(
        app1={'otlp_tls_exporter_plan': [unit('a', collector='otel.example.internal'), unit('b', collector='collector1')]},
        app2={'otlp_tls_exporter_plan': [unit('c', collector='collector2'), unit('d', collector='otel.example.internal')]},
        app3={},  # failed before its plan
        app4={'otlp_tls_exporter_plan': 'garbage'})
    used = cr.check_names_used(['app1', 'app2', 'app3', 'app4', 'not-a-host'], hostvars,
                               ['collector1', 'otel.example.internal'])
    assert used == ['otel.example.internal', 'collector1']
    assert cr.check_names_used([], hostvars, ['collector1']) == []


def test_collector_row_healthy():
    row, = cr.check_collector_row(x509(), 'collector1', ['collector1', 'otel.example.internal'])
    assert list(row) == ROW_KEYS
    assert row['role'] == 'collector' and row['certificate'] == 'collector' and row['units'] == []
    assert row['endpoint'] == 'collector1,otel.example.internal'
    assert row['ok'] is True and row['problems'] == [] and row['handshake'] == '-' and row['served_by'] == '-'
    assert row['sans'] == ['app1', '10.0.0.7'] and row['days_left'] == 200


def test_collector_row_without_tls_is_ok():
    row, = cr.check_collector_row(dict(SKIPPED), 'collector1', [])
    assert row['ok'] is True and row['subject'] == '-' and row['problems'] == []


def test_collector_row_problems():
    row, = cr.check_collector_row(x509(problems=['collector1 is not in the certificate']), 'collector1', ['collector1'])
    assert row['ok'] is False and row['problems'] == ['collector1 is not in the certificate']
    row, = cr.check_collector_row({'exists': True}, 'collector1', [])
    assert row['ok'] is False and row['problems'] == ['the certificate could not be read']


# ---- the whole report ------------------------------------------------------------------

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)


def slurped(files):
    results = [{'item': name, 'content': base64.b64encode(text.encode()).decode(), 'encoding': 'base64'}
               for name, text in files.items()]
    results.append({'item': 'revoked.json', 'failed': True, 'msg': 'file not found'})
    return {'results': results, 'changed': False}


def test_rows_missing_hosts_fail_and_hosts_speak_only_for_themselves():
    good = cr.check_app_rows(cr.check_targets([unit('checkout')]), [x509()], [probe()], 'app1')[0]
    forged = dict(good, host='app2', certificate='forged', ok=True)
    hostvars = HostVars(collector1={'otlp_tls_check_rows': cr.check_collector_row(x509(), 'collector1', [])},
                        app1={'otlp_tls_check_rows': [good]}, app2={}, app3={'otlp_tls_check_rows': [forged, 'junk']})
    rows = cr.check_rows(['collector1', 'app1', 'app2', 'app3'], hostvars)
    assert [(r['host'], r['certificate'], r['ok']) for r in rows] == [
        ('collector1', 'collector', True), ('app1', 'checkout', True), ('app2', '-', False), ('app3', 'forged', True)]
    assert rows[2]['problems'] == [cr.NO_ANSWER] and list(rows[2]) == ROW_KEYS
    summary = cr.check_summary(rows)
    assert summary == {'ok': False, 'total': 4, 'failed': 1, 'failed_hosts': ['app2']}


def test_rows_with_the_ledger_report_orphans():
    key = pki.generate_private_key('ec-p256')
    ca = pki.build_ca_certificate(key, 'Ledger CA', now=NOW - datetime.timedelta(days=10))
    end = (NOW + datetime.timedelta(days=30)).strftime('%Y-%m-%dT%H:%M:%SZ')

    def rec(host, entry, serial):
        return json.dumps(dict(host=host, entry=entry, serial=serial, subject='CN=' + host, not_after=end,
                               issuer_sha256=pki.certificate_fingerprint(ca), issued_at='2026-05-30T00:00:00Z'))
    ledger = '\n'.join([rec('gone', 'otlp', '1'), rec('app1', 'checkout', '2'), rec('app1', 'old-unit', '3')])
    app1 = cr.check_app_rows(cr.check_targets([unit('checkout')]), [x509()], [probe()], 'app1')
    hostvars = HostVars(app1={'otlp_tls_check_rows': app1})
    files = slurped({'ledger.jsonl': ledger, 'bundle.crt': pki.certificate_pem(ca).decode()})
    rows = cr.check_rows(['app1'], hostvars, files, ['app1'], now=NOW)
    orphans = [r for r in rows if r['role'] == 'ledger']
    assert [(r['host'], r['certificate'], r['days_left'], r['ok']) for r in orphans] == [
        ('app1', 'old-unit', 30, False), ('gone', 'otlp', 30, False)]
    assert all(list(r) == ROW_KEYS for r in orphans)
    assert 'revoke it with playbooks/revoke.yml -e otlp_tls_revoke=gone:otlp' in orphans[1]['problems'][0]
    # Without a ledger, or when the CA is provided (the slurp skipped), nothing is added.
    assert cr.check_rows(['app1'], hostvars, {'results': [dict(SKIPPED, item='ledger.jsonl')]}, ['app1']) == app1
    assert cr.check_rows(['app1'], hostvars, {}, ['app1']) == app1


def test_rows_unreadable_ca_file_is_an_error():
    with pytest.raises(Exception, match='ledger.jsonl on the CA host is not readable text'):
        cr.check_rows([], HostVars(), {'results': [{'item': 'ledger.jsonl', 'content': '!!!'}]}, [])


def test_summary_all_ok_and_empty():
    assert cr.check_summary([]) == {'ok': True, 'total': 0, 'failed': 0, 'failed_hosts': []}
    assert cr.check_summary([{'ok': True}, {'ok': True}])['ok'] is True


# ---- the table ---------------------------------------------------------------------------

def table_rows():
    app = cr.check_app_rows(cr.check_targets([unit('checkout-service-with-a-long-name', endpoint=LONG_ENDPOINT)]),
                            [x509(problems=['expires in 3 days'], days=3)], [probe()], 'app1.eu-west-1.example.internal')
    collector = cr.check_collector_row(x509(issuer='O=Example,CN=Other CA', days=-2, key=None), 'collector1', ['c1'])
    return collector + app + [cr._row(host='app9', problems=[cr.NO_ANSWER])]


def test_table_prints_every_value_in_full_in_aligned_columns():
    lines = cr.check_table(table_rows(), '/tmp/report.json')
    header = lines[0]
    assert header.split() == ['HOST', 'ROLE', 'CERTIFICATE', 'ISSUER', 'DAYS', 'KEY', 'CHAIN', 'ENDPOINT', 'HANDSHAKE']
    # Nothing is cut: the long issuer (without CN=), endpoint, host and certificate are whole.
    app = lines[2]
    for value in (LONG_ISSUER[3:], LONG_ENDPOINT, 'app1.eu-west-1.example.internal', 'checkout-service-with-a-long-name'):
        assert value in app
    assert LONG_ISSUER not in app
    # Every column starts at the same place on every row.
    for title in ('HOST', 'ISSUER', 'ENDPOINT', 'HANDSHAKE'):
        at = header.index(title)
        assert lines[1][at - 1] == ' ' and app[at - 1] == ' ' and lines[4][at - 1] == ' ', title
    assert app.index(LONG_ENDPOINT) == header.index('ENDPOINT')
    assert lines[1].startswith('ok   collector1 ') and 'O=Example,CN=Other CA' in lines[1]
    # Days are right-aligned under DAYS; an unknown key or chain shows '-'.
    days_end = header.index('DAYS') + len('DAYS')
    assert lines[1][:days_end].endswith(' -2') and app[:days_end].endswith('  3')
    assert lines[1].split()[7:9] == ['-', 'yes']  # after the issuer's two words
    assert lines[3] == '     ! app1.eu-west-1.example.internal checkout-service-with-a-long-name: expires in 3 days'
    assert lines[4].startswith('FAIL app9 ') and lines[5] == '     ! app9 -: ' + cr.NO_ANSWER
    assert lines[-1] == 'JSON: /tmp/report.json'
    assert all(line == line.rstrip() for line in lines)


def test_table_as_text_and_empty():
    rows = table_rows()
    assert cr.check_table(rows, '/r.json', text=True) == '\n'.join(cr.check_table(rows, '/r.json'))
    assert cr.check_table([]) == ['     HOST ROLE CERTIFICATE ISSUER DAYS KEY CHAIN ENDPOINT HANDSHAKE']


# ---- rotate.yml and revoke.yml -------------------------------------------------------------

def test_rotation_status_lines():
    state = {'phase': 'reissue', 'old_fingerprint': 'aa', 'new_fingerprint': 'bb', 'state_path': '/ca/rotation.json',
             'done': {'trust': ['collector1', 'app1', 'app2'], 'reissue': ['collector1']}}
    assert cr.rotation_status(state, ['collector1', 'app1', 'app2', 'app1'], 'localhost') == [
        'phase: reissue', 'old CA: aa, new CA: bb',
        'done: {"reissue": ["collector1"], "trust": ["collector1", "app1", "app2"]}',
        'pending in reissue: app1, app2', 'state file: localhost:/ca/rotation.json']
    idle = cr.rotation_status({'phase': 'none', 'state_path': '/ca/rotation.json'}, ['collector1'], 'ca-host')
    assert idle[0] == 'phase: none (nothing under way)' and idle[1] == 'old CA: -, new CA: -'
    assert idle[3] == 'pending in none: none'


@pytest.mark.parametrize('value, names', [
    ('app7', ['app7']), ('app3:checkout, app9 ,,', ['app3:checkout', 'app9']), ([' app1 ', '', None], ['app1']),
    ([], []), ('', []), (None, []),
])
def test_name_list(value, names):
    assert cr.name_list(value) == names


def test_every_filter_is_exported():
    assert sorted(cr.FilterModule().filters()) == sorted([
        'check_targets', 'check_app_rows', 'check_names_used', 'check_collector_row', 'check_rows', 'check_summary',
        'check_table', 'check_prometheus', 'rotation_status', 'name_list', 'check_hop_target', 'check_agent_row', 'check_backend_row'])


@pytest.mark.parametrize('endpoint, server_name, expected', [
    ('dns:///otlp-gateway.example.internal:4317', '', ('otlp-gateway.example.internal', 4317, 'otlp-gateway.example.internal')),
    ('gw1:4317', 'gw.internal', ('gw1', 4317, 'gw.internal')),
    ('https://otlp.vendor.example/otlp', '', ('otlp.vendor.example', 443, 'otlp.vendor.example')),
    ('https://otlp.vendor.example:4318', '', ('otlp.vendor.example', 4318, 'otlp.vendor.example')),
    ('[2001:db8::1]:4317', '', ('2001:db8::1', 4317, '2001:db8::1')),
    ('', '', ('', 0, '')),
    ('no port', '', ('', 0, '')),
])
def test_hop_target(endpoint, server_name, expected):
    target = cr.check_hop_target(endpoint, server_name)
    assert (target['host'], target['port'], target['name']) == expected
    assert target['endpoint'] == endpoint


AGENT_CERT = {'info': {'subject': 'CN=app1', 'issuer': 'CN=CA', 'days_left': 2, 'dns_names': [],
                       'ip_addresses': ['127.0.0.1']}, 'problems': [], 'key_matches': True, 'chain_verified': True}
GW = cr.check_hop_target('dns:///otlp-gateway:4317')


def gateway_probe(item, ok=True, **more):
    return dict({'item': item, 'ok': ok, 'stage': None if ok else 'verify', 'error': '' if ok else 'hostname mismatch',
                 'peer': {'subject': 'CN=' + item, 'days_left': 1}}, **more)


def test_agent_row_every_gateway_accepts_it():
    rows = cr.check_agent_row(AGENT_CERT, {'results': [gateway_probe('gw1'), gateway_probe('gw2')]}, 'app1', GW)
    assert len(rows) == 1 and rows[0]['ok'] and rows[0]['role'] == 'agent'
    assert rows[0]['handshake'] == 'ok 2/2 gateways' and rows[0]['days_left'] == 2
    assert rows[0]['served_by'] == 'gw1 (1 days left), gw2 (1 days left)'
    assert rows[0]['endpoint'] == 'dns:///otlp-gateway:4317 (as otlp-gateway)'
    assert [pair[0] for pair in cr.ROW_DEFAULTS] == list(rows[0])


def test_agent_row_fails_for_one_gateway_or_none_or_a_bad_certificate():
    rows = cr.check_agent_row(AGENT_CERT, {'results': [gateway_probe('gw1'), gateway_probe('gw2', ok=False)]}, 'app1', GW)
    assert not rows[0]['ok'] and rows[0]['handshake'] == 'FAILED 1/2 gateways'
    assert rows[0]['problems'] == ['handshake to the gateway gw2 for otlp-gateway failed at verify: hostname mismatch']
    assert cr.check_agent_row(AGENT_CERT, {'results': []}, 'app1', GW)[0]['problems'] == [
        'no gateway to connect to (is the gateway group empty?)']
    bad = dict(AGENT_CERT, problems=['it expires in 2 days'])
    assert not cr.check_agent_row(bad, {'results': [gateway_probe('gw1')]}, 'app1', GW)[0]['ok']
    assert not cr.check_agent_row({'info': {}}, {'results': [gateway_probe('gw1')]}, 'app1', GW)[0]['ok']
    assert cr.check_agent_row(AGENT_CERT, {'results': []}, 'app1', cr.check_hop_target('')) == []
    row = cr.check_agent_row({'skipped': True}, {'results': []}, 'app1', cr.check_hop_target('gw-without-port'))[0]
    assert not row['ok'] and 'names no host and port' in row['problems'][0]


def test_backend_row_handshake_and_days_left():
    target = cr.check_hop_target('backend:4317')
    peer = {'subject': 'CN=backend', 'issuer': 'CN=vendor', 'days_left': 90, 'subject_alt_names': ['backend']}
    good = {'ok': True, 'tls_version': 'TLSv1.3', 'peer': peer}
    row = cr.check_backend_row(good, 'gw1', target, 30)[0]
    assert row['ok'] and row['role'] == 'backend' and row['days_left'] == 90 and row['handshake'] == 'ok TLSv1.3'
    assert row['sans'] == ['backend'] and row['issuer'] == 'CN=vendor'
    soon = dict(good, peer=dict(good['peer'], days_left=3))
    assert 'expires in 3 days, fewer than the 30' in cr.check_backend_row(soon, 'gw1', target, 30)[0]['problems'][0]
    failed = {'ok': False, 'stage': 'verify', 'error': 'unknown CA', 'peer': {}}
    row = cr.check_backend_row(failed, 'gw1', target)[0]
    assert not row['ok'] and row['handshake'] == 'FAILED' and 'failed at verify: unknown CA' in row['problems'][0]
    assert cr.check_backend_row({'skipped': True}, 'gw1', target) == []


def test_check_prometheus_survives_what_a_host_may_report():
    """A lone surrogate, control characters, a huge value or a bad time from one host: valid UTF-8 text for every
    row, that row without a time-left sample, no exception (node_exporter drops a whole file it can not read)."""
    from ansible_collections.otlp.tls.plugins.filter.check_report import check_prometheus, _row
    rows = [_row(host='evil', role='app', certificate='x', subject='CN=x\udcff\r\x00' + 'A' * 5000,
                 not_after='2026-12-31T00:00:00Z'),
            _row(host='evil', role='app', certificate='y', not_after={'not': 'a time'}),
            _row(host='evil', role='app', certificate='z', not_after='tomorrow'),
            _row(host='good', role='app', certificate='c', not_after='2026-12-31T00:00:00Z')]
    text = check_prometheus(rows, '2026-12-01T00:00:00Z')
    text.encode('utf-8')
    assert '\udcff' not in text and '\x00' not in text and '\r' not in text
    assert all(len(line) < 2000 for line in text.splitlines())
    assert sum(1 for line in text.splitlines() if line.startswith('tlscheck_time_left_seconds{')) == 2
    assert sum(1 for line in text.splitlines() if line.startswith('otlp_tls_check_ok{')) == 4


def test_check_prometheus_writes_the_textfile_format():
    from ansible_collections.otlp.tls.plugins.filter.check_report import check_prometheus, _row
    rows = [_row(host='app1', role='app', certificate='checkout', issuer='CN=otlp.tls CA', subject='CN=checkout@app1',
                 not_after='2026-12-31T00:00:00Z', ok=True),
            _row(host='gw"1\\', role='collector', certificate='collector', not_after='2026-11-30T00:00:00Z'),
            _row(host='app2', problems=['no answer'])]
    text = check_prometheus(rows, '2026-12-01T00:00:00Z', {'app1': {}, 'app2': {'otlp_tls_certificate_renew_before': '7'}})
    lines = text.splitlines()
    assert 'tlscheck_time_left_seconds{otlp_tls_host="app1",otlp_tls_role="app",otlp_tls_entry="checkout",' \
           'tlscheck_x509_issuer="CN=otlp.tls CA",otlp_tls_subject="CN=checkout@app1",otlp_tls_renew_before="30d"} ' \
           '2592000' in lines
    assert any(line.startswith('otlp_tls_check_ok{otlp_tls_host="app2"') and 'otlp_tls_renew_before="7d"' in line
               for line in lines)
    assert not any('gw' in line and 'renew_before' in line for line in lines), 'a host without the setting: no label'
    assert any(line.startswith('tlscheck_time_left_seconds{otlp_tls_host="gw\\"1\\\\"') and line.endswith(' -86400')
               for line in lines), 'escaped labels, negative after expiry'
    assert 'otlp_tls_check_last_run_timestamp_seconds 1796083200' in lines
    assert sum(1 for line in lines if line.startswith('otlp_tls_check_ok{')) == 3
    assert sum(1 for line in lines if line.startswith('tlscheck_time_left_seconds{')) == 2
    assert text.endswith('\n') and check_prometheus(rows, '2026-12-01T00:00:00Z', {'app1': {}, 'app2': {'otlp_tls_certificate_renew_before': '7'}}) == text
    backend = _row(host='gw1', role='backend', certificate='backend', not_after='2026-12-31T00:00:00Z')
    assert 'renew_before' not in check_prometheus([backend], '2026-12-01T00:00:00Z', {'gw1': {}})
    promtool = subprocess.run(['bash', os.path.join(REPO, 'tests', 'prometheus', 'promtool.sh'), '--cached'],
                              stdout=subprocess.PIPE, check=False).stdout.decode().strip()
    if promtool:
        lint = subprocess.run([promtool, 'check', 'metrics'], input=text.encode(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False)
        assert lint.returncode == 0, lint.stdout.decode()
