# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collector's plan: config.yaml, the checks of its settings, the programs on its ports, the unit's lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
    assert config['receivers']['otlp']['protocols'] == {'grpc': {'endpoint': '0.0.0.0:4317'}}
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
