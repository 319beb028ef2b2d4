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

ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
CONTROL = re.compile(r'[\x00-\x1f\x7f]')
ENDPOINT = re.compile(r'^[^\s:]*:[0-9]{1,5}$')
CHECKSUM = re.compile(r'^sha256:[0-9a-fA-F]{64}$')


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
        if name == 'grpc' and settings.get('grpc_max_connection_age'):
            protocol['keepalive'] = {'server_parameters': {
                'max_connection_age': settings['grpc_max_connection_age'],
                'max_connection_age_grace': settings.get('grpc_max_connection_age_grace')}}
        protocols[name] = protocol
    out = {'receivers': {'otlp': {'protocols': protocols}}}
    for section in ('extensions', 'processors', 'exporters'):
        if settings.get(section):
            out[section] = settings[section]
    service = {'pipelines': settings.get('pipelines')}
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
    if found:
        out.append('Invalid collector settings for %s: %s.' % (host, '; '.join(found)))
    return out


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
    secret = settings.get('secret_environment') or {}
    if secret:
        lines.append('# Secret environment (%s): in this file, readable by\n# root and %s only, never in this unit.'
                     % (', '.join(sorted(secret)), settings.get('group')))
        lines.append('EnvironmentFile=/etc/otlp-tls/env/%s.service.env' % settings.get('service_name'))
    if any(int(port_of(e)) < 1024 for e in endpoints(settings)):
        lines.append('AmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE')
    else:
        lines.append('CapabilityBoundingSet=')
    return '\n'.join(lines)
