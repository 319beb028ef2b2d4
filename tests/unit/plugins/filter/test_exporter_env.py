# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The exporter environment for every language x protocol x TLS mode, against the exact expected variables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.otlp.tls.plugins.filter.exporter_env import (
    SECRET_VARIABLES, exporter_dropins, exporter_env, systemd_environment, systemd_environment_file)

COLLECTOR = {'host': 'collector1', 'grpc_port': 4317, 'http_port': 4318}
FILES = {'ca_file': '/etc/otlp-tls/app/ca.pem', 'cert_file': '/etc/otlp-tls/app/cert.pem',
         'key_file': '/etc/otlp-tls/app/key.pem'}
MTLS = dict(FILES, mode='mtls')
TLS = dict(FILES, mode='tls')
PLAIN = dict(FILES, mode='none')

ALL_ON = {'OTEL_TRACES_EXPORTER': 'otlp', 'OTEL_METRICS_EXPORTER': 'otlp', 'OTEL_LOGS_EXPORTER': 'otlp'}
CLIENT = {'OTEL_EXPORTER_OTLP_CERTIFICATE': FILES['ca_file'],
          'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE': FILES['cert_file'],
          'OTEL_EXPORTER_OTLP_CLIENT_KEY': FILES['key_file']}


def expected(protocol, mode, language='go', **extra):
    env = {'OTEL_EXPORTER_OTLP_PROTOCOL': protocol, 'OTEL_SERVICE_NAME': 'svc'}
    env.update(ALL_ON)
    if language == 'python':
        env['OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED'] = 'true'
    port = 4317 if protocol == 'grpc' else 4318
    env['OTEL_EXPORTER_OTLP_ENDPOINT'] = '%s://collector1:%d' % ('http' if mode == 'none' else 'https', port)
    if mode != 'none':
        env['OTEL_EXPORTER_OTLP_CERTIFICATE'] = FILES['ca_file']
    if mode == 'mtls':
        env.update(CLIENT)
    env.update(extra)
    return env


CASES = [(language, protocol, mode)
         for language in ('python', 'go', 'java', 'nodejs', 'dotnet')
         for protocol in ('grpc', 'http/protobuf')
         for mode in ('mtls', 'tls', 'none')
         if not (language == 'dotnet' and protocol == 'http/protobuf' and mode != 'none')]


@pytest.mark.parametrize('language,protocol,mode', CASES)
def test_every_language_protocol_and_mode(language, protocol, mode):
    tls = {'mtls': MTLS, 'tls': TLS, 'none': PLAIN}[mode]
    env = exporter_env({'language': language, 'protocol': protocol, 'service_name': 'svc'}, COLLECTOR, tls)
    assert env == expected(protocol, mode, language)
    # Never INSECURE, never a path on the generic endpoint, never TLS variables beside http://.
    assert not any('INSECURE' in key for key in env)
    assert env['OTEL_EXPORTER_OTLP_ENDPOINT'].count('/') == 2
    if env['OTEL_EXPORTER_OTLP_ENDPOINT'].startswith('http://'):
        assert not any(key.endswith(('CERTIFICATE', 'CLIENT_KEY')) for key in env)


def test_timeout_is_seconds_for_python_and_milliseconds_elsewhere():
    app = {'protocol': 'grpc', 'service_name': 'svc', 'timeout': 2500}
    assert exporter_env(dict(app, language='python'), COLLECTOR, MTLS)['OTEL_EXPORTER_OTLP_TIMEOUT'] == '3'
    for language in ('go', 'java', 'nodejs', 'dotnet'):
        assert exporter_env(dict(app, language=language), COLLECTOR, MTLS)['OTEL_EXPORTER_OTLP_TIMEOUT'] == '2500'


def test_compression_none_is_never_written():
    app = {'language': 'python', 'protocol': 'grpc', 'service_name': 'svc'}
    assert 'OTEL_EXPORTER_OTLP_COMPRESSION' not in exporter_env(dict(app, compression='none'), COLLECTOR, MTLS)
    assert exporter_env(dict(app, compression='gzip'), COLLECTOR, MTLS)['OTEL_EXPORTER_OTLP_COMPRESSION'] == 'gzip'


def test_per_signal_http_endpoints_carry_the_path_and_their_own_tls_level():
    env = exporter_env({'language': 'python', 'protocol': 'http/protobuf', 'service_name': 'svc',
                        'signals': ['traces', 'logs'], 'endpoint_mode': 'per_signal'}, COLLECTOR, MTLS)
    assert env == {
        'OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED': 'true',
        'OTEL_EXPORTER_OTLP_PROTOCOL': 'http/protobuf', 'OTEL_SERVICE_NAME': 'svc',
        'OTEL_TRACES_EXPORTER': 'otlp', 'OTEL_METRICS_EXPORTER': 'none', 'OTEL_LOGS_EXPORTER': 'otlp',
        'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT': 'https://collector1:4318/v1/traces',
        'OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE': FILES['ca_file'],
        'OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE': FILES['cert_file'],
        'OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY': FILES['key_file'],
        'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT': 'https://collector1:4318/v1/logs',
        'OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE': FILES['ca_file'],
        'OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE': FILES['cert_file'],
        'OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY': FILES['key_file'],
    }


def test_per_signal_grpc_endpoints_have_no_path():
    env = exporter_env({'language': 'java', 'protocol': 'grpc', 'service_name': 'svc', 'signals': ['metrics'],
                        'endpoint_mode': 'per_signal'}, COLLECTOR, MTLS)
    assert env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] == 'https://collector1:4317'


def test_headers_and_resource_attributes_are_percent_encoded():
    env = exporter_env({'language': 'go', 'protocol': 'grpc', 'service_name': 'svc',
                        'headers': {'authorization': 'Bearer a+b=c;d'},
                        'resource_attributes': {'deployment.environment': 'prod eu', 'team': 'sre'}}, COLLECTOR, MTLS)
    # + would become a space in Java, ; would cut the value in Node: both encoded.
    assert env['OTEL_EXPORTER_OTLP_HEADERS'] == 'authorization=Bearer%20a%2Bb%3Dc%3Bd'
    assert env['OTEL_RESOURCE_ATTRIBUTES'] == 'deployment.environment=prod%20eu,team=sre'


@pytest.mark.parametrize('app,message', [
    ({'language': 'ruby', 'protocol': 'grpc'}, 'unknown SDK language'),
    ({'language': 'go', 'protocol': 'http/json'}, 'unknown protocol'),
    ({'language': 'go', 'protocol': 'grpc', 'signals': ['profiles']}, 'signals must be'),
    ({'language': 'go', 'protocol': 'grpc', 'compression': 'zstd'}, 'compression must be gzip or none'),
    ({'language': 'go', 'protocol': 'grpc', 'timeout': -5}, 'milliseconds and must be positive'),
    ({'language': 'go', 'protocol': 'grpc', 'headers': {'a,b': 'x'}}, 'header key'),
    ({'language': 'java', 'protocol': 'grpc', 'headers': {'x-list': 'a,b'}}, 'holds a comma'),
    ({'language': 'dotnet', 'protocol': 'http/protobuf'}, 'use protocol grpc for .NET'),
    ({'language': 'dotnet', 'protocol': 'grpc', 'endpoint_mode': 'per_signal'}, 'use endpoint_mode generic'),
])
def test_bad_input_names_the_problem(app, message):
    with pytest.raises(Exception, match=message):
        exporter_env(app, COLLECTOR, MTLS)


@pytest.mark.parametrize('host,message', [
    ('https://collector1', 'without scheme or path'),
    ('collector1/v1', 'without scheme or path'),
    ('fd00::1', 'in brackets'),
])
def test_collector_host_must_be_bare(host, message):
    with pytest.raises(Exception, match=message):
        exporter_env({'language': 'go', 'protocol': 'grpc'}, dict(COLLECTOR, host=host), MTLS)


def test_ipv6_in_brackets_works():
    env = exporter_env({'language': 'go', 'protocol': 'grpc'}, dict(COLLECTOR, host='[fd00::1]'), MTLS)
    assert env['OTEL_EXPORTER_OTLP_ENDPOINT'] == 'https://[fd00::1]:4317'


def test_systemd_environment_quotes_for_systemd():
    assert systemd_environment({'B': 'x y', 'A': 'say "hi" 100% C:\\dir'}) == (
        'Environment="A=say \\"hi\\" 100%% C:\\\\dir"\nEnvironment="B=x y"')


def test_dotnet_http_without_tls_is_allowed():
    env = exporter_env({'language': 'dotnet', 'protocol': 'http/protobuf', 'service_name': 'svc'}, COLLECTOR, PLAIN)
    assert env == expected('http/protobuf', 'none', 'dotnet')


def test_control_characters_are_refused():
    with pytest.raises(Exception, match='control character'):
        exporter_env({'language': 'go', 'protocol': 'grpc', 'service_name': 'svc\nExecStartPre=/bin/sh'},
                     COLLECTOR, MTLS)
    with pytest.raises(Exception, match='control character'):
        systemd_environment({'A': 'x\ny'})


def test_exporter_dropins_one_service_section_per_unit():
    plan = [{'unit': 'a.service', 'language': 'go',
             'env': {'OTEL_EXPORTER_OTLP_PROTOCOL': 'grpc', 'OTEL_EXPORTER_OTLP_ENDPOINT': 'https://c:4317'}}]
    assert exporter_dropins(plan) == [{
        'unit': 'a.service',
        'content': '# Managed by Ansible (otlp.tls.exporter): changes made here are overwritten.\n'
                   '# OpenTelemetry exporter for a grpc go SDK, by otlp.tls.exporter.\n'
                   '[Service]\n'
                   'Environment="OTEL_EXPORTER_OTLP_ENDPOINT=https://c:4317"\n'
                   'Environment="OTEL_EXPORTER_OTLP_PROTOCOL=grpc"\n'}]
    with pytest.raises(Exception, match='has no env'):
        exporter_dropins([{'unit': 'a.service', 'language': 'go'}])


# --- secrets: headers out of the drop-in and the plan ------------------------------

SECRET = 'Bearer s3cr3t-7f2c'
APP = {'unit': 'billing', 'language': 'java', 'protocol': 'grpc', 'service_name': 'svc',
       'headers': {'authorization': SECRET, 'x-tenant': 'blue'}}


def test_secrets_split_the_headers_from_the_rest():
    every = exporter_env(APP, COLLECTOR, MTLS)
    public = exporter_env(APP, COLLECTOR, MTLS, secrets='exclude')
    secret = exporter_env(APP, COLLECTOR, MTLS, secrets='only')
    assert secret == {'OTEL_EXPORTER_OTLP_HEADERS': 'authorization=Bearer%20s3cr3t-7f2c,x-tenant=blue'}
    assert public == expected('grpc', 'mtls', 'java')
    assert dict(public, **secret) == every
    assert 's3cr3t' not in repr(public)
    with pytest.raises(Exception, match='secrets must be include, exclude or only'):
        exporter_env(APP, COLLECTOR, MTLS, secrets='some')


def test_a_bad_header_is_refused_even_when_excluded_and_its_value_is_not_quoted():
    app = dict(APP, headers={'x-list': 'v4lue-a,v4lue-b'})
    with pytest.raises(Exception) as error:
        exporter_env(app, COLLECTOR, MTLS, secrets='exclude')
    assert 'x-list holds a comma' in str(error.value) and 'v4lue' not in str(error.value)


def plan_entry(app, **extra):
    entry = {'unit': app['unit'] + '.service', 'language': app['language'], 'group': 'billing',
             'env': exporter_env(app, COLLECTOR, MTLS, secrets='exclude'),
             'header_names': sorted(app.get('headers') or {})}
    entry.update(extra)
    return entry


def test_exporter_dropins_put_the_headers_in_the_secret_environment_only():
    plain = {'unit': 'web', 'language': 'go', 'protocol': 'grpc'}
    dropins = exporter_dropins([plan_entry(APP), plan_entry(plain)], [APP, dict(plain, unit='web.service')])
    assert dropins[0]['secret_environment'] == {
        'OTEL_EXPORTER_OTLP_HEADERS': 'authorization=Bearer%20s3cr3t-7f2c,x-tenant=blue'}
    assert dropins[0]['secret_group'] == 'billing'
    assert 's3cr3t' not in dropins[0]['content'] and 'HEADERS' not in dropins[0]['content']
    assert dropins[1]['secret_environment'] == {}


@pytest.mark.parametrize('entry, apps, message', [
    (plan_entry(APP), None, 'whose values are not in the plan: pass the apps'),
    (plan_entry(APP), [dict(APP, headers={'other': 'x'})], 'are not the ones the plan was made with'),
    (plan_entry(APP), [dict(APP, unit='elsewhere')], 'is in the plan but not in the apps given'),
    (plan_entry(APP, env=exporter_env(APP, COLLECTOR, MTLS)), [APP], 'a secret that must not go into'),
])
def test_exporter_dropins_refuse_a_plan_that_would_leak_or_lose_headers(entry, apps, message):
    with pytest.raises(Exception) as error:
        exporter_dropins([entry], apps)
    assert message in str(error.value) and 's3cr3t' not in str(error.value)


def test_every_header_variable_is_secret():
    assert set(SECRET_VARIABLES) == {'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
                                     'OTEL_EXPORTER_OTLP_METRICS_HEADERS', 'OTEL_EXPORTER_OTLP_LOGS_HEADERS'}


# --- Environment= lines (the collector's unit) read back by systemd's rules ---------

def read_environment_line(line):
    """Environment= as systemd reads it: specifiers first (%% is %), then one C-unescaped word in double quotes."""
    assert line.startswith('Environment="') and line.endswith('"')
    text = line[len('Environment='):]
    unspecified, i = [], 0
    while i < len(text):
        if text[i] == '%':
            assert text[i + 1] == '%', 'an unescaped specifier %' + text[i + 1]
            unspecified.append('%')
            i += 2
        else:
            unspecified.append(text[i])
            i += 1
    text = ''.join(unspecified)
    word, i = [], 1
    while i < len(text) - 1:
        if text[i] == '\\':
            assert text[i + 1] in '\\"', 'an escape systemd would turn into something else: \\' + text[i + 1]
            word.append(text[i + 1])
            i += 2
        else:
            assert text[i] != '"', 'an unescaped quote ends the word early'
            word.append(text[i])
            i += 1
    return tuple(''.join(word).split('=', 1))


TRICKY = ['plain', '', ' spaces  inside ', 'say "hi"', "it's", 'back\\slash', 'end\\', '100% %h %n %%',
          '$HOME ${USER} $(id) `id`', 'a=b=c', '#hash', ';semicolon', 'unicode \u00e9\u4e2d', '\\n literal']


@pytest.mark.parametrize('value', TRICKY)
def test_environment_lines_round_trip(value):
    lines = systemd_environment({'A_1': value, 'B': 'x'}).split('\n')
    assert [read_environment_line(line) for line in lines] == [('A_1', value), ('B', 'x')]


@pytest.mark.parametrize('env, message', [
    ({'TOKEN': 'x"\nExecStartPre=/bin/sh -c id'}, 'the value of TOKEN holds a newline or another control character'),
    ({'TOKEN': 'bell\x07'}, 'the value of TOKEN holds a newline'),
    ({'TOKEN': 'del\x7f'}, 'the value of TOKEN holds a newline'),
    ({'bad name': 'x'}, "'bad name' is not an environment variable name"),
    ({'A': {'nested': 'x'}}, 'the value of A must be a string or a number'),
])
@pytest.mark.parametrize('render', [systemd_environment, systemd_environment_file])
def test_newlines_control_characters_and_bad_names_are_refused_naming_the_variable(render, env, message):
    with pytest.raises(Exception) as error:
        render(env)
    assert message in str(error.value)
    assert 'ExecStartPre' not in str(error.value) and 'bell' not in str(error.value)


def test_environment_file_is_sorted_under_a_header():
    text = systemd_environment_file({'B': 'two', 'A': 'one $x'})
    assert text.splitlines()[2:] == ['A="one \\$x"', 'B="two"']
    assert all(line.startswith('#') for line in text.splitlines()[:2])
