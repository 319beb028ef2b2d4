# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collector role's plan: its config.yaml, the checks of its settings, the programs on its ports.

``settings`` is the role's ``otlp_tls_collector_settings`` (roles/collector/vars/main.yml): the otlp_tls_collector_*
variables without their prefix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.otlp.tls.plugins.module_utils.pki import covers_name

ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
CONTROL = re.compile(r'[\x00-\x1f\x7f]')
ENDPOINT = re.compile(r'^[^\s:]*:[0-9]{1,5}$')
CHECKSUM = re.compile(r'^sha256:[0-9a-fA-F]{64}$')
# An agent's gateway: host:port, or dns:///host:port (gRPC's DNS resolver: every address of the name, round robin).
GATEWAY = re.compile(r'^(?:dns:///)?([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$')
# The backend: https://host[:port][/path] (gRPC also host:port, which it dials with TLS).
BACKEND = re.compile(r'^(https://)?([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(/\S*)?$')
HEADER_NAME = re.compile(r'^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$')
# The exporters the role adds for the hops: an agent's to its gateways, a gateway's to the backend.
GATEWAY_EXPORTER = 'otlp_grpc/otlp_tls_gateway'
BACKEND_EXPORTERS = {'grpc': 'otlp_grpc/otlp_tls_backend', 'http': 'otlp_http/otlp_tls_backend'}
# The backend's credentials reach the collector only through its secret environment file (EnvironmentFile=).
TOKEN_VARIABLE = 'OTLP_TLS_BACKEND_TOKEN'
HEADER_VARIABLE = 'OTLP_TLS_BACKEND_HEADER_%s'
# Keys of the exporters' overrides that would undo what the role checked (where to, TLS, credentials).
LOCKED = ('endpoint', 'headers', 'auth')
LOCKED_TLS = ('insecure', 'insecure_skip_verify')
LOOPBACK = ('127.0.0.1', '::1', 'localhost')
# Certificate metrics (cert_metrics): the tls_check receiver's type, the names of what the role adds for them, and
# the components a distribution must have.
CERT_RECEIVER = 'tls_check'
CERT_PREFIX = 'otlp_tls_cert_'
CERT_FORWARD = 'metrics/otlp_tls_forward'
CERT_COMPONENTS = ('receivers/tls_check|tlscheck', 'processors/resource')
# Each CA of the trust bundle in its own file (the receiver reports the first certificate of a file): two slots, the
# CA that signs now and the other CA of an overlap bundle during a CA rotation (the first CA again outside one), so
# that a rotation changes the files' content but never the config, and no collector reloads for it.
CA_SLOTS = 2
# The directory, in the collector's certificate directory, of its copies of the apps' certificates.
APP_COPIES = 'apps'
COMPONENT_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._@-]*$')
PEM_CERTIFICATE = re.compile(r'-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----', re.S)


def header_variable(name):
    """The secret environment variable of a backend header: its name, upper case, other characters as _."""
    return HEADER_VARIABLE % re.sub(r'[^A-Za-z0-9]', '_', str(name)).upper()


def merge(base, extra):
    """``base`` with ``extra`` merged in: dicts key by key, recursively; any other value of ``extra`` replaces."""
    out = dict(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def endpoints(settings):
    return [e for e in (settings.get('grpc_endpoint'), settings.get('http_endpoint')) if e]


def port_of(endpoint):
    return str(endpoint).rsplit(':', 1)[-1]


def gateway_name(settings):
    """The name an agent verifies its gateways' certificates for: the override, else the host of the endpoint."""
    if settings.get('gateway_server_name'):
        return str(settings['gateway_server_name'])
    match = GATEWAY.match(str(settings.get('gateway_endpoint') or ''))
    return match.group(1).strip('[]').lower() if match else ''


def gateway_exporter(settings):
    """An agent's exporter to the gateway pool: mTLS with the host's own certificate (re-read every
    tls_reload_interval, so a renewal needs no restart), round robin over every address of the name, and a queue and
    retries that carry a gateway's restart or a 30 s outage of one gateway with nothing lost."""
    directory = settings.get('certificate_dir')
    tls = {'ca_file': directory + '/ca.pem', 'cert_file': directory + '/fullchain.pem',
           'key_file': directory + '/key.pem', 'min_version': str(settings.get('tls_min_version'))}
    if settings.get('tls_reload_interval'):
        tls['reload_interval'] = settings['tls_reload_interval']
    if settings.get('gateway_server_name'):
        tls['server_name_override'] = str(settings['gateway_server_name'])
    exporter = {
        'endpoint': str(settings.get('gateway_endpoint')),
        'balancer_name': 'round_robin',
        'tls': tls,
        # A gateway that stops answering (no reset) is found within 15 s, not at the next connection age.
        'keepalive': {'time': '10s', 'timeout': '5s', 'permit_without_stream': True},
    }
    exporter.update(delivery('10s'))
    return merge(exporter, settings.get('gateway_exporter') or {})


def delivery(max_interval):
    """Timeout, retries (from 1 s to ``max_interval``, for 10 minutes) and a queue of 5000 requests that, when full,
    holds the receiver back (the senders retry) instead of dropping data."""
    return {'timeout': '10s',
            'retry_on_failure': {'enabled': True, 'initial_interval': '1s', 'max_interval': max_interval,
                                 'max_elapsed_time': '10m'},
            'sending_queue': {'enabled': True, 'num_consumers': 4, 'queue_size': 5000, 'block_on_overflow': True}}


def backend_exporter(settings):
    """A gateway's exporter to the backend: TLS (system roots, or the CA file given), optional mTLS with files on the
    host, and the token and headers as ${env:...} of the secret environment file, never their values."""
    directory = settings.get('certificate_dir')
    tls = {'min_version': str(settings.get('tls_min_version'))}
    if settings.get('backend_ca_file'):
        tls['ca_file'] = directory + '/backend-ca.pem'
    if settings.get('backend_client_cert_file'):
        tls['cert_file'] = str(settings['backend_client_cert_file'])
        tls['key_file'] = str(settings.get('backend_client_key_file'))
        if settings.get('tls_reload_interval'):
            tls['reload_interval'] = settings['tls_reload_interval']
    if settings.get('backend_server_name'):
        tls['server_name_override'] = str(settings['backend_server_name'])
    exporter = {'endpoint': str(settings.get('backend_endpoint')), 'tls': tls}
    headers = {}
    if settings.get('backend_token'):
        headers['authorization'] = 'Bearer ${env:%s}' % TOKEN_VARIABLE
    for name in sorted(settings.get('backend_headers') or {}):
        headers[str(name)] = '${env:%s}' % header_variable(name)
    if headers:
        exporter['headers'] = headers
    exporter.update(delivery('30s'))
    return merge(exporter, settings.get('backend_exporter') or {})


def hop_exporters(settings):
    """name -> config of the exporters the role adds: to the gateways (an agent), to the backend (a gateway)."""
    out = {}
    if settings.get('gateway_endpoint'):
        out[GATEWAY_EXPORTER] = gateway_exporter(settings)
    if settings.get('backend_endpoint'):
        out[BACKEND_EXPORTERS.get(settings.get('backend_protocol') or 'grpc', BACKEND_EXPORTERS['grpc'])] = \
            backend_exporter(settings)
    return out


def secret_environment(settings):
    """The collector's whole secret environment: the user's, and the backend's token and headers."""
    out = dict(settings.get('secret_environment') or {}) if isinstance(settings.get('secret_environment'), dict) else {}
    if settings.get('backend_endpoint'):
        if settings.get('backend_token'):
            out[TOKEN_VARIABLE] = settings['backend_token']
        headers = settings.get('backend_headers') if isinstance(settings.get('backend_headers'), dict) else {}
        for name in sorted(headers):
            out[header_variable(name)] = headers[name]
    return out


def cert_role(settings):
    """What the host's collector is, for the otlp_tls.role attribute: agent, gateway (it exports to a backend) or
    collector (one tier)."""
    if settings.get('gateway_endpoint'):
        return 'agent'
    return 'gateway' if settings.get('backend_endpoint') else 'collector'


def ca_slots(bundle):
    """The PEM text of each CA slot file: the bundle's first certificate, then its second (the first again when the
    bundle has one)."""
    found = [m.group(0) + '\n' for m in PEM_CERTIFICATE.finditer(str(bundle or ''))]
    if not found:
        return []
    return [found[index] if index < len(found) else found[0] for index in range(CA_SLOTS)]


def cert_app_certificates(apps, exporter_settings, host):
    """The client certificates the exporter role installs on this host (none without mTLS): name and directory, from
    the inventory alone (host_plan.exporter_certificates)."""
    from ansible_collections.otlp.tls.plugins.plugin_utils.host_plan import exporter_certificates
    if (exporter_settings or {}).get('tls_mode', 'mtls') != 'mtls':
        return []
    return exporter_certificates([a for a in apps or [] if isinstance(a, dict) and a.get('unit')],
                                 exporter_settings or {}, host)


def cert_targets(settings, host, files, apps=None, exporter_settings=None):
    """The certificate files whose time left the collector reports (cert_metrics), each with its entry, role and
    renew_before: the collector's own certificate, the CA slots of its trust bundle, the backend's CA it was given,
    and the client certificate of each app on the host whose file is there (``files``: host_state's ``files``; an
    app's certificate that is not there yet is in ``pending``, for site.yml's last play).

    Returns ``{'targets': [...], 'pending': [...]}``; each target has ``entry``, ``role``, ``path``, and
    ``renew_before`` (``"30d"``; empty for CAs, which the CA role rotates and nothing renews).
    """
    if not boolean(settings.get('cert_metrics') or False, strict=False):
        return {'targets': [], 'pending': []}
    renew = '%dd' % int(settings.get('renew_before_days') or 30)
    directory = settings.get('certificate_dir')
    targets, pending = [], []
    has_certificate = settings.get('tls_mode', 'mtls') != 'none' or settings.get('gateway_endpoint')
    if has_certificate:
        targets.append({'entry': 'collector', 'role': cert_role(settings), 'path': directory + '/cert.pem',
                        'renew_before': renew})
        for index in range(CA_SLOTS):
            targets.append({'entry': 'ca-%d' % index, 'role': 'ca', 'path': '%s/ca-%d.pem' % (directory, index),
                            'renew_before': ''})
    if settings.get('backend_endpoint') and settings.get('backend_ca_file'):
        targets.append({'entry': 'backend-ca', 'role': 'ca', 'path': directory + '/backend-ca.pem',
                        'renew_before': ''})
    # The collector's user can not enter an app's certificate directory (root:<the app's group> 0750, the app's
    # alone): it reads a copy of the public certificate, which the role keeps in sync (cert_copies).
    for certificate in cert_app_certificates(apps, exporter_settings, host):
        source = certificate['dir'] + '/cert.pem'
        target = {'entry': certificate['name'], 'role': 'app', 'source': source,
                  'path': '%s/%s/%s.pem' % (directory, APP_COPIES, certificate['name']), 'renew_before': renew}
        if ((files or {}).get(source) or {}).get('exists'):
            targets.append(target)
        else:
            pending.append(target)
    return {'targets': targets, 'pending': pending}


def cert_paths(targets_result):
    """Every file host_state reads for the certificate metrics: the targets, the apps' certificates they copy, and
    the directory of the copies."""
    out = []
    for target in (targets_result or {}).get('targets', []) + (targets_result or {}).get('pending', []):
        out.extend(p for p in (target['path'], target.get('source')) if p and p not in out)
    copies = [t['path'] for t in (targets_result or {}).get('targets', []) + (targets_result or {}).get('pending', [])
              if t.get('source')]
    if copies:
        out.append(copies[0].rsplit('/', 1)[0])
    return out


def cert_copies(targets, files, group):
    """The copies of the apps' certificates to write: each target with a source whose copy is missing, differs from
    it, or is not root:``group`` 0644."""
    files = files or {}
    out = []
    for target in targets or []:
        if not target.get('source'):
            continue
        source, copy = files.get(target['source']) or {}, files.get(target['path']) or {}
        if not source.get('exists'):
            continue
        if not copy.get('exists') or copy.get('sha256') != source.get('sha256') or \
                (copy.get('kind'), copy.get('owner'), copy.get('group'), copy.get('mode')) != ('file', 'root', group, '0644'):
            out.append({'src': target['source'], 'dest': target['path']})
    return out


def cert_exporters(settings):
    """Where the certificate metrics go: the next hop (an agent's gateways, a gateway's backend), else the exporters
    of the user's metrics pipelines."""
    hops = hop_exporters(settings)
    if hops:
        return sorted(hops)
    out = []
    for name, pipe in sorted((settings.get('pipelines') or {}).items()):
        if (name == 'metrics' or str(name).startswith('metrics/')) and isinstance(pipe, dict):
            out.extend(e for e in pipe.get('exporters') or [] if e not in out)
    return out


def cert_config(settings, host, targets):
    """The receivers, processors and pipelines the role adds for ``targets`` (cert_targets), one pipeline each, so that
    each metric carries its own resource attributes; and, on a host with a next hop and no metrics pipeline from the
    otlp receiver, a pipeline that forwards the metrics the hosts before it send."""
    if not targets:
        return {}
    interval = str(settings.get('cert_metrics_interval') or '1m')
    exporters = cert_exporters(settings)
    receivers, processors, pipelines = {}, {}, {}
    for target in targets:
        key = CERT_PREFIX + target['entry']
        receivers['%s/%s' % (CERT_RECEIVER, key)] = {'collection_interval': interval,
                                                     'targets': [{'file_path': target['path']}]}
        attributes = [{'key': 'otlp_tls.host', 'value': str(host), 'action': 'upsert'},
                      {'key': 'otlp_tls.entry', 'value': target['entry'], 'action': 'upsert'},
                      {'key': 'otlp_tls.role', 'value': target['role'], 'action': 'upsert'}]
        if target.get('renew_before'):
            attributes.append({'key': 'otlp_tls.renew_before', 'value': target['renew_before'], 'action': 'upsert'})
        processors['resource/' + key] = {'attributes': attributes}
        pipelines['metrics/' + key] = {'receivers': ['%s/%s' % (CERT_RECEIVER, key)],
                                       'processors': ['resource/' + key], 'exporters': list(exporters)}
    hops = hop_exporters(settings)
    forwarded = any((name == 'metrics' or str(name).startswith('metrics/')) and isinstance(pipe, dict)
                    and 'otlp' in (pipe.get('receivers') or [])
                    for name, pipe in (settings.get('pipelines') or {}).items())
    if hops and not forwarded:
        pipelines[CERT_FORWARD] = {'receivers': ['otlp'], 'exporters': sorted(hops)}
    return {'receivers': receivers, 'processors': processors, 'pipelines': pipelines}


def cert_problems(settings, targets_result):
    """Why the certificate metrics can not be set up, each with its fix."""
    if not boolean(settings.get('cert_metrics') or False, strict=False):
        return []
    out = []
    if not cert_exporters(settings):
        out.append('otlp_tls_collector_cert_metrics has nowhere to send the metrics: give the collector a metrics '
                   'pipeline (otlp_tls_collector_pipelines: metrics: exporters: [...]), a gateway or a backend')
    names = [t['entry'] for t in (targets_result or {}).get('targets', []) + (targets_result or {}).get('pending', [])]
    bad = sorted(set(n for n in names if not COMPONENT_NAME.match(str(n))))
    if bad:
        out.append('these certificate names can not name a collector component: %s (letters, digits, ".", "_", '
                   '"@" and "-"): rename the units in otlp_tls_exporter_apps' % ', '.join(bad))
    return out


def config(settings):
    """The whole config.yaml: the OTLP receiver with the role's TLS settings, everything else the user's YAML."""
    mode = settings.get('tls_mode', 'mtls')
    directory = settings.get('certificate_dir')
    tls = {'cert_file': directory + '/fullchain.pem', 'key_file': directory + '/key.pem',
           'min_version': str(settings.get('tls_min_version'))}
    if settings.get('tls_reload_interval'):
        tls['reload_interval'] = settings['tls_reload_interval']
    if mode == 'mtls':
        tls['client_ca_file'] = directory + '/ca.pem'
        # 'false' from an INI inventory or -e is false, not a true non-empty string.
        tls['client_ca_file_reload'] = boolean(settings.get('client_ca_file_reload') or False, strict=False)
    protocols = {}
    for name in ('grpc', 'http'):
        endpoint = settings.get(name + '_endpoint')
        if not endpoint:
            continue
        protocol = {'endpoint': endpoint}
        if mode != 'none':
            protocol['tls'] = tls
        # gRPC connections end after max_connection_age (clients reconnect with a new handshake): a client whose
        # certificate was revoked, or whose CA was retired, is cut off within that time.
        if name == 'grpc':
            # Agents ping their gateways every 10 s: without this policy grpc-go ends such a connection
            # (too_many_pings) unless pings are at least 5 minutes apart.
            protocol['keepalive'] = {'enforcement_policy': {'min_time': '5s', 'permit_without_stream': True}}
            if settings.get('grpc_max_connection_age'):
                protocol['keepalive']['server_parameters'] = {
                    'max_connection_age': settings['grpc_max_connection_age'],
                    'max_connection_age_grace': settings.get('grpc_max_connection_age_grace')}
        protocols[name] = protocol
    out = {'receivers': {'otlp': {'protocols': protocols}}}
    for section in ('extensions', 'processors', 'exporters'):
        if settings.get(section):
            out[section] = settings[section]
    pipelines = settings.get('pipelines')
    hops = hop_exporters(settings)
    if hops:
        # Every pipeline sends on to the next tier too (a pipeline that names the exporter already keeps its place).
        out['exporters'] = merge(out.get('exporters') or {}, hops)
        pipelines = dict((name, merge(pipe, {'exporters': list(pipe.get('exporters') or [])
                                             + [h for h in hops if h not in (pipe.get('exporters') or [])]})
                          if isinstance(pipe, dict) else pipe) for name, pipe in (pipelines or {}).items())
    certs = cert_config(settings, settings.get('host') or '', settings.get('cert_targets') or [])
    if certs:
        out['receivers'].update(certs['receivers'])
        out['processors'] = merge(out.get('processors') or {}, certs['processors'])
        pipelines = merge(pipelines or {}, certs['pipelines'])
    service = {'pipelines': pipelines}
    if settings.get('extensions'):
        service['extensions'] = list(settings['extensions'])
    if settings.get('telemetry'):
        service['telemetry'] = settings['telemetry']
    out['service'] = service
    return merge(out, settings.get('extra_config') or {})


def environment_problems(plain, secret):
    """Names and values of the collector's environment that systemd would not read back as given."""
    out = []
    for source, env in (('otlp_tls_collector_environment', plain), ('otlp_tls_collector_secret_environment', secret)):
        if not isinstance(env, dict):
            out.append('%s must be a dict of variable names and values' % source)
            continue
        for name, value in env.items():
            if not isinstance(name, str) or not ENV_NAME.match(name):
                out.append('%s: "%s" is not an environment variable name (letters, digits and underscores, not '
                           'starting with a digit)' % (source, name))
            elif value is None or isinstance(value, (dict, list, tuple, set)):
                out.append('%s: the value of %s must be a string or a number' % (source, name))
            elif CONTROL.search(str(value)):
                out.append('%s: the value of %s holds a newline or another control character, which would end its line '
                           'in the systemd unit or environment file: remove it from the value (put a multi-line value '
                           'such as a PEM into a file and pass its path)' % (source, name))
    if isinstance(plain, dict) and isinstance(secret, dict):
        for name in plain:
            if name in secret:
                out.append('%s is in both otlp_tls_collector_environment and otlp_tls_collector_secret_environment: '
                           'keep it in one' % name)
    return out


def problems(settings, host):
    """Every reason the collector settings can not be used, each with its fix; messages name variables, not values."""
    env = environment_problems(settings.get('environment'), settings.get('secret_environment'))
    reserved = sorted(name for name in settings.get('secret_environment') or {}
                      if isinstance(settings.get('secret_environment'), dict) and str(name).startswith('OTLP_TLS_BACKEND_'))
    if reserved:
        env.append('%s: the names OTLP_TLS_BACKEND_* are the role\'s own (the backend token and headers): rename '
                   'them' % ', '.join(reserved))
    out = ['Invalid collector environment for %s, nothing was changed: %s.' % (host, '; '.join(env))] if env else []
    found = []
    checksum = settings.get('checksum') or ''
    if (settings.get('install_method') == 'url' or checksum) and not CHECKSUM.match(checksum):
        found.append('otlp_tls_collector_checksum must be "sha256:<64 hex>" (got "%s"), so that a tampered or '
                     'truncated download is refused' % checksum)
    if settings.get('install_method') == 'file' and not settings.get('file'):
        found.append('with install_method file, otlp_tls_collector_file must name the archive, package or binary on '
                     'the controller')
    points = endpoints(settings)
    if not points:
        found.append('set otlp_tls_collector_grpc_endpoint or otlp_tls_collector_http_endpoint (or both)')
    bad = [e for e in points if not ENDPOINT.match(str(e)) or int(port_of(e)) > 65535]
    if bad:
        found.append('endpoints must be host:port with a port up to 65535 (got %s)' % ', '.join(map(str, bad)))
    elif len(set(port_of(e) for e in points)) != len(points):
        found.append('the gRPC and HTTP endpoints need different ports (got %s)' % ', '.join(points))
    if not isinstance(settings.get('pipelines'), dict) or not settings.get('pipelines'):
        found.append('otlp_tls_collector_pipelines must be a non-empty mapping')
    if not isinstance(settings.get('extra_config'), dict):
        found.append('otlp_tls_collector_extra_config must be a mapping')
    found.extend(hop_problems(settings))
    found.extend(cert_problems(settings, cert_targets(settings, host, {}, settings.get('cert_apps'),
                                                      settings.get('cert_exporter_settings'))))
    if found:
        out.append('Invalid collector settings for %s: %s.' % (host, '; '.join(found)))
    return out


def hop_problems(settings):
    """What is wrong with the agent's gateway and the gateway's backend settings (names, never values)."""
    found = []
    gateway = settings.get('gateway_endpoint') or ''
    if gateway:
        match = GATEWAY.match(str(gateway))
        if not match or int(match.group(2)) > 65535:
            found.append('otlp_tls_collector_gateway_endpoint must be host:port or dns:///host:port, e.g. '
                         'dns:///otlp-gateway.example.internal:4317 (got "%s")' % gateway)
        elif match.group(1).strip('[]').lower() in LOOPBACK:
            found.append('otlp_tls_collector_gateway_endpoint points at this host (%s): give the gateways\' name' % gateway)
    if settings.get('gateway_exporter') and not isinstance(settings.get('gateway_exporter'), dict):
        found.append('otlp_tls_collector_gateway_exporter must be a mapping')
    backend = settings.get('backend_endpoint') or ''
    protocol = settings.get('backend_protocol') or 'grpc'
    if not backend:
        return found + override_problems(settings)
    if protocol not in BACKEND_EXPORTERS:
        found.append('otlp_tls_collector_backend_protocol must be grpc or http (got "%s")' % protocol)
    match = BACKEND.match(str(backend))
    if str(backend).startswith('http://'):
        found.append('otlp_tls_collector_backend_endpoint is plain http:// (%s): the backend hop is TLS only, and the '
                     'token would travel in clear text; use https://' % backend)
    elif not match or (match.group(3) and int(match.group(3)) > 65535):
        found.append('otlp_tls_collector_backend_endpoint must be https://host[:port][/path] (http) or host:port '
                     '(grpc), got "%s"' % backend)
    elif protocol == 'http' and not match.group(1):
        found.append('with otlp_tls_collector_backend_protocol http, otlp_tls_collector_backend_endpoint must be an '
                     'https:// URL (got "%s")' % backend)
    elif protocol == 'grpc' and (match.group(4) or not match.group(3)):
        found.append('with otlp_tls_collector_backend_protocol grpc, otlp_tls_collector_backend_endpoint must be '
                     'host:port without a path (got "%s")' % backend)
    token = settings.get('backend_token')
    if token is not None and not isinstance(token, (str, int)):
        found.append('otlp_tls_collector_backend_token must be a string')
    elif token and CONTROL.search(str(token)):
        found.append('otlp_tls_collector_backend_token holds a newline or another control character: remove it')
    headers = settings.get('backend_headers')
    if headers and not isinstance(headers, dict):
        found.append('otlp_tls_collector_backend_headers must be a mapping of header names and values')
    elif headers:
        for name, value in headers.items():
            if not isinstance(name, str) or not HEADER_NAME.match(name):
                found.append('otlp_tls_collector_backend_headers: "%s" is not an HTTP header name' % name)
            elif value is None or isinstance(value, (dict, list)) or CONTROL.search(str(value)):
                found.append('otlp_tls_collector_backend_headers: the value of %s must be one line of text' % name)
        if token and 'authorization' in [str(n).lower() for n in headers]:
            found.append('otlp_tls_collector_backend_token and an authorization header in '
                         'otlp_tls_collector_backend_headers: give one of them')
        variables = [header_variable(n) for n in headers]
        if len(set(variables)) != len(variables):
            found.append('otlp_tls_collector_backend_headers has names that differ only in case or punctuation (%s): '
                         'give each header once' % ', '.join(sorted(map(str, headers))))
    ca_file = settings.get('backend_ca_file') or ''
    if ca_file and not str(ca_file).startswith('/'):
        found.append('otlp_tls_collector_backend_ca_file must be an absolute path on the controller (got "%s")' % ca_file)
    cert, key = settings.get('backend_client_cert_file') or '', settings.get('backend_client_key_file') or ''
    if bool(cert) != bool(key):
        found.append('otlp_tls_collector_backend_client_cert_file and _key_file go together: set both or neither')
    for name, path in (('backend_client_cert_file', cert), ('backend_client_key_file', key)):
        if path and not str(path).startswith('/'):
            found.append('otlp_tls_collector_%s must be an absolute path on the host (got "%s")' % (name, path))
    if settings.get('backend_exporter') and not isinstance(settings.get('backend_exporter'), dict):
        found.append('otlp_tls_collector_backend_exporter must be a mapping')
    return found + override_problems(settings)


def override_problems(settings):
    """Keys of the exporters' overrides that would undo the checked endpoint, TLS or credentials."""
    found = []
    for name in ('gateway_exporter', 'backend_exporter'):
        override = settings.get(name)
        if not isinstance(override, dict) or not settings.get(name.replace('_exporter', '_endpoint')):
            continue
        tls = override.get('tls') if isinstance(override.get('tls'), dict) else {}
        locked = [key for key in LOCKED if key in override] + ['tls.' + key for key in LOCKED_TLS if key in tls]
        if locked:
            found.append('otlp_tls_collector_%s may not set %s: the role sets them from the checked settings (the '
                         'endpoint, TLS and credentials variables); remove them' % (name, ', '.join(locked)))
    return found


def gateway_check(coverage, settings, host, check_mode=False):
    """What an agent (``host``) finds about its gateway pool, for the name it dials: ``problems`` that stop it, and
    ``warnings``.

    ``coverage``: what each gateway's certificate covers, as otlp.tls.collector_coverage returns it over the gateway
    group (``names``: name -> gateway host; ``certificates``: per host). The agent stops only when no gateway could
    serve it: an empty group, or no gateway whose certificate was read, has no problem of its own and carries the
    name (the name missing from the group's otlp_tls_collector_endpoint_names, say). A gateway that can not serve it
    while others can is a warning: round robin uses the others, and one broken or hostile gateway can not hold up
    every agent's converge, renewal or CA rotation. A check run of a fresh fleet has no gateway certificate yet.
    """
    name = gateway_name(settings)
    coverage = coverage if isinstance(coverage, dict) else {}
    gateways = sorted(set((coverage.get('names') or {}).values()))
    if not gateways:
        return dict(problems=['Agent %s exports to %s, but the group %s has no hosts: put the gateways in it, or set '
                              'otlp_tls_collector_gateway_group to theirs.'
                              % (host, settings.get('gateway_endpoint'), coverage.get('group'))], warnings=[])
    found, usable, pending = [], [], []
    for gateway in gateways:
        cert = (coverage.get('certificates') or {}).get(gateway)
        if cert is None:
            found.append('the certificate of %s was not read' % gateway)
        elif 'error' in cert:
            found.append('the certificate of %s could not be read: %s' % (gateway, cert['error']))
        elif not cert.get('exists', True):
            missing = '%s has no certificate yet (%s): converge the gateways first' % (gateway, cert['subject'])
            (pending if check_mode else found).append(missing)
        elif cert.get('problems'):
            found.extend('%s: %s' % (gateway, problem) for problem in cert['problems'])
        elif not covers_name((cert['dns_names'], cert['ip_addresses']), name):
            found.append('the subjectAltNames of %s (%s) do not cover %s' % (
                cert['subject'], ', '.join(cert['dns_names'] + cert['ip_addresses']) or 'none', name))
        else:
            usable.append(gateway)
    if usable or (pending and not found):
        return dict(problems=[], warnings=['Agent %s: gateways it can not verify for %s, which round robin will not '
                                           'reach until fixed: %s.' % (host, name, '; '.join(found))] if found else [])
    return dict(problems=['Agent %s would export to no gateway it can verify for %s, so nothing was changed: %s. '
                          "Add %s to every gateway's otlp_tls_collector_endpoint_names and converge the gateways "
                          'first, or set otlp_tls_collector_gateway_server_name to a name their certificates hold.'
                          % (host, name, '; '.join(found + pending), name)], warnings=[])


def squatters(state, settings):
    """Listeners on the collector's ports that are not the collector, as text.

    ``state``: otlp.tls.host_state's result with ``listeners`` (address, port, and the PIDs and names of the processes
    that hold it), ``units`` (the collector unit's ``main_pid``) and ``live_ports`` (the ports of the running
    collector's live config). A listener is the collector's when the unit's main process holds it; a process name
    proves nothing (any local user may name a process otelcol). When no holder could be read (another user's process
    in a container without CAP_SYS_PTRACE), it is the collector's only on a port of the running collector's live
    config.
    """
    state = state if isinstance(state, dict) else {}
    live = state.get('live_ports') if isinstance(state.get('live_ports'), list) else []
    live = [p for p in live if isinstance(p, int)]
    units = state.get('units') if isinstance(state.get('units'), dict) else {}
    unit = units.get('%s.service' % settings.get('service_name', 'otelcol'))
    # A reload (SIGHUP) keeps the PID: the unit is reloading, its process still the collector.
    main_pid = unit.get('main_pid') if isinstance(unit, dict) and unit.get('active_state') in ('active', 'reloading') \
        else 0
    main_pid = main_pid if isinstance(main_pid, int) and not isinstance(main_pid, bool) else 0
    out = []
    for port in [int(port_of(e)) for e in endpoints(settings)]:
        for found in state.get('listeners') if isinstance(state.get('listeners'), list) else []:
            if not isinstance(found, dict) or found.get('port') != port:
                continue
            pids = [p for p in found.get('pids') or [] if isinstance(p, int)]
            if pids:
                if pids == [main_pid] and main_pid > 0:
                    continue
                names = found.get('processes') if isinstance(found.get('processes'), list) else []
                names = [str(name) for name in names] + [''] * (len(pids) - len(names))
                holders = ', '.join('%s PID %d' % (name or 'unnamed', pid) for name, pid in zip(names, pids)
                                    if pid != main_pid)
                holders += ', not the main process of %s.service' % settings.get('service_name', 'otelcol')
            elif port in live:
                continue
            else:
                holders = 'a process the module could not name (another user\'s)'
            address = str(found.get('address'))
            out.append('%s:%d held by %s' % ('[%s]' % address if ':' in address else address, port, holders))
    return out


def unit_settings(settings, systemd_environment):
    """The unit's lines for its environment, secret environment file and capabilities (no trailing newline).

    ``systemd_environment`` is the filter that quotes Environment= lines (passed in: this module imports no filter).
    Secret values never appear: the unit names their file and the variables' names only.
    """
    lines = []
    if settings.get('environment'):
        lines.append(systemd_environment(settings['environment']))
    secret = secret_environment(settings)
    if secret:
        lines.append('# Secret environment (%s): in this file, readable by\n# root and %s only, never in this unit.'
                     % (', '.join(sorted(secret)), settings.get('group')))
        lines.append('EnvironmentFile=/etc/otlp-tls/env/%s.service.env' % settings.get('service_name'))
    if any(int(port_of(e)) < 1024 for e in endpoints(settings)):
        lines.append('AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE')
    else:
        lines.append('CapabilityBoundingSet=')
    return '\n'.join(lines)
