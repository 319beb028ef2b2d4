# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: exporter_env.yml, exporter_dropins.yml and systemd_environment.yml beside this file
# (one file per filter, so that ansible-doc shows each filter's own).

import math

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

from ansible_collections.otlp.tls.plugins.module_utils.systemd_env import (
    environment_file_content, environment_line, environment_problems, has_control,
)

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - the filter is also imported by plain unit tests
    AnsibleFilterError = ValueError

LANGUAGES = ('python', 'go', 'java', 'nodejs', 'dotnet')
PROTOCOLS = ('grpc', 'http/protobuf')
SIGNALS = ('traces', 'metrics', 'logs')
TLS_MODES = ('none', 'tls', 'mtls')

# Combinations an SDK can not do, with the reason and what to choose instead (checked
# against the SDK sources, Aug 2026).
_DOTNET_HTTP = ('the .NET auto-instrumentation (1.16) replaces the HTTP client for http/protobuf and ignores '
                'OTEL_EXPORTER_OTLP_CERTIFICATE and the client certificate variables: use protocol grpc for .NET')
BROKEN = {
    ('dotnet', 'http/protobuf', 'tls'): _DOTNET_HTTP,
    ('dotnet', 'http/protobuf', 'mtls'): _DOTNET_HTTP,
}


def _encode(mapping, what):
    """key=value pairs joined by commas, values percent-encoded as the OTel spec asks."""
    pairs = []
    for key in sorted(mapping or {}):
        if not key or any(c in key for c in ',= '):
            raise AnsibleFilterError('%s key %r may not be empty or hold commas, equals signs or spaces' % (what, key))
        pairs.append('%s=%s' % (key, quote(str(mapping[key]), safe='')))
    return ','.join(pairs)


# Variables whose values are secrets (API keys, tokens): they never go into a world-readable
# drop-in, only into the unit's EnvironmentFile= (see otlp.tls.systemd_dropin).
SECRET_VARIABLES = ('OTEL_EXPORTER_OTLP_HEADERS',) + tuple('OTEL_EXPORTER_OTLP_%s_HEADERS' % s.upper() for s in SIGNALS)
SECRETS = ('include', 'exclude', 'only')


def _headers(app, name):
    """OTEL_EXPORTER_OTLP_HEADERS of ``app`` ({} without headers); error messages name header keys, never values."""
    headers = app.get('headers') or {}
    if not headers:
        return {}
    if not isinstance(headers, dict):
        raise AnsibleFilterError('%s: headers must be a dict of header names and values' % name)
    # .NET percent-decodes the whole list before splitting it, so an encoded comma still splits.
    commas = [key for key, value in headers.items() if ',' in str(value)]
    if commas:
        raise AnsibleFilterError('%s: header %s holds a comma, which some SDKs (.NET) split on even when encoded: '
                                 'remove it' % (name, ', '.join(sorted(commas))))
    return {'OTEL_EXPORTER_OTLP_HEADERS': _encode(headers, 'header')}


def exporter_secret_env(app):
    """Only the secret part of the exporter environment of ``app`` (its headers), for the unit's EnvironmentFile=."""
    name = app.get('service_name') or app.get('unit') or 'app'
    return _headers(app, name)


def exporter_env(app, collector, tls, secrets='include'):
    """Return the OTEL_* environment for ``app`` exporting to ``collector`` with ``tls``.

    ``secrets``: ``include`` (every variable), ``exclude`` (all but SECRET_VARIABLES, which go
    into an EnvironmentFile= instead) or ``only`` (just those). Every value is checked either way.
    """
    language = app.get('language')
    protocol = app.get('protocol')
    signals = list(app.get('signals') or SIGNALS)
    mode = (tls or {}).get('mode', 'mtls')
    endpoint_mode = app.get('endpoint_mode') or 'generic'
    name = app.get('service_name') or app.get('unit') or 'app'

    if language not in LANGUAGES:
        raise AnsibleFilterError('%s: unknown SDK language %r: choose one of %s' % (name, language, ', '.join(LANGUAGES)))
    if protocol not in PROTOCOLS:
        raise AnsibleFilterError('%s: unknown protocol %r: choose grpc or http/protobuf (http/json is not supported by '
                                 'every SDK)' % (name, protocol))
    unknown = [s for s in signals if s not in SIGNALS]
    if unknown or not signals:
        raise AnsibleFilterError('%s: signals must be a non-empty list of %s, got %s' % (name, ', '.join(SIGNALS), signals))
    if mode not in TLS_MODES:
        raise AnsibleFilterError('%s: unknown TLS mode %r: choose none, tls or mtls' % (name, mode))
    if endpoint_mode not in ('generic', 'per_signal'):
        raise AnsibleFilterError('%s: endpoint_mode must be generic or per_signal, got %r' % (name, endpoint_mode))
    broken = BROKEN.get((language, protocol, mode))
    if broken:
        raise AnsibleFilterError('%s: %s' % (name, broken))
    if language == 'dotnet' and endpoint_mode == 'per_signal' and mode != 'none':
        raise AnsibleFilterError('%s: the .NET exporter reads only the generic OTEL_EXPORTER_OTLP_* TLS variables, not '
                                 'per-signal ones: use endpoint_mode generic' % name)

    host = collector.get('host')
    port = collector.get('grpc_port' if protocol == 'grpc' else 'http_port')
    if not host or not port:
        raise AnsibleFilterError('%s: the collector host and %s port must be known (got %r:%r)' % (
            name, protocol, host, port))
    host = str(host)
    if '/' in host:
        raise AnsibleFilterError('%s: the collector host %r must be a bare name or address, without scheme or path'
                                 % (name, host))
    if ':' in host and not (host.startswith('[') and host.endswith(']')):
        raise AnsibleFilterError('%s: write the IPv6 address %r in brackets, [%s]' % (name, host, host))
    # TLS variables beside http:// break Go's HTTP exporters; INSECURE is never written.
    base = '%s://%s:%s' % ('http' if mode == 'none' else 'https', host, port)

    env = {
        'OTEL_EXPORTER_OTLP_PROTOCOL': protocol,
        'OTEL_SERVICE_NAME': name,
    }
    for signal in SIGNALS:
        env['OTEL_%s_EXPORTER' % signal.upper()] = 'otlp' if signal in signals else 'none'
    if language == 'python' and 'logs' in signals:
        # Without it the Python SDK exports no records from the standard logging module.
        env['OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED'] = 'true'

    if endpoint_mode == 'generic':
        levels = [('OTEL_EXPORTER_OTLP_', base)]
    else:
        levels = [('OTEL_EXPORTER_OTLP_%s_' % signal.upper(),
                   base + ('' if protocol == 'grpc' else '/v1/%s' % signal)) for signal in signals]
    for prefix, endpoint in levels:
        env[prefix + 'ENDPOINT'] = endpoint
        if mode != 'none':
            # CERTIFICATE always at the same level as the client pair (Python gRPC ignores the pair otherwise).
            env[prefix + 'CERTIFICATE'] = tls['ca_file']
        if mode == 'mtls':
            env[prefix + 'CLIENT_CERTIFICATE'] = tls['cert_file']
            env[prefix + 'CLIENT_KEY'] = tls['key_file']

    timeout = app.get('timeout')
    if timeout:
        timeout = int(timeout)
        if timeout <= 0:
            raise AnsibleFilterError('%s: timeout is in milliseconds and must be positive, got %d' % (name, timeout))
        # Python reads seconds where the spec and every other SDK read milliseconds.
        env['OTEL_EXPORTER_OTLP_TIMEOUT'] = str(int(math.ceil(timeout / 1000.0))) if language == 'python' else str(timeout)

    compression = app.get('compression') or 'none'
    if compression not in ('gzip', 'none'):
        raise AnsibleFilterError('%s: compression must be gzip or none, got %r' % (name, compression))
    if compression == 'gzip':
        env['OTEL_EXPORTER_OTLP_COMPRESSION'] = 'gzip'

    env.update(_headers(app, name))
    if app.get('resource_attributes'):
        env['OTEL_RESOURCE_ATTRIBUTES'] = _encode(app['resource_attributes'], 'resource attribute')
    bad = sorted(key for key, value in env.items() if has_control(str(value)))
    if bad:
        raise AnsibleFilterError('%s: %s would hold a control character (a newline, say), which would break the '
                                 'systemd drop-in: remove it' % (name, ', '.join(bad)))
    if secrets not in SECRETS:
        raise AnsibleFilterError('exporter_env: secrets must be include, exclude or only, got %r' % (secrets,))
    if secrets != 'include':
        env = dict((key, value) for key, value in env.items() if (key in SECRET_VARIABLES) == (secrets == 'only'))
    return dict(sorted(env.items()))


def _check_environment(env, what):
    """Names and values systemd reads back unchanged; the message names the variable, never its value."""
    if not isinstance(env, dict):
        raise AnsibleFilterError('%s: expected a dict of variable names and values, got %s' % (what, type(env).__name__))
    problems = environment_problems(env)
    if problems:
        raise AnsibleFilterError('%s: %s' % (what, problems[0]))


def systemd_environment(env):
    """Lines of Environment= for a systemd unit, quoted so systemd reads the values back unchanged."""
    _check_environment(env, 'Environment=')
    return '\n'.join(environment_line(key, value) for key, value in sorted((str(k), v) for k, v in env.items()))


def systemd_environment_file(env):
    """The content of a file for EnvironmentFile=: NAME="value" lines, sorted, under a header comment."""
    _check_environment(env, 'EnvironmentFile=')
    return environment_file_content(env)


DROPIN_HEADER = ('# Managed by Ansible (otlp.tls.exporter): changes made here are overwritten.\n'
                 '# OpenTelemetry exporter for a %s %s SDK, by otlp.tls.exporter.\n'
                 '[Service]\n')


def _unit(name):
    name = str(name or '')
    return name if name.endswith('.service') else name + '.service'


def exporter_dropins(plan, apps=None):
    """The drop-in of each planned unit, as otlp.tls.systemd_dropin takes them.

    Each item: unit, content (the non-secret environment), and, when ``apps`` (the role's
    otlp_tls_exporter_apps) is given, secret_environment (the unit's headers, for its
    EnvironmentFile=) and secret_group (the unit's group, which may read that file).
    """
    by_unit = {}
    for app in apps or []:
        by_unit[_unit(app.get('unit'))] = app
    out = []
    for entry in plan or []:
        for key in ('unit', 'language', 'env'):
            if key not in entry:
                raise AnsibleFilterError('exporter_dropins: a plan entry has no %s: %r' % (key, entry.get('unit', entry)))
        env = entry['env']
        leaked = sorted(key for key in env if key in SECRET_VARIABLES)
        if leaked:
            raise AnsibleFilterError('exporter_dropins: the plan entry of %s holds %s, a secret that must not go into '
                                     'the world-readable drop-in: build the plan with exporter_env(..., secrets='
                                     '"exclude") and pass the apps to exporter_dropins' % (entry['unit'], ', '.join(leaked)))
        header = DROPIN_HEADER % (env.get('OTEL_EXPORTER_OTLP_PROTOCOL', ''), entry['language'])
        item = {'unit': entry['unit'], 'content': header + systemd_environment(env) + '\n'}
        if apps is not None:
            app = by_unit.get(_unit(entry['unit']))
            if app is None:
                raise AnsibleFilterError('exporter_dropins: %s is in the plan but not in the apps given' % entry['unit'])
            secret = exporter_secret_env(app)
            if sorted((app.get('headers') or {}).keys()) != sorted(entry.get('header_names') or []):
                raise AnsibleFilterError('exporter_dropins: the headers of %s in the apps given are not the ones the '
                                         'plan was made with: pass the same otlp_tls_exporter_apps' % entry['unit'])
            item['secret_environment'] = secret
            item['secret_group'] = entry.get('group') or 'root'
        elif entry.get('header_names'):
            raise AnsibleFilterError('exporter_dropins: %s has headers, whose values are not in the plan: pass the '
                                     'apps, exporter_dropins(otlp_tls_exporter_apps)' % entry['unit'])
        out.append(item)
    return out


class FilterModule(object):
    def filters(self):
        return {'exporter_env': exporter_env, 'systemd_environment': systemd_environment,
                'systemd_environment_file': systemd_environment_file, 'exporter_dropins': exporter_dropins}
