# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each host's desired state, worked out on the controller, and its comparison with what the host has.

Controller-side only (action plugins and filters import it). Three steps, all pure functions:

* the plan: ``certificate_entries`` (the certificate role's entries from its settings),
  ``exporter_plan`` (each unit's environment, drop-in and client certificate);
* the problems: ``certificate_problems``, ``exporter_problems``, each naming the host, the item and the fix;
* the decision, from the plan and the one read of the host (``otlp.tls.host_state``):
  ``module_utils/cert_decision.certificate_decisions`` (why each certificate needs the signing path, empty when it
  is good as it is; host_state's prepare runs it too) and ``dropin_changes`` (which units' drop-in or secret environment file differ).

A decision may say "work needed" when in doubt (the full path is then run, which is always correct); it says
"nothing to do" only when every file is exactly what the full path would leave.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import re

from ansible.module_utils.common.text.converters import to_bytes

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.otlp.tls.plugins.module_utils.cert_decision import attributes_differ as _attributes_differ
from ansible_collections.otlp.tls.plugins.module_utils.csr import csr_params, csr_spec
from ansible_collections.otlp.tls.plugins.module_utils.pki import KEY_TYPES, covers_name, split_names

PROFILES = ('server', 'client', 'both')
KEY_MODES = ('0600', '0640', '0400', '0440')
FILE_NAME = re.compile(r'^[A-Za-z0-9_.@-]+$')
# Server TLS without client certificates: the apps' one trust bundle (the exporter role writes it).
TRUST_DIR = '/etc/otlp-tls/trust'
TRUST_BUNDLE = TRUST_DIR + '/ca.pem'


class PlanError(Exception):
    """A setting that can not be planned; the message names the host, the item and the fix."""


# ---------------------------------------------------------------------------
# Certificate role
# ---------------------------------------------------------------------------

CERTIFICATE_KEYS = ('dir', 'profile', 'common_name', 'subject_alt_names', 'owner', 'group', 'key_mode',
                    'provided_certificate', 'provided_private_key', 'provided_chain')


def certificate_entries(items, defaults):
    """The certificates of a host, each with every setting filled in.

    ``items`` is otlp_tls_certificate_list (empty: one certificate from ``defaults``); ``defaults`` holds name, dir,
    profile, common_name, subject_alt_names (already with the extra ones), owner, group, key_mode and the provided_*
    files. An item's dir defaults to /etc/otlp-tls/<name> when it comes from the list.
    """
    from_list = bool(items)
    out = []
    for item in (items if from_list else [{}]):
        if not isinstance(item, dict):
            item = {'name': item}
        name = item.get('name', defaults.get('name'))
        entry = {'name': name}
        for key in CERTIFICATE_KEYS:
            entry[key] = item[key] if key in item else defaults.get(key)
        if 'dir' not in item and from_list:
            entry['dir'] = '/etc/otlp-tls/%s' % name
        entry['key_mode'] = str(entry['key_mode'])
        entry['subject_alt_names'] = list(entry['subject_alt_names'] or [])
        out.append(entry)
    return out


def certificate_problems(entries, settings, host):
    """Why these entries and settings can not be used; empty when they can."""
    problems = []
    source = settings.get('source')
    try:
        validity, renew = int(settings.get('validity_days')), int(settings.get('renew_before_days'))
    except (TypeError, ValueError):
        validity, renew = 0, -1
    if not 0 <= renew < validity:
        problems.append('renew_before (%s) must be at least 0 and below validity_days (%s), or every run re-issues: '
                        'fix otlp_tls_certificate_renew_before / otlp_tls_certificate_validity_days'
                        % (settings.get('renew_before_days'), settings.get('validity_days')))
    if source not in ('generated', 'provided'):
        problems.append('otlp_tls_certificate_source must be generated or provided, got %r' % (source,))
    if settings.get('key_location') not in ('host', 'ca_host'):
        problems.append('otlp_tls_certificate_key_location must be host or ca_host, got %r' % (settings.get('key_location'),))
    # Checked here as well as by the role's argument spec: the exporter includes the role without it (planned.yml).
    if 'key_type' in settings and settings.get('key_type') not in KEY_TYPES:
        problems.append('otlp_tls_certificate_key_type must be one of %s, got %r'
                        % (', '.join(KEY_TYPES), settings.get('key_type')))
    if not isinstance(settings.get('organization') or '', str):
        problems.append('otlp_tls_certificate_organization must be text, got %r' % (settings.get('organization'),))
    if source == 'generated' and settings.get('ca_source') != 'generated':
        problems.append('generated certificates need otlp_tls_ca_source=generated (a provided CA has no key here to '
                        'sign with): set otlp_tls_certificate_source=provided with your files, or let otlp.tls make the CA')
    if source == 'provided' and settings.get('ca_source') != 'provided':
        problems.append('with otlp_tls_certificate_source=provided, otlp_tls_ca_source must be provided with '
                        'otlp_tls_ca_provided_bundle naming your CA bundle')
    seen_names, seen_dirs = set(), set()
    for index, entry in enumerate(entries):
        label = 'certificate %s' % (entry.get('name') if entry.get('name') else '#%d' % (index + 1))
        name, directory = entry.get('name'), entry.get('dir')
        if not isinstance(name, str) or not FILE_NAME.match(name):
            problems.append('%s: the name must be a plain file name (letters, digits and _.@-), got %r' % (label, name))
        elif name in seen_names:
            problems.append('%s: the name is used twice; give each item of otlp_tls_certificate_list its own name' % label)
        if not isinstance(directory, str) or not directory.startswith('/'):
            problems.append('%s: dir must be an absolute path, got %r' % (label, directory))
        elif directory in seen_dirs:
            problems.append('%s: the directory %s is used twice; give each certificate its own dir' % (label, directory))
        seen_names.add(name)
        seen_dirs.add(directory)
        if entry.get('profile') not in PROFILES:
            problems.append('%s: profile must be one of %s, got %r' % (label, ', '.join(PROFILES), entry.get('profile')))
        if entry.get('key_mode') not in KEY_MODES:
            problems.append('%s: key_mode must be one of %s (keys are never world-readable), got %r'
                            % (label, ', '.join(KEY_MODES), entry.get('key_mode')))
        if not isinstance(entry.get('subject_alt_names'), list):
            problems.append('%s: subject_alt_names must be a list of names and addresses' % label)
        if source == 'provided':
            for key in ('provided_certificate', 'provided_private_key'):
                if not entry.get(key):
                    problems.append('%s: with otlp_tls_certificate_source=provided it needs %s (a file on the '
                                    'controller)' % (label, key))
    return ['Invalid certificate settings for %s: %s.' % (host, '; '.join(problems))] if problems else []


# ---------------------------------------------------------------------------
# Exporter role
# ---------------------------------------------------------------------------

def unit_of(name):
    """``name`` as a service unit: ``checkout`` and ``checkout.service`` are both ``checkout.service``."""
    name = str(name or '')
    return name if name.endswith('.service') else name + '.service'


def short_unit(name):
    return re.sub(r'[.]service$', '', str(name or ''))


def exporter_units(apps):
    """The units of otlp_tls_exporter_apps, as host_state reads them."""
    return [unit_of(app.get('unit')) for app in apps or [] if isinstance(app, dict) and app.get('unit')]


def exporter_certificates(apps, settings, host, plan=None):
    """The client certificates of this host's units, as the certificate role's list.

    Names, subjects and profile come from the inventory alone (so that the CA side can work them out without anything
    the host reported); owner and group from ``plan`` (the units' users), root where that is not known.
    """
    known = {}
    for entry in plan or []:
        known.setdefault(entry['certificate']['name'], entry['certificate'])
    out, seen = [], set()
    for app in apps or []:
        unit = short_unit(app.get('unit'))
        name = unit if settings.get('certificate_scope', 'unit') == 'unit' else 'app'
        if name in seen:
            continue
        seen.add(name)
        out.append({'name': name, 'dir': '/etc/otlp-tls/' + name, 'profile': 'client', 'key_mode': '0600',
                    'owner': known.get(name, {}).get('owner', 'root'), 'group': known.get(name, {}).get('group', 'root'),
                    'common_name': '%s@%s' % (unit, host), 'subject_alt_names': [host]})
    return out


# x509_sign's limit on a request's CSR and existing certificate (64 KiB).
MAX_PEM = 64 * 1024
PREPARED_ENTRY_KEYS = ('dir', 'owner', 'group', 'key_mode', 'common_name', 'subject_alt_names', 'profile')
# What a prepared CSR result may carry (x509_csr's return values), each of a plain type: the result comes from the
# host, and a key Ansible acts on (add_host, add_group, _ansible_*) would change the run for every host.
PREPARED_RESULT_KEYS = dict(changed=bool, csr=str, existing_certificate=str, key_type=str, public_key_fingerprint=str,
                            private_key_changed=bool, private_key_reason=str, staged=bool, staged_private_key_path=str,
                            staged_key_promoted=bool)


def prepared_result(result):
    """The keys of PREPARED_RESULT_KEYS of a host's prepared CSR result, each of its type, and a diff of text only;
    None when the CSR is missing."""
    if not isinstance(result, dict) or not isinstance(result.get('csr'), str) or not result['csr']:
        return None
    # As x509_sign caps a PEM: a host can not send the CA host a huge request in the batch's one call.
    if len(result['csr']) > MAX_PEM or len(result.get('existing_certificate') or '') > MAX_PEM:
        return None
    out = dict((key, result[key]) for key, kind in PREPARED_RESULT_KEYS.items() if isinstance(result.get(key), kind))
    diff = result.get('diff')
    if isinstance(diff, dict):
        out['diff'] = dict((key, diff[key]) for key in ('before', 'after', 'before_header', 'after_header')
                           if isinstance(diff.get(key), str))
    return out


def normalized(spec, args):
    """The options of ``args`` as the module would see them: defaults filled in, booleans and lists of text."""
    out = {}
    for name, option in spec.items():
        value = args.get(name, option.get('default'))
        if value is None:
            out[name] = None
        elif option.get('type') == 'bool':
            out[name] = boolean(value, strict=False)
        elif option.get('type') == 'list':
            out[name] = [str(item) for item in value] if isinstance(value, (list, tuple)) else value
        else:
            out[name] = str(value)
    return out


def usable(prepared, args):
    """Whether ``prepared`` (host_state's CSR for this entry, with the options it was made with) is the CSR these
    ``args`` would make: same key path, type, names, profile, owner, group and modes."""
    if not isinstance(prepared, dict) or prepared_result(prepared) is None:
        return False
    made_with = prepared.get('prepared_params')
    if not isinstance(made_with, dict):
        return False
    spec = csr_spec()
    return normalized(spec, made_with) == normalized(spec, args)


def prepare_option(certificates, plan, settings, certificate_settings, ca, units):
    """host_state's ``prepare`` for these client certificates, or None: only for keys made on the host, certificates made
    by otlp.tls, and a known CA (the decision needs it).

    ``plan``: exporter_plan's entries (which units use which certificate). The host works out owner and group from the
    units as exporter_plan does: a unit's user and group (certificate scope unit), or the one user all units share and
    root (scope host).
    """
    ca = ca or {}
    if (certificate_settings.get('source') != 'generated' or certificate_settings.get('key_location') != 'host'
            or not ca.get('certificate') or not ca.get('bundle')
            # A key type the plan refuses (certificate_problems): nothing may change before it.
            or certificate_settings.get('key_type') not in KEY_TYPES):
        return None
    per_unit = settings.get('certificate_scope', 'unit') == 'unit'
    entries = []
    for cert in certificates:
        users = [e['unit'] for e in plan or [] if e['certificate']['name'] == cert['name']]
        entries.append(dict(name=cert['name'], dir=cert['dir'], owner_units=users if per_unit else list(units),
                            group=None if per_unit else 'root', key_mode=cert['key_mode'],
                            common_name=cert['common_name'], subject_alt_names=list(cert['subject_alt_names']),
                            profile=cert['profile']))
    settings = dict((k, certificate_settings.get(k)) for k in ('renew_before_days', 'key_type', 'organization'))
    settings.update((k, boolean(certificate_settings.get(k) or False, strict=False)) for k in ('force', 'rotate_key'))
    return dict(ca=dict(certificate=ca['certificate'], bundle=ca['bundle']), units=list(units), entries=entries,
                settings=settings)


def unchanged_files(expected, digest_key):
    """host_state's prepare.unchanged for ``expected`` (expected_dropins, per unit): everything dropin_changes compares,
    so that the read prepares nothing where the plan will find a drop-in to change: each drop-in's sha256 and its
    directory, and each secret environment file's HMAC under ``digest_key`` (empty: the file must not exist) and its
    directory, with their owners, groups and modes (the file's group is its unit's, as the host reads it)."""
    out = []
    for unit, want in sorted(expected.items()):
        paths = want['paths']
        out.append(dict(path=paths['dropin'], sha256=hashlib.sha256(to_bytes(want['dropin'])).hexdigest(),
                        owner='root', group='root', mode='0644'))
        out.append(dict(path=paths['dir'], owner='root', group='root', mode='0755'))
        if want['env'] is None:
            out.append(dict(path=paths['env'], hmac=''))
        else:
            out.append(dict(path=paths['env'], hmac=digest(digest_key, want['env']), owner='root', group_unit=unit,
                            mode='0640'))
            out.append(dict(path=paths['env_dir'], owner='root', group='root', mode='0711'))
    return out


def prepared_csrs(prepared, certificates, todo):
    """The CSRs host_state made for this plan, by name, each with ``prepared_params`` (the x509_csr options it was made
    with): only for certificates in ``todo`` whose entry is the plan's (owner, group, names, ...). Anything else, and
    anything malformed, is left to x509_csr."""
    out = {}
    if not isinstance(prepared, dict):
        return out
    wanted = dict((c['name'], c) for c in certificates or [])
    for name, done in prepared.items():
        want = wanted.get(name)
        if name not in (todo or []) or want is None or not isinstance(done, dict):
            continue
        result, entry, params = prepared_result(done.get('result')), done.get('entry'), done.get('params')
        if result is None or not isinstance(entry, dict) or not isinstance(params, dict):
            continue
        if any(entry.get(key) != want.get(key) for key in PREPARED_ENTRY_KEYS):
            continue
        out[name] = dict(result, prepared_params=params)
    return out


def signs_prepared(certificates, todo, prepared, certificate_settings):
    """Whether the exporter role signs ``todo`` itself (roles/exporter/tasks/sign.yml), without the certificate role: every
    certificate in it has a CSR the read made (``prepared``, prepared_csrs) with exactly the options the certificate
    role's CSR task would pass (csr_params), for a key made on the host by otlp.tls."""
    settings = certificate_settings or {}
    if not todo or settings.get('source') != 'generated' or settings.get('key_location') != 'host':
        return False
    entries = dict((c['name'], c) for c in certificates or [])
    return all(name in entries and usable((prepared or {}).get(name), csr_params(entries[name], settings))
               for name in todo)


def exporter_grants(resolved):
    """What the inventory grants each host for the exporter role's own signing (sign.yml), in the form of the
    certificate role's grants (sign_requests): ``resolved`` is otlp.tls.inventory_vars' ``hosts`` for
    otlp_tls_exporter_tls_mode, otlp_tls_exporter_certificates and __otlp_tls_exporter_certificate_settings. Only a
    host the inventory gives mTLS with keys made on the host by otlp.tls gets a grant (a host that says so only in its
    facts gets none, and nothing signed)."""
    out = {}
    for host, values in (resolved or {}).items():
        settings = values.get('__otlp_tls_exporter_certificate_settings') if isinstance(values, dict) else None
        if not isinstance(settings, dict) or values.get('otlp_tls_exporter_tls_mode') != 'mtls' \
                or settings.get('source') != 'generated' or settings.get('key_location') != 'host':
            continue
        out[host] = dict(wanted=list(values.get('otlp_tls_exporter_certificates') or []),
                         organization=settings.get('organization') or '', validity_days=settings.get('validity_days'),
                         renew_before=settings.get('renew_before_days'), force=settings.get('force'),
                         key_location='host', key_type=settings.get('key_type'))
    return out


def prepared_signers(hosts, hostvars, register):
    """The hosts whose exporter plan (registered as ``register`` in this play) signs its own prepared CSRs.

    A host's registered result is the controller's (otlp.tls.exporter_plan); anything but a dict that says so, with a
    list of certificates to do, counts as nothing."""
    out = []
    for host in hosts or []:
        plan = hostvars[host].get(register) if host in hostvars else None
        if isinstance(plan, dict) and plan.get('sign_prepared') is True and isinstance(plan.get('certificates_todo'), list) \
                and plan['certificates_todo']:
            out.append(host)
    return out


def for_host(mapping, host):
    """The (entry, value) pairs of x509_sign's host:entry keys that belong to ``host`` (entry names hold no colon)."""
    out = []
    for key, value in sorted((mapping or {}).items()):
        owner, _sep, entry = key.rpartition(':')
        if owner == host:
            out.append((entry, value))
    return out


def unsigned(signed, host, todo, nothing_to_sign_with=False):
    """Why ``host`` got no certificate for an entry of ``todo`` from x509_sign's result ``signed`` (skipped when no
    request was made): the CA's refusals, and each entry nothing was signed for (the inventory granted none). A revoked
    entry is left out on purpose (the host goes on). ``nothing_to_sign_with``: a check run against a CA not made yet,
    which signs nothing and stops nobody. (A provided CA never gets here: the plan refuses generated certificates with
    it, certificate_problems, from the CA's source as the CA role read it.)"""
    if nothing_to_sign_with or not todo:
        return []
    signed = signed if isinstance(signed, dict) else {}
    certificates = signed.get('certificates') if isinstance(signed.get('certificates'), dict) else {}
    refused = signed.get('refused') if isinstance(signed.get('refused'), dict) else {}
    revoked = signed.get('revoked') if isinstance(signed.get('revoked'), list) else []
    out = [reason for _entry, reason in for_host(refused, host)]
    for name in todo:
        key = '%s:%s' % (host, name)
        if key not in certificates and key not in refused and key not in revoked:
            out.append('host %s, certificate %s: the inventory grants no such client certificate, so nothing was signed '
                       'for it. Set otlp_tls_exporter_apps, otlp_tls_exporter_tls_mode (mtls), '
                       'otlp_tls_certificate_source (generated) and otlp_tls_certificate_key_location (host) in the '
                       'inventory, group_vars, host_vars, the play or extra vars, not with set_fact or from facts'
                       % (host, name))
    return out


def exporter_input_problems(apps, settings, host):
    """Problems found before the host is read: the shape of otlp_tls_exporter_apps and the collector name."""
    problems = []
    if not isinstance(apps, list):
        return ['otlp_tls_exporter_apps must be a list of apps (dicts with unit and language), got %s'
                % type(apps).__name__]
    units = []
    for index, app in enumerate(apps):
        if not isinstance(app, dict) or not app.get('unit') or not app.get('language'):
            # Names only, never the item: its headers are secrets.
            keys = sorted(str(k) for k in app) if isinstance(app, dict) else []
            problems.append('app #%d of otlp_tls_exporter_apps needs a unit and a language (it has: %s)'
                            % (index + 1, ', '.join(keys) or 'nothing'))
            continue
        units.append(short_unit(app['unit']))
    twice = sorted(set(u for u in units if units.count(u) > 1))
    if twice:
        problems.append('each unit may appear once in otlp_tls_exporter_apps (twice: %s)' % ', '.join(twice))
    collector = settings.get('collector') or ''
    if apps and not collector and not all(isinstance(a, dict) and a.get('collector') for a in apps):
        problems.append('no collector to export to: set otlp_tls_exporter_collector or put the collector in the group %s'
                        % settings.get('collector_group', 'otlp_collectors'))
    for name in [collector] + [a.get('collector') for a in apps if isinstance(a, dict) and a.get('collector')]:
        if name and ('://' in str(name) or '/' in str(name)):
            problems.append('the collector %r must be a host name, without scheme or path' % name)
    return ['Invalid exporter settings for %s: %s.' % (host, '; '.join(problems))] if problems else []


def exporter_plan(apps, settings, host, units_state, exporter_env):
    """Each app's unit, environment and client certificate, and the problems that stop this host.

    ``exporter_env`` is the exporter_env filter (passed in, so that this module does not import filter plugins);
    an error it raises becomes a problem that names the unit.
    """
    scope = settings.get('certificate_scope', 'unit')
    mode = settings.get('tls_mode', 'mtls')
    plan, problems = [], []
    users = []
    for app in apps:
        info = (units_state or {}).get(unit_of(app['unit']))
        if info and info.get('user') not in users:
            users.append(info.get('user'))
    for app in apps:
        unit = unit_of(app['unit'])
        name = short_unit(unit)
        info = (units_state or {}).get(unit) or {'load_state': 'not-found', 'active_state': 'inactive',
                                                 'user': 'root', 'group': 'root'}
        cert_name = name if scope == 'unit' else 'app'
        cert_dir = '/etc/otlp-tls/' + cert_name
        tls = {'mode': mode, 'ca_file': cert_dir + '/ca.pem' if mode == 'mtls' else TRUST_BUNDLE,
               'cert_file': cert_dir + '/cert.pem', 'key_file': cert_dir + '/key.pem'}
        collector = {'host': app.get('collector') or settings.get('collector'),
                     'grpc_port': settings.get('grpc_port'), 'http_port': settings.get('http_port')}
        attributes = dict(settings.get('resource_attributes') or {})
        attributes.update(app.get('resource_attributes') or {})
        wanted = {'language': app['language'], 'protocol': app.get('protocol', settings.get('protocol')),
                  'signals': app.get('signals', settings.get('signals')), 'service_name': app.get('service_name', name),
                  'resource_attributes': attributes, 'headers': app.get('headers') or {},
                  'timeout': app.get('timeout', settings.get('timeout')),
                  'compression': app.get('compression', settings.get('compression')),
                  'endpoint_mode': app.get('endpoint_mode', 'generic')}
        try:
            env = exporter_env(wanted, collector, tls, secrets='exclude')
        except Exception as exc:  # pylint: disable=broad-except  # the filter's message, for this unit
            problems.append('%s: %s' % (unit, exc))
            continue
        plan.append({
            'unit': unit, 'name': name, 'language': app['language'], 'load_state': info.get('load_state'),
            'active': info.get('active_state') == 'active', 'user': info.get('user'), 'group': info.get('group'),
            'collector': collector['host'], 'env': env, 'header_names': sorted(app.get('headers') or {}),
            'certificate': {'name': cert_name, 'dir': cert_dir, 'profile': 'client',
                            'owner': info.get('user') if scope == 'unit' else (users[0] if users else 'root'),
                            'group': info.get('group') if scope == 'unit' else 'root',
                            'key_mode': '0600', 'common_name': '%s@%s' % (name, host), 'subject_alt_names': [host]}})
    missing = [e['unit'] for e in plan if e['load_state'] != 'loaded']
    if missing:
        problems.append('The systemd units %s do not exist on %s: install the apps first, or fix the unit names in '
                        'otlp_tls_exporter_apps.' % (', '.join(missing), host))
    if scope == 'host' and len(users) > 1:
        problems.append('With otlp_tls_exporter_certificate_scope=host every unit must run as the same user (they run '
                        'as %s); use certificate_scope unit so that each key is readable by its own unit only.'
                        % ', '.join(users))
    return plan, problems


def collector_names(collectors, endpoint_names):
    """Which inventory host answers to each collector name: its inventory name and its endpoint names."""
    out = {}
    for host in collectors or []:
        for name in [host] + list(endpoint_names.get(host) or []):
            out.setdefault(name, host)
    return out


def collectors_to_read(name_to_host, served, path):
    """The collector hosts whose certificate a run_once task must read on the host: those that did not tell this run
    what theirs covers (``served``, per host: what the collector role set after it checked its certificate at
    ``path``). Every such host of the group, not only those the batch's apps use: their names come from the apps'
    variables, which play, include and role vars may set where a filter can not see them."""
    out = []
    for host in name_to_host.values() if isinstance(name_to_host, dict) else []:
        if host not in out and not served_here(served, host, path):
            out.append(host)
    return sorted(out)


def served_here(served, host, path):
    value = (served or {}).get(host)
    return isinstance(value, dict) and value.get('path') == path and _texts(value.get('names'))


def collector_coverage(name_to_host, results, served, path, group):
    """What each collector's certificate covers, for exporter_plan's ``collectors`` option.

    ``results``: the loop results of the run_once x509_info task (item: the collector host); ``served``: per host,
    what the collector role set in this run (names its certificate was issued and checked for). A host in neither
    has nothing: the plan says so for any app that would use it.
    """
    certificates = {}
    for host in set((name_to_host or {}).values()):
        if served_here(served, host, path):
            dns, ips = split_names(served[host]['names'])
            dns = [name.lower().rstrip('.') for name in dns]
            certificates[host] = dict(dns_names=dns, ip_addresses=ips, problems=[],
                                      subject='the certificate %s on %s' % (path, host))
    for result in results or []:
        host = result.get('item')
        if not isinstance(host, str) or result.get('skipped') or host in certificates:
            continue
        # What the collector answered is checked for shape: a malformed answer is that collector's problem only.
        info = result.get('info') if isinstance(result.get('info'), dict) else {}
        dns, ips, subject = info.get('dns_names', []), info.get('ip_addresses', []), info.get('subject', path)
        if result.get('unreachable') or not _texts(result.get('problems')):
            certificates[host] = dict(error=str(result.get('msg') or 'no answer'))
        elif not (_texts(dns) and _texts(ips) and isinstance(subject, str)):
            certificates[host] = dict(error='its answer is not what otlp.tls.x509_info returns')
        else:
            # No info: the file does not exist (its problem says so).
            certificates[host] = dict(dns_names=list(dns), ip_addresses=list(ips), problems=list(result['problems']),
                                      exists=bool(info), subject=subject)
    return dict(check=True, group=group, names=dict(name_to_host or {}), certificates=certificates)


def _texts(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# The name apps on an agent's host send to: the collector role maps it to 127.0.0.1 on that host alone, and only that
# host's agent certificate carries it (a shared name such as 127.0.0.1 would let one agent's key serve on every host).
AGENT_NAME = 'otlp-agent.%s'


def collector_problems(plan, collectors, host, check_mode=False):
    """Why this host's apps would reach a collector name that no collector certificate covers (or no collector
    answers); ``plan``: exporter_plan's entries; ``collectors``: collector_coverage."""
    if not collectors or not collectors.get('check'):
        return []
    names = []
    for entry in plan or []:
        if entry['collector'] not in names:
            names.append(entry['collector'])
    name_to_host = collectors.get('names') or {}
    certificates = collectors.get('certificates') or {}
    problems = []
    # otlp-agent.<this host> is this host's own agent, when the host is one of those read.
    own_agent = AGENT_NAME % host if host in set(name_to_host.values()) else None
    unknown = [n for n in names if n not in name_to_host and n != own_agent]
    if unknown:
        problems.append('Apps on %s would connect to %s, which is neither a host of the group %s nor one of their '
                        'otlp_tls_collector_endpoint_names, so no collector certificate would carry it: add it to that '
                        "collector's otlp_tls_collector_endpoint_names (in the inventory) and converge the collector "
                        "first, or point otlp_tls_exporter_collector at a collector's name."
                        % (host, ', '.join(unknown), collectors.get('group')))
    found = []
    for name in names:
        if name in unknown:
            continue
        cert = certificates.get(host if name == own_agent else name_to_host[name])
        if cert is None:
            found.append('the certificate of %s was not read' % name)
        elif 'error' in cert:
            found.append('the certificate of %s could not be read: %s' % (name, cert['error']))
        else:
            for problem in cert['problems']:
                if problem not in found:
                    found.append(problem)
            if cert.get('exists', True) and not covers_name((cert['dns_names'], cert['ip_addresses']), name):
                found.append('the subjectAltNames of %s (%s) do not cover %s: reissue it with these names' % (
                    cert['subject'], ', '.join(cert['dns_names'] + cert['ip_addresses']) or 'none', name))
    if check_mode:
        # A check run of a fresh fleet has no collector certificate yet: the collector play would make it.
        found = [p for p in found if 'does not exist' not in p]
    if found:
        problems.append('Apps on %s would connect to a collector whose certificate they can not verify: %s. Add the '
                        "name to the collector's otlp_tls_collector_endpoint_names and converge the collector first, or "
                        'point otlp_tls_exporter_collector at a name its certificate holds.'
                        % (host, '; '.join('on the collector: ' + p for p in found)))
    return problems


# ---------------------------------------------------------------------------
# Drop-ins
# ---------------------------------------------------------------------------

def digest(key, text):
    return hmac.new(to_bytes(key), to_bytes(text), hashlib.sha256).hexdigest()


def dropin_paths(unit, name, systemd_dir='/etc/systemd/system', environment_dir='/etc/otlp-tls/env'):
    return {'dir': '%s/%s.d' % (systemd_dir, unit), 'dropin': '%s/%s.d/%s' % (systemd_dir, unit, name),
            'env': '%s/%s.env' % (environment_dir, unit), 'env_dir': environment_dir}


def trust_differs(files, bundle):
    """Whether the server-TLS trust bundle (TRUST_BUNDLE, its directory) differs from ``bundle`` (host_state's files)."""
    have = files.get(TRUST_BUNDLE) or {}
    return (have.get('sha256') != hashlib.sha256(to_bytes(bundle or '')).hexdigest()
            or _attributes_differ(have, 'root', 'root', '0644')
            or _attributes_differ(files.get(TRUST_DIR), 'root', 'root', '0755'))


def dropin_changes(expected, files, digest_key):
    """The units whose drop-in, its directory or secret environment file differ from ``expected``.

    ``expected``: per unit a dict with paths (dropin_paths), ``dropin`` (the text) and ``env`` (the environment file's
    text, None when the unit has no secret), ``group`` (of the environment file). ``files``: host_state's result.
    """
    changed = []
    for unit, want in expected.items():
        paths = want['paths']
        dropin = files.get(paths['dropin']) or {}
        env = files.get(paths['env']) or {}
        same = (dropin.get('sha256') == hashlib.sha256(to_bytes(want['dropin'])).hexdigest()
                and not _attributes_differ(dropin, 'root', 'root', '0644')
                and not _attributes_differ(files.get(paths['dir']), 'root', 'root', '0755'))
        if want['env'] is None:
            same = same and not env.get('exists')
        else:
            same = (same and env.get('hmac') == digest(digest_key, want['env'])
                    and not _attributes_differ(env, 'root', want['group'], '0640')
                    and not _attributes_differ(files.get(paths['env_dir']), 'root', 'root', '0711'))
        if not same:
            changed.append(unit)
    return changed
