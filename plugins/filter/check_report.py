# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The logic of the playbooks' reports (check.yml, rotate.yml, revoke.yml), as pure functions.

check.yml carries the results of M(otlp.tls.x509_info) and M(otlp.tls.tls_probe) here and gets
back the report rows (the JSON report's C(rows)), the verdict and the table; rotate.yml and
revoke.yml get their status lines and name lists. Nothing here touches a host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Documentation: check_targets.yml, check_app_rows.yml, check_collector_row.yml, check_names_used.yml,
# check_hop_target.yml, check_agent_row.yml, check_backend_row.yml,
# check_rows.yml, check_summary.yml, check_table.yml, rotation_status.yml and name_list.yml beside
# this file (one file per filter, so that ansible-doc shows each filter's own).

import base64
import binascii
import datetime
import json
import re

from ansible.module_utils.six import string_types

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - the filter is also imported by plain unit tests
    AnsibleFilterError = ValueError

# Where the exporter role puts the collector's address: the generic endpoint, or one per signal.
ENDPOINT_VARIABLES = ('OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
                      'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT')
DEFAULT_PORTS = {'https': 443, 'http': 80}

# Every row has these keys, in this order (the JSON report's rows).
ROW_DEFAULTS = (
    ('host', '-'), ('role', '-'), ('certificate', '-'), ('units', ()), ('subject', '-'), ('issuer', '-'),
    ('days_left', None), ('not_after', None), ('sans', ()), ('key_matches', None), ('chain_ok', None), ('endpoint', '-'),
    ('handshake', '-'), ('served_by', '-'), ('ok', False), ('problems', ()),
)
NO_ANSWER = 'no answer from the host (unreachable, or it failed before the check)'
ROTATION_PHASES = ('trust', 'reissue', 'retire')


def _row(**values):
    """A report row with every key, lists copied (a row never shares a list with its input)."""
    row = {}
    for key, default in ROW_DEFAULTS:
        value = values.get(key, default)
        row[key] = list(value) if isinstance(value, (list, tuple)) else value
    return row


def _results(registered):
    """The per-item results of a registered loop (or the list itself)."""
    if registered is None:
        return []
    if isinstance(registered, dict):
        return list(registered.get('results') or [])
    return list(registered)


def _skipped(result):
    return not result or bool(result.get('skipped'))


def _sans(info):
    return list(info.get('dns_names') or []) + list(info.get('ip_addresses') or [])


def _yes_no(value):
    if value is None:
        return '-'
    return 'yes' if value else 'NO'


def _unique(values):
    seen, out = set(), []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def _endpoint_of(env):
    for name in ENDPOINT_VARIABLES:
        if env.get(name):
            return env[name]
    return ''


def _address_of(endpoint):
    """Host and port an SDK connects to for ``endpoint``; an empty host when it names none."""
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname or '', parts.port
    except ValueError:
        return '', 0
    return host, port or DEFAULT_PORTS.get(parts.scheme, 0)


def check_targets(plan):
    """The certificates of one app host to check, each once, from the exporter role's plan.

    ``plan`` is ``otlp_tls_exporter_plan``: one dict per unit with ``unit``, ``env`` and
    ``certificate`` (``name``, ``dir``, ...). Units without TLS (no CA file in their
    environment) have nothing to check. Units that share a certificate give one target.
    """
    plan = plan or []
    targets, seen = [], set()
    for app in plan:
        env = app.get('env') or {}
        certificate = app.get('certificate') or {}
        name = certificate.get('name')
        if 'OTEL_EXPORTER_OTLP_CERTIFICATE' not in env or name in seen:
            continue
        seen.add(name)
        endpoint = _endpoint_of(env)
        host, port = _address_of(endpoint)
        targets.append(dict(
            certificate=certificate, env=env, endpoint=endpoint, host=host, port=port,
            mtls='OTEL_EXPORTER_OTLP_CLIENT_KEY' in env,
            units=[other.get('unit') for other in plan if (other.get('certificate') or {}).get('name') == name]))
    return targets


def check_app_rows(targets, certificates, probes, host):
    """One row per target of ``check_targets``, from the registered x509_info and tls_probe loops over them."""
    certificates, probes = _results(certificates), _results(probes)
    if len(certificates) != len(targets) or len(probes) != len(targets):
        raise AnsibleFilterError('check_app_rows: %d targets but %d certificate and %d handshake results; register '
                                 'both loops over the same targets' % (len(targets), len(certificates), len(probes)))
    rows = []
    for target, cert, probe in zip(targets, certificates, probes):
        name = (target.get('certificate') or {}).get('name', '-')
        endpoint = target.get('endpoint') or ''
        problems, values = [], {}
        if _skipped(cert):
            values.update(subject='(server TLS only)')
        else:
            info = cert.get('info') or {}
            problems.extend(cert.get('problems') or [])
            values.update(subject=info.get('subject', '-'), issuer=info.get('issuer', '-'),
                          days_left=info.get('days_left'), not_after=info.get('not_after'), sans=_sans(info),
                          key_matches=cert.get('key_matches'),
                          chain_ok=cert.get('chain_verified'))
        if not endpoint:
            problems.append('no OTLP endpoint in the environment of %s' % ', '.join(map(str, target.get('units') or [])))
            handshake = '-'
        elif not target.get('host'):
            problems.append('no host and port to connect to in the endpoint %s' % endpoint)
            handshake = 'FAILED'
        elif _skipped(probe) or not probe.get('ok'):
            probe = probe or {}
            problems.append('handshake to %s failed at %s: %s'
                            % (endpoint, probe.get('stage', '?'), probe.get('error') or 'no result'))
            handshake = 'FAILED'
        else:
            handshake = 'ok %s' % probe.get('tls_version', '')
        peer = (probe or {}).get('peer') or {}
        rows.append(_row(host=host, role='app', certificate=name, units=target.get('units') or [], endpoint=endpoint,
                         handshake=handshake, served_by=peer.get('subject') or '-', ok=not problems,
                         problems=problems, **values))
    return rows


def check_names_used(app_hosts, hostvars, names):
    """The names among ``names`` (a collector's inventory name and endpoint names) that app hosts use to reach it.

    Read from each app host's ``otlp_tls_exporter_plan`` (its ``collector``); hosts without a plan are left out.
    """
    wanted = set(names or [])
    used = []
    for app_host in app_hosts or []:
        try:
            plan = hostvars[app_host].get('otlp_tls_exporter_plan')
        except KeyError:
            continue
        for app in plan if isinstance(plan, list) else []:
            if isinstance(app, dict) and app.get('collector') in wanted:
                used.append(app['collector'])
    return _unique(used)


def check_collector_row(certificate, host, names_used):
    """The row of a collector, from its registered x509_info result (skipped when it serves no TLS)."""
    certificate = certificate or {}
    endpoint = ','.join(names_used or [])
    if _skipped(certificate):
        return [_row(host=host, role='collector', certificate='collector', endpoint=endpoint, ok=True)]
    info = certificate.get('info') or {}
    problems = certificate.get('problems')
    if problems is None:
        problems = ['the certificate could not be read']
    return [_row(host=host, role='collector', certificate='collector', subject=info.get('subject', '-'),
                 issuer=info.get('issuer', '-'), days_left=info.get('days_left'), not_after=info.get('not_after'),
                 sans=_sans(info), key_matches=certificate.get('key_matches'),
                 chain_ok=certificate.get('chain_verified'), endpoint=endpoint, ok=not problems, problems=problems)]


_GATEWAY = re.compile(r'^(?:dns:///)?(\[[0-9A-Fa-f:.]+\]|[^:/\s]+):([0-9]{1,5})$')


def check_hop_target(endpoint, server_name='', protocol='grpc'):
    """Where a collector's exporter connects and the name it verifies, from its endpoint: an agent's
    ``dns:///NAME:PORT`` or ``HOST:PORT``, a gateway's backend ``HOST:PORT`` or ``https://HOST[:PORT][/path]``.
    ``host`` is empty when the endpoint names none (no hop configured, or not one of these forms)."""
    endpoint = str(endpoint or '')
    host, port = '', 0
    if endpoint.startswith('https://'):
        host, port = _address_of(endpoint)
    else:
        match = _GATEWAY.match(endpoint)
        if match:
            host, port = match.group(1).strip('[]'), int(match.group(2))
    return dict(endpoint=endpoint, host=host, port=port, name=str(server_name or host), protocol=protocol)


def _certificate_values(certificate):
    info = certificate.get('info') or {}
    return dict(subject=info.get('subject', '-'), issuer=info.get('issuer', '-'), days_left=info.get('days_left'),
                not_after=info.get('not_after'), sans=_sans(info), key_matches=certificate.get('key_matches'),
                chain_ok=certificate.get('chain_verified'))


def check_agent_row(certificate, probes, host, target):
    """The row of an agent's hop to the gateways: its own certificate (which it presents to them) and a live mTLS
    handshake with it to every gateway, each verified for the name the agent dials (``target``: check_hop_target)."""
    certificate = certificate or {}
    target = target or {}
    if not target.get('endpoint'):
        return []
    if not target.get('host'):
        return [_row(host=host, role='agent', certificate='collector', endpoint=target.get('endpoint'), problems=[
            'the gateway endpoint %s names no host and port (host:port or dns:///NAME:PORT)' % target.get('endpoint')])]
    problems = list(certificate.get('problems') if certificate.get('problems') is not None
                    else ['the certificate could not be read'])
    results = [probe for probe in _results(probes) if not _skipped(probe)]
    if not results:
        problems.append('no gateway to connect to (is the gateway group empty?)')
    good, served = 0, []
    for probe in results:
        gateway = probe.get('item', '?')
        peer = probe.get('peer') or {}
        if probe.get('ok'):
            good += 1
            served.append('%s (%s days left)' % (gateway, peer.get('days_left', '?')))
        else:
            problems.append('handshake to the gateway %s for %s failed at %s: %s'
                            % (gateway, target.get('name'), probe.get('stage', '?'), probe.get('error') or 'no result'))
    handshake = '%s %d/%d gateways' % ('ok' if results and good == len(results) else 'FAILED', good, len(results))
    return [_row(host=host, role='agent', certificate='collector', endpoint='%s (as %s)' % (
        target.get('endpoint'), target.get('name')), handshake=handshake, served_by=', '.join(served) or '-',
        ok=not problems, problems=problems, **_certificate_values(certificate))]


def check_backend_row(probe, host, target, min_days_left=30):
    """The row of a gateway's hop to the backend: a live TLS handshake as its exporter makes it, and the backend
    certificate's days left (``target``: check_hop_target of the backend endpoint)."""
    probe = probe or {}
    target = target or {}
    if _skipped(probe) or not target.get('host'):
        return []
    peer = probe.get('peer') or {}
    problems = []
    if not probe.get('ok'):
        problems.append('handshake to the backend %s for %s failed at %s: %s' % (
            target.get('endpoint'), target.get('name'), probe.get('stage', '?'), probe.get('error') or 'no result'))
    days = peer.get('days_left')
    if isinstance(days, int) and days < int(min_days_left):
        problems.append("the backend's certificate expires in %d days, fewer than the %d required: tell the backend's "
                        'operator' % (days, int(min_days_left)))
    return [_row(host=host, role='backend', certificate='(the backend\'s)', subject=peer.get('subject', '-'),
                 issuer=peer.get('issuer', '-'), days_left=days, not_after=peer.get('not_after'),
                 sans=list(peer.get('subject_alt_names') or []),
                 endpoint=target.get('endpoint'), handshake='ok %s' % probe.get('tls_version', '') if probe.get('ok')
                 else 'FAILED', served_by=peer.get('subject') or '-', ok=not problems, problems=problems)]


def _ca_files(registered):
    """The slurped files on the CA host, by name, as text; files that could not be read are absent."""
    files = {}
    for result in _results(registered):
        if not isinstance(result, dict) or 'content' not in result:
            continue
        try:
            files[result.get('item')] = base64.b64decode(result['content'], validate=True).decode('utf-8')
        except (binascii.Error, TypeError, ValueError, UnicodeDecodeError):
            raise AnsibleFilterError('check_rows: %s on the CA host is not readable text' % result.get('item'))
    return files


def check_rows(fleet, hostvars, ca_files=None, inventory_hosts=None, now=None):
    """Every row of the report: each host's own rows, and certificates the CA issued that belong to nothing.

    ``fleet`` are the hosts checked (``ansible_play_hosts_all``): a host without
    ``otlp_tls_check_rows`` (unreachable, or it failed before) gets a failing row. A host's rows are
    reported under that host's name whatever they say, so that no host speaks for another.
    ``ca_files`` is the registered slurp of ``ledger.jsonl``, ``revoked.json`` and ``bundle.crt`` on the
    CA host; with a ledger and a bundle, ``ledger_report`` adds a failing row for every certificate still
    valid whose host left ``inventory_hosts`` or no longer has that entry.
    """
    rows = []
    for host in fleet or []:
        try:
            own = hostvars[host].get('otlp_tls_check_rows')
        except KeyError:
            own = None
        if not isinstance(own, list):
            rows.append(_row(host=host, problems=[NO_ANSWER]))
            continue
        rows.extend(_row(**dict(row, host=host)) for row in own if isinstance(row, dict))
    files = _ca_files(ca_files)
    if 'ledger.jsonl' in files and 'bundle.crt' in files:
        from ansible_collections.otlp.tls.plugins.filter.ledger_report import ledger_report
        entries = {}
        for row in rows:
            if row['certificate'] != '-':
                entries.setdefault(row['host'], []).append(row['certificate'])
        for orphan in ledger_report(files['ledger.jsonl'], entries, list(inventory_hosts or []), files['bundle.crt'],
                                    files.get('revoked.json', ''), now=now):
            rows.append(_row(host=orphan['host'], role='ledger', certificate=orphan['entry'],
                             subject=orphan['subject'], days_left=orphan['days_left'], not_after=orphan.get('not_after'),
                             problems=[orphan['why']]))
    return rows


_PROM_ESCAPES = {'\\': '\\\\', '"': '\\"', '\n': '\\n'}


# A label value of the textfile: at most this many characters (a subject or issuer is far shorter).
PROM_LABEL_MAX = 256
_STAMP = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$')


def _prom_label(value):
    """A label value as the text format wants it, whatever a host reported: text, no control character, no lone
    surrogate (which would become an invalid UTF-8 byte, and node_exporter drops a whole file for one), escaped."""
    text = value if isinstance(value, string_types) else str(value)
    text = text.encode('utf-8', 'replace').decode('utf-8', 'replace')
    text = ''.join(char if char >= ' ' and char != '\x7f' else ' ' for char in text)[:PROM_LABEL_MAX]
    return ''.join(_PROM_ESCAPES.get(char, char) for char in text)


def _epoch(stamp):
    return int((datetime.datetime.strptime(stamp, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
                - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds())


# The certificate role's otlp_tls_certificate_renew_before default (days).
DEFAULT_RENEW_BEFORE = 30


def check_prometheus(rows, checked_at, renew_before=None):
    """The report as a Prometheus text-format file for node_exporter's textfile collector: per row with a
    certificate, ``tlscheck_time_left_seconds`` (the name the tls_check receiver's metric gets in Prometheus) as of
    ``checked_at`` (``%Y-%m-%dT%H:%M:%SZ``), ``otlp_tls_certificate_not_after_timestamp_seconds`` and
    ``otlp_tls_check_ok``; and ``otlp_tls_check_last_run_timestamp_seconds``. Label values are escaped; rows are
    in report order, so the file is the same for the same report.

    ``renew_before`` is the ``hosts`` of otlp.tls.inventory_vars reading ``otlp_tls_certificate_renew_before`` (a
    host to its variables; one without it has the certificate role's default, 30 days): the rows of those hosts get
    the label ``otlp_tls_renew_before="<days>d"``, which the renewal alert rules select on, as the collector role's
    resource attribute ``otlp_tls.renew_before`` is. A backend's certificate is the vendor's to renew: its row has no
    such label.
    """
    now = _epoch(checked_at)
    renew_before = renew_before or {}
    left, ends, oks = [], [], []
    for row in rows or []:
        pairs = [('otlp_tls_host', row.get('host', '-')), ('otlp_tls_role', row.get('role', '-')),
                 ('otlp_tls_entry', row.get('certificate', '-')), ('tlscheck_x509_issuer', row.get('issuer', '-')),
                 ('otlp_tls_subject', row.get('subject', '-'))]
        days = (renew_before.get(row.get('host')) or {}).get('otlp_tls_certificate_renew_before', DEFAULT_RENEW_BEFORE) \
            if row.get('host') in renew_before else None
        if days not in (None, '') and row.get('role') != 'backend':
            pairs.append(('otlp_tls_renew_before', '%dd' % int(days)))
        labels = ','.join('%s="%s"' % (name, _prom_label(value)) for name, value in pairs)
        oks.append('otlp_tls_check_ok{%s} %d' % (labels, 1 if row.get('ok') else 0))
        # A time that is not as x509_info writes it (a host can report anything) gives no sample, not a failure.
        if isinstance(row.get('not_after'), string_types) and _STAMP.match(row['not_after']):
            end = _epoch(row['not_after'])
            left.append('tlscheck_time_left_seconds{%s} %d' % (labels, end - now))
            ends.append('otlp_tls_certificate_not_after_timestamp_seconds{%s} %d' % (labels, end))
    out = []
    for name, help_text, lines in (
            ('tlscheck_time_left_seconds', 'Seconds until the certificate expires, as of the check.yml run; '
             'negative after expiry.', left),
            ('otlp_tls_certificate_not_after_timestamp_seconds', 'When the certificate expires (Unix time).', ends),
            ('otlp_tls_check_ok', '1 when every check of the row passed in the check.yml run, else 0.', oks)):
        out.extend(['# HELP %s %s' % (name, help_text), '# TYPE %s gauge' % name] + lines)
    out.extend(['# HELP otlp_tls_check_last_run_timestamp_seconds When check.yml last wrote this file (Unix time).',
                '# TYPE otlp_tls_check_last_run_timestamp_seconds gauge',
                'otlp_tls_check_last_run_timestamp_seconds %d' % now])
    return '\n'.join(out) + '\n'


def check_summary(rows):
    """The verdict: ``ok``, ``total``, ``failed`` and the ``failed_hosts``, in report order."""
    bad = [row for row in rows or [] if not row.get('ok')]
    return dict(ok=not bad, total=len(rows or []), failed=len(bad), failed_hosts=_unique(row.get('host') for row in bad))


TABLE_COLUMNS = ('', 'HOST', 'ROLE', 'CERTIFICATE', 'ISSUER', 'DAYS', 'KEY', 'CHAIN', 'ENDPOINT', 'HANDSHAKE')
RIGHT_ALIGNED = frozenset(('DAYS',))


def _cells(row):
    issuer = row.get('issuer') or '-'
    if issuer.startswith('CN='):
        issuer = issuer[3:]
    days = row.get('days_left')
    return ['ok' if row.get('ok') else 'FAIL', row.get('host'), row.get('role'), row.get('certificate'), issuer,
            '-' if days is None else days, _yes_no(row.get('key_matches')), _yes_no(row.get('chain_ok')),
            row.get('endpoint') or '-', row.get('handshake') or '-']


def check_table(rows, report_path=None, text=False):
    """The report as a table, every value in full: each column as wide as its widest value.

    Each row's problems follow it, one line each; the last line says where the JSON report is.
    A list of lines, or with ``text`` one string (for the YAML result format, which would fold long list items).
    """
    body = [[u'%s' % cell for cell in _cells(row)] for row in rows or []]
    # The status column is as wide as FAIL even when every row is ok, so the header stays put.
    widths = [max([len(title) or len('FAIL')] + [len(cells[i]) for cells in body]) for i, title in enumerate(TABLE_COLUMNS)]

    def line(cells):
        out = [cell.rjust(width) if title in RIGHT_ALIGNED else cell.ljust(width)
               for title, cell, width in zip(TABLE_COLUMNS, cells, widths)]
        return ' '.join(out).rstrip()

    lines = [line(TABLE_COLUMNS)]
    for row, cells in zip(rows or [], body):
        lines.append(line(cells))
        lines.extend('     ! %s %s: %s' % (row.get('host'), row.get('certificate'), problem)
                     for problem in row.get('problems') or [])
    if report_path:
        lines.append('JSON: %s' % report_path)
    return '\n'.join(lines) if text else lines


def rotation_status(state, hosts, ca_host):
    """Lines that say where a CA rotation is: phase, CAs, hosts done and the ``hosts`` still pending."""
    state = state or {}
    phase = state.get('phase', 'none')
    done = state.get('done') or {}
    pending = [host for host in _unique(hosts or []) if host not in (done.get(phase) or [])] \
        if phase in ROTATION_PHASES else []
    return [
        'phase: %s%s' % (phase, ' (nothing under way)' if phase in ('none', 'done') else ''),
        'old CA: %s, new CA: %s' % (state.get('old_fingerprint') or '-', state.get('new_fingerprint') or '-'),
        'done: %s' % json.dumps(done, sort_keys=True),
        'pending in %s: %s' % (phase, ', '.join(pending) if pending else 'none'),
        'state file: %s:%s' % (ca_host, state.get('state_path', '-')),
    ]


def name_list(value):
    """A list of names from a comma-separated string or a list: items trimmed, empty ones dropped."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else (u'%s' % value).split(',')
    names = []
    for item in items:
        item = u'' if item is None else (u'%s' % item).strip()
        if item:
            names.append(item)
    return names


class FilterModule(object):
    def filters(self):
        return {
            'check_targets': check_targets, 'check_app_rows': check_app_rows, 'check_names_used': check_names_used,
            'check_collector_row': check_collector_row, 'check_rows': check_rows, 'check_summary': check_summary,
            'check_table': check_table, 'check_prometheus': check_prometheus, 'rotation_status': rotation_status,
            'name_list': name_list,
            'check_hop_target': check_hop_target, 'check_agent_row': check_agent_row,
            'check_backend_row': check_backend_row,
        }
