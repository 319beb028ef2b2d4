# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collector's plan: config.yaml, the checks of its settings, the programs on its ports, the unit's lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.otlp.tls.plugins.filter.exporter_env import systemd_environment
from ansible_collections.otlp.tls.plugins.plugin_utils import collector_plan

BASE = dict(distribution='otelcol', install_method='file', checksum='', file='/tmp/otelcol.tar.gz', service_name='otelcol',
            group='otelcol', environment={}, secret_environment={}, grpc_endpoint='0.0.0.0:4317',
            http_endpoint='0.0.0.0:4318', tls_mode='mtls', tls_min_version='1.2', tls_reload_interval='1m',
            client_ca_file_reload=True, grpc_max_connection_age='5m', grpc_max_connection_age_grace='30s',
            certificate_dir='/etc/otlp-tls/collector', extensions={'health_check': {'endpoint': '127.0.0.1:13133'}},
            processors={'batch': {}}, exporters={'debug': {}},
            pipelines={'traces': {'receivers': ['otlp'], 'exporters': ['debug']}}, telemetry={}, extra_config={})


def settings(**changes):
    return dict(BASE, **changes)


def test_mtls_receivers_and_the_users_sections_in_order():
    config = collector_plan.config(settings())
    assert list(config) == ['receivers', 'extensions', 'processors', 'exporters', 'service']
    grpc, http = config['receivers']['otlp']['protocols']['grpc'], config['receivers']['otlp']['protocols']['http']
    assert grpc['tls'] == http['tls'] == {
        'cert_file': '/etc/otlp-tls/collector/fullchain.pem', 'key_file': '/etc/otlp-tls/collector/key.pem',
        'min_version': '1.2', 'reload_interval': '1m', 'client_ca_file': '/etc/otlp-tls/collector/ca.pem',
        'client_ca_file_reload': True}
    assert grpc['keepalive']['server_parameters'] == {'max_connection_age': '5m', 'max_connection_age_grace': '30s'}
    assert 'keepalive' not in http
    assert config['service'] == {'pipelines': BASE['pipelines'], 'extensions': ['health_check']}


@pytest.mark.parametrize('given, reload', [(True, True), ('true', True), ('yes', True), (False, False),
                                           ('false', False), ('no', False), ('', False), (None, False)])
def test_client_ca_file_reload_reads_strings_as_ansible_does(given, reload):
    """'false' from an INI inventory or -e is false (bool('false') would be true)."""
    tls = collector_plan.config(settings(client_ca_file_reload=given))['receivers']['otlp']['protocols']['grpc']['tls']
    assert tls['client_ca_file_reload'] is reload


def test_tls_none_and_extra_config_merged_recursively():
    config = collector_plan.config(settings(tls_mode='none', http_endpoint='', grpc_max_connection_age='',
                                            extra_config={'service': {'telemetry': {'logs': {'level': 'debug'}}},
                                                          'exporters': {'debug': {'verbosity': 'detailed'}}}))
    assert config['receivers']['otlp']['protocols'] == {'grpc': {'endpoint': '0.0.0.0:4317', 'keepalive': {
        'enforcement_policy': {'min_time': '5s', 'permit_without_stream': True}}}}
    assert config['service']['telemetry'] == {'logs': {'level': 'debug'}} and 'pipelines' in config['service']
    assert config['exporters'] == {'debug': {'verbosity': 'detailed'}}
    tls = collector_plan.config(settings(tls_mode='tls', tls_reload_interval=''))['receivers']['otlp']['protocols']
    assert 'client_ca_file' not in tls['grpc']['tls'] and 'reload_interval' not in tls['grpc']['tls']


@pytest.mark.parametrize('changes, message', [
    (dict(install_method='url', checksum='md5:00'), 'must be "sha256:<64 hex>"'),
    (dict(checksum='sha256:xyz'), 'must be "sha256:<64 hex>"'),
    (dict(file=''), 'otlp_tls_collector_file must name'),
    (dict(grpc_endpoint='', http_endpoint=''), 'set otlp_tls_collector_grpc_endpoint'),
    (dict(grpc_endpoint='0.0.0.0:99999'), 'port up to 65535'),
    (dict(grpc_endpoint='no-port'), 'host:port'),
    (dict(http_endpoint='127.0.0.1:4317'), 'different ports'),
    (dict(pipelines={}), 'pipelines must be a non-empty mapping'),
    (dict(extra_config=[]), 'extra_config must be a mapping'),
    (dict(environment={'1X': 'a'}), 'is not an environment variable name'),
    (dict(secret_environment={'T': 'a\nExecStartPre=/bin/id'}), 'holds a newline'),
    (dict(environment={'T': ['a']}), 'must be a string or a number'),
    (dict(environment={'T': 'a'}, secret_environment={'T': 'b'}), 'keep it in one'),
    (dict(environment='A=b'), 'must be a dict'),
])
def test_problems_name_the_variable_and_fix_never_a_value(changes, message):
    problems = collector_plan.problems(settings(**changes), 'c1')
    assert problems and 'for c1' in problems[0] and message in ' '.join(problems), problems
    assert 'ExecStartPre' not in ' '.join(problems)


def test_good_settings_have_no_problem():
    assert collector_plan.problems(settings(), 'c1') == []
    assert collector_plan.problems(settings(install_method='url', checksum='sha256:' + 'a' * 64), 'c1') == []


def running(pid, active='active'):
    return {'otelcol.service': dict(active_state=active, main_pid=pid)}


def test_squatters_are_told_by_pid_not_by_name():
    listeners = [dict(address='::', port=4317, processes=['otelcol'], pids=[700]),
                 dict(address='0.0.0.0', port=4318, processes=['python3'], pids=[812]),
                 dict(address='::', port=43170, processes=[], pids=[])]
    assert collector_plan.squatters(dict(listeners=listeners, units=running(700)), settings()) == [
        '0.0.0.0:4318 held by python3 PID 812, not the main process of otelcol.service']
    # Any local user may name a process otelcol: a name proves nothing.
    spoof = dict(listeners=[dict(address='0.0.0.0', port=4317, processes=['otelcol'], pids=[4242])])
    assert collector_plan.squatters(dict(spoof, units=running(700)), settings()) == [
        '0.0.0.0:4317 held by otelcol PID 4242, not the main process of otelcol.service']
    assert collector_plan.squatters(spoof, settings()) == [
        '0.0.0.0:4317 held by otelcol PID 4242, not the main process of otelcol.service']
    # The unit's PID counts only while the unit is active.
    assert collector_plan.squatters(dict(spoof, units=running(4242, 'deactivating')), settings()) != []
    assert collector_plan.squatters(dict(spoof, units=running(4242)), settings()) == []
    # The port shared with another process (SO_REUSEPORT): that one is named.
    shared = dict(listeners=[dict(address='::', port=4317, processes=['otelcol', 'nginx'], pids=[700, 900])],
                  units=running(700))
    assert collector_plan.squatters(shared, settings()) == ['[::]:4317 held by nginx PID 900, not the main process '
                                                            'of otelcol.service']


def test_unreadable_holders_are_the_collector_only_on_its_live_ports():
    unnamed = dict(listeners=[dict(address='127.0.0.1', port=4317, processes=[], pids=[])])
    assert collector_plan.squatters(unnamed, settings()) == [
        "127.0.0.1:4317 held by a process the module could not name (another user's)"]
    assert collector_plan.squatters(dict(unnamed, live_ports=[4317]), settings()) == []


def test_squatters_of_junk():
    assert collector_plan.squatters(None, settings()) == []
    assert collector_plan.squatters(dict(listeners=['junk', None], live_ports=['x']), settings()) == []
    odd = dict(listeners=[dict(address='::', port=4317, processes='x', pids=[1, 'y'])], units={'otelcol.service': 'z'})
    assert collector_plan.squatters(odd, settings()) == ['[::]:4317 held by unnamed PID 1, not the main process '
                                                         'of otelcol.service']
    assert collector_plan.squatters(dict(odd, units=running(True)), settings()) != []
    # What a compromised host may register: anything but the shapes the read gives counts as nothing.
    for junk in ('x', ['x'], 7):
        assert collector_plan.squatters(dict(listeners=junk, units=junk, live_ports=junk), settings()) == []
    spoof = dict(listeners=[dict(address='::', port=4317, processes=['x'], pids=[5])], units=['otelcol.service'])
    assert collector_plan.squatters(spoof, settings()) == ['[::]:4317 held by x PID 5, not the main process '
                                                           'of otelcol.service']


def test_a_reloading_collector_keeps_its_port():
    mine = dict(listeners=[dict(address='::', port=4317, processes=['otelcol'], pids=[700])])
    assert collector_plan.squatters(dict(mine, units=running(700, 'reloading')), settings()) == []


def test_unit_lines():
    assert collector_plan.unit_settings(settings(), systemd_environment) == 'CapabilityBoundingSet='
    lines = collector_plan.unit_settings(settings(grpc_endpoint='0.0.0.0:443', environment={'A': 'b c'},
                                                  secret_environment={'TOKEN': 'secret'}), systemd_environment)
    assert 'Environment="A=b c"' in lines and 'EnvironmentFile=/etc/otlp-tls/env/otelcol.service.env' in lines
    assert 'TOKEN' in lines and 'secret' not in lines.replace('Secret', '')
    assert lines.endswith('CapabilityBoundingSet=CAP_NET_BIND_SERVICE')


AGENT = dict(gateway_endpoint='dns:///otlp-gateway.example.internal:4317', grpc_endpoint='127.0.0.1:4317',
             http_endpoint='127.0.0.1:4318',
             pipelines={'traces': {'receivers': ['otlp'], 'exporters': ['debug']},
                        'logs': {'receivers': ['otlp'], 'exporters': ['otlp_grpc/otlp_tls_gateway', 'debug']}})
GATEWAY = dict(backend_endpoint='https://otlp.vendor.example:4318', backend_protocol='http',
               backend_ca_file='/ctl/vendor-ca.pem', backend_token='t0ken-value',
               backend_headers={'x-scope-orgid': 'tenant-7', 'dd-api-key': 'k3y'})


def test_an_agent_exports_every_pipeline_to_its_gateways_with_mtls_and_round_robin():
    config = collector_plan.config(settings(**AGENT))
    gateway = config['exporters']['otlp_grpc/otlp_tls_gateway']
    assert gateway['endpoint'] == 'dns:///otlp-gateway.example.internal:4317'
    assert gateway['balancer_name'] == 'round_robin'
    assert gateway['tls'] == {'ca_file': '/etc/otlp-tls/collector/ca.pem', 'cert_file': '/etc/otlp-tls/collector/fullchain.pem',
                              'key_file': '/etc/otlp-tls/collector/key.pem', 'min_version': '1.2', 'reload_interval': '1m'}
    assert gateway['sending_queue']['block_on_overflow'] is True and gateway['retry_on_failure']['enabled'] is True
    assert gateway['keepalive']['time'] == '10s'
    pipelines = config['service']['pipelines']
    assert pipelines['traces']['exporters'] == ['debug', 'otlp_grpc/otlp_tls_gateway']
    # A pipeline that names it keeps its place; the user's own dict is not changed.
    assert pipelines['logs']['exporters'] == ['otlp_grpc/otlp_tls_gateway', 'debug']
    assert AGENT['pipelines']['traces']['exporters'] == ['debug']
    assert config['exporters']['debug'] == {}


def test_the_gateway_exporter_takes_a_server_name_and_overrides():
    config = collector_plan.config(settings(gateway_server_name='gw.internal', tls_reload_interval='',
                                            gateway_exporter={'sending_queue': {'queue_size': 100}}, **AGENT))
    gateway = config['exporters']['otlp_grpc/otlp_tls_gateway']
    assert gateway['tls']['server_name_override'] == 'gw.internal' and 'reload_interval' not in gateway['tls']
    assert gateway['sending_queue'] == {'enabled': True, 'num_consumers': 4, 'queue_size': 100, 'block_on_overflow': True}
    assert collector_plan.gateway_name(settings(gateway_server_name='gw.internal', **AGENT)) == 'gw.internal'
    assert collector_plan.gateway_name(settings(**AGENT)) == 'otlp-gateway.example.internal'
    assert collector_plan.gateway_name(settings(gateway_endpoint='GW1:4317')) == 'gw1'
    assert collector_plan.gateway_name(settings()) == ''


def test_a_gateway_exports_to_the_backend_with_env_references_never_values():
    config = collector_plan.config(settings(**GATEWAY))
    backend = config['exporters']['otlp_http/otlp_tls_backend']
    assert backend['endpoint'] == 'https://otlp.vendor.example:4318'
    assert backend['tls'] == {'min_version': '1.2', 'ca_file': '/etc/otlp-tls/collector/backend-ca.pem'}
    assert backend['headers'] == {'authorization': 'Bearer ${env:OTLP_TLS_BACKEND_TOKEN}',
                                  'dd-api-key': '${env:OTLP_TLS_BACKEND_HEADER_DD_API_KEY}',
                                  'x-scope-orgid': '${env:OTLP_TLS_BACKEND_HEADER_X_SCOPE_ORGID}'}
    assert config['service']['pipelines']['traces']['exporters'] == ['debug', 'otlp_http/otlp_tls_backend']
    text = repr(config)
    assert 't0ken-value' not in text and 'k3y' not in text and 'tenant-7' not in text
    assert collector_plan.secret_environment(settings(secret_environment={'MINE': 'x'}, **GATEWAY)) == {
        'MINE': 'x', 'OTLP_TLS_BACKEND_TOKEN': 't0ken-value', 'OTLP_TLS_BACKEND_HEADER_DD_API_KEY': 'k3y',
        'OTLP_TLS_BACKEND_HEADER_X_SCOPE_ORGID': 'tenant-7'}
    lines = collector_plan.unit_settings(settings(**GATEWAY), systemd_environment)
    assert 'OTLP_TLS_BACKEND_TOKEN' in lines and 'EnvironmentFile=' in lines and 't0ken-value' not in lines


def test_a_grpc_backend_with_its_own_client_certificate_and_no_token():
    config = collector_plan.config(settings(backend_endpoint='otlp.vendor.example:443', backend_protocol='grpc',
                                            backend_client_cert_file='/etc/vendor/client.pem',
                                            backend_client_key_file='/etc/vendor/client.key'))
    backend = config['exporters']['otlp_grpc/otlp_tls_backend']
    assert backend['tls'] == {'min_version': '1.2', 'cert_file': '/etc/vendor/client.pem',
                              'key_file': '/etc/vendor/client.key', 'reload_interval': '1m'}
    assert 'headers' not in backend
    assert collector_plan.secret_environment(settings(backend_endpoint='b:443')) == {}


@pytest.mark.parametrize('changes, message', [
    (dict(gateway_endpoint='https://gw:4317'), 'host:port or dns:///host:port'),
    (dict(gateway_endpoint='dns:///gw:70000'), 'host:port or dns:///host:port'),
    (dict(gateway_endpoint='dns:///localhost:4317'), 'points at this host'),
    (dict(backend_endpoint='http://vendor:4318', backend_protocol='http'), 'plain http://'),
    (dict(backend_endpoint='vendor:4318', backend_protocol='http'), 'must be an https:// URL'),
    (dict(backend_endpoint='https://vendor:4317/v1', backend_protocol='grpc'), 'host:port without a path'),
    (dict(backend_endpoint='vendor', backend_protocol='grpc'), 'host:port without a path'),
    (dict(backend_endpoint='vendor:4317', backend_protocol='thrift'), 'grpc or http'),
    (dict(backend_endpoint='vendor:4317', backend_token='a\nb'), 'backend_token holds a newline'),
    (dict(backend_endpoint='vendor:4317', backend_headers={'bad name': 'x'}), 'is not an HTTP header name'),
    (dict(backend_endpoint='vendor:4317', backend_headers={'x-key': 'a\rb'}), 'must be one line'),
    (dict(backend_endpoint='vendor:4317', backend_token='t', backend_headers={'Authorization': 'x'}), 'give one of'),
    (dict(backend_endpoint='vendor:4317', backend_client_cert_file='/c.pem'), 'go together'),
    (dict(backend_endpoint='vendor:4317', backend_client_cert_file='c.pem', backend_client_key_file='k.pem'),
     'absolute path'),
    (dict(secret_environment={'OTLP_TLS_BACKEND_TOKEN': 'x'}), "role's own"),
    (dict(backend_endpoint='vendor:4317', backend_headers={'X-Key': 'a', 'x_key': 'b'}), 'differ only in case'),
    (dict(backend_endpoint='vendor:4317', backend_ca_file='files/vendor.pem'), 'absolute path on the controller'),
    (dict(backend_endpoint='vendor:4317', backend_exporter={'endpoint': 'http://vendor:4318'}), 'may not set endpoint'),
    (dict(backend_endpoint='vendor:4317', backend_exporter={'tls': {'insecure': True}}), 'may not set tls.insecure'),
    (dict(gateway_endpoint='gw:4317', gateway_exporter={'headers': {}, 'tls': {'insecure_skip_verify': True}}),
     'may not set headers, tls.insecure_skip_verify'),
])
def test_hop_problems_name_the_variable_and_the_fix(changes, message):
    problems = collector_plan.problems(settings(**changes), 'c1')
    assert problems and message in ' '.join(problems), problems
    assert 'a\nb' not in ' '.join(problems)


def test_good_hop_settings_have_no_problem():
    assert collector_plan.problems(settings(**AGENT), 'a1') == []
    assert collector_plan.problems(settings(**GATEWAY), 'g1') == []
    assert collector_plan.problems(settings(gateway_endpoint='10.0.0.5:4317'), 'a1') == []
    assert collector_plan.problems(settings(backend_endpoint='[2001:db8::1]:4317'), 'g1') == []


def cert(*names, **more):
    dns = [n for n in names if not n[0].isdigit()]
    return dict(dict(dns_names=dns, ip_addresses=[n for n in names if n[0].isdigit()], problems=[],
                     subject='the certificate on gw'), **more)


def test_the_agent_stops_only_when_no_gateway_can_serve_it():
    good = {'names': {'gw1': 'gw1', 'gw2': 'gw2'}, 'group': 'otlp_collectors',
            'certificates': {'gw1': cert('gw1', 'otlp-gateway.example.internal'),
                             'gw2': cert('gw2', 'otlp-gateway.example.internal')}}
    check = collector_plan.gateway_check
    assert check(good, settings(**AGENT), 'a1') == {'problems': [], 'warnings': []}
    # One gateway without the name, unreadable, or with a problem of its own (a hostile one may say anything):
    # a warning, not a stop.
    for bad in (cert('gw2'), {'error': 'unreachable'}, cert('otlp-gateway.example.internal', problems=['bogus'])):
        found = check(dict(good, certificates=dict(good['certificates'], gw2=bad)), settings(**AGENT), 'a1')
        assert found['problems'] == [] and len(found['warnings']) == 1 and 'gw2' in found['warnings'][0], found
    # No gateway carries it (the usual mistake: the name is not in the group's endpoint names): a stop.
    none = dict(good, certificates={'gw1': cert('gw1'), 'gw2': cert('gw2')})
    found = check(none, settings(**AGENT), 'a1')
    assert len(found['problems']) == 1 and 'do not cover otlp-gateway.example.internal' in found['problems'][0]
    assert "to every gateway's otlp_tls_collector_endpoint_names" in found['problems'][0]
    missing = dict(good, certificates={'gw1': dict(cert('gw1'), exists=False), 'gw2': dict(cert('gw2'), exists=False)})
    assert 'no certificate yet' in check(missing, settings(**AGENT), 'a1')['problems'][0]
    assert check(missing, settings(**AGENT), 'a1', check_mode=True)['problems'] == []
    problems = check(dict(good, certificates={'gw1': {'error': 'unreachable'}}), settings(**AGENT), 'a1')['problems']
    assert 'gw1 could not be read: unreachable' in problems[0] and 'gw2 was not read' in problems[0]
    assert 'has no hosts' in check({'names': {}, 'group': 'gws'}, settings(**AGENT), 'a1')['problems'][0]


# --- certificate metrics (issue 17) ---

CERT_AGENT = {'cert_metrics': True, 'cert_metrics_interval': '10s', 'renew_before_days': '30', 'host': 'app1',
              'gateway_endpoint': 'dns:///otlp-gateway:4317', 'tls_mode': 'mtls',
              'cert_apps': [{'unit': 'checkout.service', 'language': 'go'}, {'unit': 'payments', 'language': 'python'}],
              'cert_exporter_settings': {'tls_mode': 'mtls', 'certificate_scope': 'unit'}}


def cert_settings(**changes):
    """The settings of an agent with certificate metrics, with ``changes``."""
    out = dict(BASE)
    out.update(CERT_AGENT)
    out.update(changes)
    return out


def cert_plan(files=None, **changes):
    merged = cert_settings(**changes)
    return collector_plan.cert_targets(merged, merged['host'], files or {}, merged.get('cert_apps'),
                                       merged.get('cert_exporter_settings'))


def test_cert_metrics_off_reports_nothing():
    assert cert_plan(cert_metrics=False) == {'targets': [], 'pending': []}
    assert cert_plan(cert_metrics='false') == {'targets': [], 'pending': []}
    assert 'tls_check/otlp_tls_cert_collector' not in collector_plan.config(settings())['receivers']


def test_an_agent_reports_its_certificate_the_ca_slots_and_the_apps_certificates_that_are_there():
    plan = cert_plan({'/etc/otlp-tls/checkout/cert.pem': {'exists': True}, '/etc/otlp-tls/payments/cert.pem': {}})
    assert [(t['entry'], t['role'], t['path'], t['renew_before']) for t in plan['targets']] == [
        ('collector', 'agent', '/etc/otlp-tls/collector/cert.pem', '30d'),
        ('ca-0', 'ca', '/etc/otlp-tls/collector/ca-0.pem', ''),
        ('ca-1', 'ca', '/etc/otlp-tls/collector/ca-1.pem', ''),
        ('checkout', 'app', '/etc/otlp-tls/collector/apps/checkout.pem', '30d')]
    assert plan['targets'][-1]['source'] == '/etc/otlp-tls/checkout/cert.pem', 'a copy of the app\'s certificate'
    assert [t['entry'] for t in plan['pending']] == ['payments'], 'not there yet: for site.yml\'s last play'
    assert collector_plan.cert_paths(plan) == [
        '/etc/otlp-tls/collector/cert.pem', '/etc/otlp-tls/collector/ca-0.pem', '/etc/otlp-tls/collector/ca-1.pem',
        '/etc/otlp-tls/collector/apps/checkout.pem', '/etc/otlp-tls/checkout/cert.pem',
        '/etc/otlp-tls/collector/apps/payments.pem', '/etc/otlp-tls/payments/cert.pem', '/etc/otlp-tls/collector/apps']


def test_the_copies_of_the_apps_certificates_follow_them():
    plan = cert_plan({'/etc/otlp-tls/checkout/cert.pem': {'exists': True}, '/etc/otlp-tls/payments/cert.pem': {
        'exists': True}})
    good = {'exists': True, 'kind': 'file', 'owner': 'root', 'group': 'otelcol', 'mode': '0644', 'sha256': 'a'}
    files = {'/etc/otlp-tls/checkout/cert.pem': {'exists': True, 'sha256': 'a'},
             '/etc/otlp-tls/payments/cert.pem': {'exists': True, 'sha256': 'b'},
             '/etc/otlp-tls/collector/apps/checkout.pem': good,
             '/etc/otlp-tls/collector/apps/payments.pem': dict(good, sha256='old')}
    assert collector_plan.cert_copies(plan['targets'], files, 'otelcol') == [
        {'src': '/etc/otlp-tls/payments/cert.pem', 'dest': '/etc/otlp-tls/collector/apps/payments.pem'}]
    files['/etc/otlp-tls/collector/apps/payments.pem'] = dict(good, sha256='b', mode='0666')
    assert [c['dest'] for c in collector_plan.cert_copies(plan['targets'], files, 'otelcol')] == [
        '/etc/otlp-tls/collector/apps/payments.pem']
    files['/etc/otlp-tls/collector/apps/payments.pem'] = dict(good, sha256='b')
    assert collector_plan.cert_copies(plan['targets'], files, 'otelcol') == []
    del files['/etc/otlp-tls/collector/apps/checkout.pem']
    assert [c['dest'] for c in collector_plan.cert_copies(plan['targets'], files, 'otelcol')] == [
        '/etc/otlp-tls/collector/apps/checkout.pem']


def test_app_certificates_follow_the_exporter_roles_names_and_modes():
    host_scope = cert_plan({'/etc/otlp-tls/app/cert.pem': {'exists': True}},
                           cert_exporter_settings={'tls_mode': 'mtls', 'certificate_scope': 'host'})
    assert [t['entry'] for t in host_scope['targets'] if t['role'] == 'app'] == ['app']
    assert [t for t in cert_plan(cert_exporter_settings={'tls_mode': 'tls'})['targets'] if t['role'] == 'app'] == []
    assert cert_plan(cert_exporter_settings={'tls_mode': 'tls'})['pending'] == [], 'server TLS only: no client cert'


def test_a_gateway_reports_the_backends_ca_and_a_plain_collector_its_role():
    gateway = cert_plan(gateway_endpoint='', backend_endpoint='backend:4317', backend_ca_file='/ctl/vendor.crt',
                        cert_apps=[])
    assert [(t['entry'], t['role']) for t in gateway['targets']] == [
        ('collector', 'gateway'), ('ca-0', 'ca'), ('ca-1', 'ca'), ('backend-ca', 'ca')]
    assert cert_plan(gateway_endpoint='', cert_apps=[])['targets'][0]['role'] == 'collector'
    backend = cert_plan(gateway_endpoint='', tls_mode='none', cert_apps=[])
    assert backend['targets'] == [], 'no certificate of the fleet on a plain-text collector'


def test_each_certificate_gets_its_receiver_resource_attributes_and_pipeline_to_the_next_hop():
    merged = cert_settings()
    targets = cert_plan({'/etc/otlp-tls/checkout/cert.pem': {'exists': True}})['targets']
    config = collector_plan.config(dict(merged, cert_targets=targets))
    receiver = config['receivers']['tls_check/otlp_tls_cert_checkout']
    assert receiver == {'collection_interval': '10s',
                        'targets': [{'file_path': '/etc/otlp-tls/collector/apps/checkout.pem'}]}
    attributes = config['processors']['resource/otlp_tls_cert_checkout']['attributes']
    assert dict((a['key'], a['value']) for a in attributes) == {
        'otlp_tls.host': 'app1', 'otlp_tls.entry': 'checkout', 'otlp_tls.role': 'app', 'otlp_tls.renew_before': '30d'}
    ca = dict((a['key'], a['value']) for a in config['processors']['resource/otlp_tls_cert_ca-1']['attributes'])
    assert 'otlp_tls.renew_before' not in ca and ca['otlp_tls.role'] == 'ca'
    pipes = config['service']['pipelines']
    assert pipes['metrics/otlp_tls_cert_checkout'] == {
        'receivers': ['tls_check/otlp_tls_cert_checkout'], 'processors': ['resource/otlp_tls_cert_checkout'],
        'exporters': [collector_plan.GATEWAY_EXPORTER]}
    assert len([p for p in pipes if p.startswith('metrics/otlp_tls_cert_')]) == 4
    assert pipes[collector_plan.CERT_FORWARD] == {'receivers': ['otlp'], 'exporters': [collector_plan.GATEWAY_EXPORTER]}
    assert config['processors']['batch'] == {}, 'the user\'s processors stay'


def test_no_forwarding_pipeline_when_the_user_has_a_metrics_pipeline_and_none_without_a_hop():
    merged = cert_settings(pipelines={'metrics': {'receivers': ['otlp'], 'exporters': ['debug']}})
    config = collector_plan.config(dict(merged, cert_targets=cert_plan()['targets']))
    assert collector_plan.CERT_FORWARD not in config['service']['pipelines']
    one_tier = cert_settings(gateway_endpoint='', cert_apps=[],
                             pipelines={'metrics': {'receivers': ['otlp'], 'exporters': ['debug']}})
    config = collector_plan.config(dict(one_tier, cert_targets=cert_plan(gateway_endpoint='', cert_apps=[])['targets']))
    assert config['service']['pipelines']['metrics/otlp_tls_cert_collector']['exporters'] == ['debug']
    assert collector_plan.CERT_FORWARD not in config['service']['pipelines']


def test_cert_metrics_with_nowhere_to_send_or_a_unit_name_that_can_not_name_a_component_are_refused():
    nowhere = cert_settings(gateway_endpoint='', cert_apps=[])
    assert any('nowhere to send' in p for p in collector_plan.problems(nowhere, 'app1'))
    bad = cert_settings(cert_apps=[{'unit': 'my app', 'language': 'go'}])
    assert any('my app' in p and 'otlp_tls_exporter_apps' in p for p in collector_plan.problems(bad, 'app1'))
    assert not [p for p in collector_plan.problems(cert_settings(), 'app1') if 'cert' in p]


CA1 = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'
CA2 = '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----'


def test_ca_slots_hold_each_ca_of_an_overlap_bundle_and_the_first_twice_otherwise():
    assert collector_plan.ca_slots(CA1 + '\n' + CA2 + '\n') == [CA1 + '\n', CA2 + '\n']
    assert collector_plan.ca_slots(CA1 + '\n') == [CA1 + '\n', CA1 + '\n']
    assert collector_plan.ca_slots('') == [] and collector_plan.ca_slots(None) == []


CORE_LISTING = """buildinfo:
    command: otelcol
    description: OpenTelemetry Collector
    version: 0.165.0
receivers:
    - name: otlp
      module: go.opentelemetry.io/collector/receiver/otlpreceiver v0.165.0
      stability:
        logs: Stable
processors:
    - name: batch
      module: go.opentelemetry.io/collector/processor/batchprocessor v0.165.0
"""


def test_the_filter_reads_otelcol_components_output():
    from ansible_collections.otlp.tls.plugins.filter.plan import collector_missing_components
    assert collector_missing_components(CORE_LISTING) == ['receiver tls_check', 'processor resource']
    renamed = CORE_LISTING.replace('name: otlp', 'name: tlscheck').replace('name: batch', 'name: resource')
    assert collector_missing_components(renamed) == [], 'the old name tlscheck counts'
    assert collector_missing_components(CORE_LISTING, ['receivers/otlp']) == []
    assert collector_missing_components('') == ['receiver tls_check', 'processor resource']
    # The test build's own listing (tests/collector/build.sh writes it beside the binary) has both.
    binary = os.environ.get('OTLP_TLS_COLLECTOR_BIN')
    if binary and os.path.exists(os.path.join(os.path.dirname(binary), 'components.yaml')):
        with open(os.path.join(os.path.dirname(binary), 'components.yaml')) as handle:
            assert collector_missing_components(handle.read()) == []
    with pytest.raises(Exception, match='as text'):
        collector_missing_components({'receivers': []})
