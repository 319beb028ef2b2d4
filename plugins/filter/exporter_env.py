# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: exporter_env
short_description: The OTEL_* environment that points one app's OpenTelemetry SDK at a collector over TLS or mTLS
version_added: 0.1.0
description:
  - Turns an app's SDK language, OTLP protocol, signals and the collector's address and TLS files into the exact
    environment variables that SDK needs, so templates stay dumb.
  - Writes an explicit C(https://) scheme and never C(OTEL_EXPORTER_OTLP_INSECURE) (Go lets it override the scheme);
    never puts TLS variables beside an C(http://) endpoint (Go's HTTP exporters refuse that).
  - Always sets C(OTEL_EXPORTER_OTLP_PROTOCOL), because the SDKs' defaults differ (Python and Java SDK grpc; Java agent,
    Node and Go http/protobuf).
  - Always sets C(OTEL_EXPORTER_OTLP_CERTIFICATE) at the same level as the client key and certificate (Python's gRPC
    exporter ignores the client pair otherwise).
  - gRPC endpoints get no path (Java throws on one); HTTP endpoints are generic (the SDK appends C(/v1/<signal>)) or,
    with O(_input.endpoint_mode=per_signal), one per signal with the C(/v1/<signal>) path written out.
  - The timeout is given in milliseconds and written in the unit each SDK reads (Python reads seconds).
  - Compression V(none) is written as nothing (Python's gRPC exporter crashes on C(none)).
  - Raises an error that says why and what to choose instead for combinations known to be broken, .NET over
    http/protobuf with TLS (the auto-instrumentation ignores the TLS variables there) and .NET with per-signal
    endpoints and TLS (it reads only the generic TLS variables), and for header values with commas (.NET splits on
    them even when percent-encoded).
  - For Python with logs on, sets C(OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED=true), without which the standard
    logging module's records are not exported.
author:
  - otlp.tls maintainers (@otlp-tls)
options:
  _input:
    description: The app.
    type: dict
    required: true
    suboptions:
      language:
        description: SDK language.
        type: str
        choices: [python, go, java, nodejs, dotnet]
        required: true
      protocol:
        description: OTLP protocol.
        type: str
        choices: [grpc, http/protobuf]
        required: true
      signals:
        description: Signals to export; the others are turned off.
        type: list
        elements: str
        default: [traces, metrics, logs]
      service_name:
        description: C(OTEL_SERVICE_NAME).
        type: str
      resource_attributes:
        description: C(OTEL_RESOURCE_ATTRIBUTES), values percent-encoded.
        type: dict
      headers:
        description: C(OTEL_EXPORTER_OTLP_HEADERS), values percent-encoded.
        type: dict
      timeout:
        description: Export timeout in milliseconds.
        type: int
      compression:
        description: V(gzip) or V(none).
        type: str
      endpoint_mode:
        description: V(generic) (one endpoint) or V(per_signal).
        type: str
        default: generic
  collector:
    description: Where the collector listens; C(host), C(grpc_port), C(http_port).
    type: dict
    required: true
  tls:
    description: C(mode) (V(none), V(tls), V(mtls)) and the file paths C(ca_file), C(cert_file), C(key_file).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Drop-in environment for a Python service exporting over gRPC with mTLS
  ansible.builtin.debug:
    msg: >-
      {{ {'language': 'python', 'protocol': 'grpc', 'service_name': 'checkout'}
         | otlp.tls.exporter_env({'host': 'collector1', 'grpc_port': 4317, 'http_port': 4318},
                                 {'mode': 'mtls', 'ca_file': '/etc/otlp-tls/checkout/ca.pem',
                                  'cert_file': '/etc/otlp-tls/checkout/cert.pem',
                                  'key_file': '/etc/otlp-tls/checkout/key.pem'}) }}
'''

RETURN = r'''
_value:
  description: Environment variable names and values.
  type: dict
'''

import math

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    from urllib import quote

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


def exporter_env(app, collector, tls):
    """Return the OTEL_* environment for ``app`` exporting to ``collector`` with ``tls``."""
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

    if app.get('headers'):
        # .NET percent-decodes the whole list before splitting it, so an encoded comma still splits.
        commas = [key for key, value in app['headers'].items() if ',' in str(value)]
        if commas:
            raise AnsibleFilterError('%s: header %s holds a comma, which some SDKs (.NET) split on even when encoded: '
                                     'remove it' % (name, ', '.join(sorted(commas))))
        env['OTEL_EXPORTER_OTLP_HEADERS'] = _encode(app['headers'], 'header')
    if app.get('resource_attributes'):
        env['OTEL_RESOURCE_ATTRIBUTES'] = _encode(app['resource_attributes'], 'resource attribute')
    bad = sorted(key for key, value in env.items() if any(ord(c) < 32 or ord(c) == 127 for c in str(value)))
    if bad:
        raise AnsibleFilterError('%s: %s would hold a control character (a newline, say), which would break the '
                                 'systemd drop-in: remove it' % (name, ', '.join(bad)))
    return dict(sorted(env.items()))


def systemd_environment(env):
    """Lines of Environment= for a systemd unit, quoted so systemd reads the values back unchanged."""
    lines = []
    for key, value in sorted(env.items()):
        if any(ord(c) < 32 or ord(c) == 127 for c in str(key) + str(value)):
            raise AnsibleFilterError('%s holds a control character: a newline would end the Environment= line' % key)
        value = str(value).replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%')
        lines.append('Environment="%s=%s"' % (key, value))
    return '\n'.join(lines)


class FilterModule(object):
    def filters(self):
        return {'exporter_env': exporter_env, 'systemd_environment': systemd_environment}
