# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' plans as filters: thin wrappers over plugins/plugin_utils/host_plan.py and collector_plan.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hmac

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.six import string_types
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.otlp.tls.plugins.filter.exporter_env import systemd_environment
from ansible_collections.otlp.tls.plugins.module_utils import components
from ansible_collections.otlp.tls.plugins.plugin_utils import collector_plan, host_plan


def certificate_entries(items, **defaults):
    """otlp_tls_certificate_list (or one certificate from the defaults), every setting filled in."""
    if items is not None and not isinstance(items, list):
        raise AnsibleFilterError('otlp_tls_certificate_list must be a list of dicts, each with at least a name')
    return host_plan.certificate_entries(items or [], defaults)


def exporter_certificates(apps, host, certificate_scope='unit', plan=None):
    """The client certificates of a host's units, as the certificate role's list (names from the inventory alone)."""
    if not isinstance(apps, list):
        return []
    apps = [a for a in apps if isinstance(a, dict) and a.get('unit')]
    return host_plan.exporter_certificates(apps, {'certificate_scope': certificate_scope}, host, plan)


def collector_names(collectors):
    """Which inventory host answers to each collector name: its inventory name and its otlp_tls_collector_endpoint_names.

    ``collectors`` is the registered result of otlp.tls.inventory_vars over the collector group (the inventory's view,
    never a host's facts).
    """
    hosts = (collectors or {}).get('hosts') or {}
    names = dict((host, (values or {}).get('endpoint_names') or []) for host, values in hosts.items())
    return host_plan.collector_names(list(hosts), names)


def _served(collectors, hostvars):
    """What each collector host's role set in this run about its certificate (roles/collector/tasks/tls_files.yml)."""
    hosts = (collectors or {}).get('hosts') or {}
    return dict((host, hostvars[host].get('__otlp_tls_collector_covers')) for host in hosts if host in hostvars)


def collectors_to_read(collectors, hostvars, path):
    """The collector hosts whose certificate the exporter role reads before its plan: every host of the collector group
    (``collectors``: the registered result of otlp.tls.inventory_vars over it, so no other host is ever read) that
    did not tell this run what its certificate covers (the collector role does, after it checked it)."""
    return host_plan.collectors_to_read(collector_names(collectors), _served(collectors, hostvars), path)


def collector_coverage(collectors, results, hostvars, check):
    """exporter_plan's ``collectors`` option: what each collector's certificate covers, from the read above
    (``results``) or from what the collector role set in this run. ``check``: the resolved check settings."""
    check = check or {}
    # boolean(): 'false' from an INI inventory or -e is false.
    enabled = bool(collectors) and not (collectors or {}).get('skipped') and \
        boolean(check.get('check_collector_certificate') or False, strict=False)
    if not enabled:
        return dict(check=False)
    path = check.get('collector_certificate')
    return host_plan.collector_coverage(collector_names(collectors), results, _served(collectors, hostvars), path,
                                        check.get('collector_group'))


def certificates_changed(plan, installed, among=None):
    """The names of this run's certificates whose files changed: planned for work and installed with a change.

    ``among``: only these names (the exporter passes the ones its plan of this run sent to the certificate role, so
    that a result left by an earlier play never counts).
    """
    todo = (plan or {}).get('todo') or []
    return [r['item']['name'] for r in (installed or {}).get('results') or []
            if r.get('changed') and isinstance(r.get('item'), dict) and r['item'].get('name') in todo
            and (among is None or r['item']['name'] in among)]


def installed_paths_changed(installed, plan):
    """The paths x509_install changed in this run: only from the entries the plan of this run had work for, so that a
    result an earlier play left never counts."""
    todo = (plan or {}).get('todo') or []
    out = []
    for result in (installed or {}).get('results') or []:
        if isinstance(result.get('item'), dict) and result['item'].get('name') in todo and result.get('changed'):
            out.extend(str(path) for path in result.get('changed_files') or [])
    return out


def restart_units(plan, changed_certificates, trust_changed=False):
    """The units to restart for certificates: all with a new trust bundle, else those whose certificate changed."""
    return [e['unit'] for e in plan or [] if trust_changed or e['certificate']['name'] in (changed_certificates or [])]


def collector_config(settings, cert_targets=None):
    """The collector's config.yaml as a dict: receivers from the TLS settings, the rest from the user's YAML, and the
    certificate metrics of ``cert_targets`` (collector_cert_targets' ``targets``)."""
    if cert_targets:
        settings = dict(settings, cert_targets=cert_targets)
    return collector_plan.config(settings)


def collector_cert_targets(settings, files=None):
    """The certificate files the collector reports the time left of, and the apps' certificates not there yet."""
    settings = settings or {}
    return collector_plan.cert_targets(settings, settings.get('host') or '', files or {}, settings.get('cert_apps'),
                                       settings.get('cert_exporter_settings'))


def collector_cert_paths(targets_result):
    """The files host_state reads for the certificate metrics (targets, the apps' certificates, the copies' directory)."""
    return collector_plan.cert_paths(targets_result)


def collector_cert_copies(targets, files, group):
    """The copies of the apps' certificates the collector reads that must be (re)written: src, dest, entry."""
    return collector_plan.cert_copies(targets, files, group)


def collector_ca_slots(bundle):
    """The trust bundle's CA slot files' content (first CA, then the other CA of an overlap bundle or the first)."""
    return collector_plan.ca_slots(bundle)


def collector_missing_components(listing, required=None):
    """What ``otelcol components`` (its output) lacks of ``required`` (default: what the certificate metrics need)."""
    if not isinstance(listing, string_types):
        raise AnsibleFilterError('collector_missing_components: give the output of `otelcol components` as text')
    return components.missing(to_text(listing), collector_plan.CERT_COMPONENTS if required is None else required)


def collector_secret_environment(settings):
    """The collector's secret environment file's variables: the user's, the backend's token and headers."""
    return collector_plan.secret_environment(settings)


def collector_gateway_check(settings, coverage, host, check_mode=False):
    """What an agent finds about its gateways for the name it dials (``coverage``: collector_coverage)."""
    return collector_plan.gateway_check(coverage, settings, host, boolean(check_mode or False, strict=False))


def collector_unit_settings(settings):
    """The collector unit's Environment=, EnvironmentFile= and capability lines."""
    return collector_plan.unit_settings(settings, systemd_environment)


def collector_problems(settings, host):
    """Why the collector settings can not be used: a list of messages (empty when they can)."""
    return collector_plan.problems(settings, host)


def collector_port_squatters(state, settings):
    """The listeners otlp.tls.host_state found on the collector's ports that are another program (as text)."""
    return collector_plan.squatters(state, settings)


def certificate_passphrases(items, name, passphrase=''):
    """Passphrases of the provided keys by certificate name, kept out of the entries (loop items are printed)."""
    items = [i for i in items if isinstance(i, dict)] if isinstance(items, list) and items else [{}]
    return dict((item.get('name', name), item.get('provided_private_key_passphrase', passphrase)) for item in items)


def todo_entries(entries, plan):
    """The entries the plan says need the signing path."""
    todo = (plan or {}).get('todo') or []
    return [e for e in entries or [] if e.get('name') in todo]


def hosts_with_work(hosts, hostvars, register='otlp_tls_certificate_plan'):
    """The hosts whose certificate plan has work: only their requests are signed.

    A host that did not run the certificate role in this run may hold an older plan or a fact of any shape it
    injected; anything but a dict with a list of names counts as no work, so that it can not fail the batch's
    signing. (What such a host could add is a request for its own grant, which the CA checks like any other.)
    """
    out = []
    for host in hosts:
        plan = hostvars[host].get(register)
        todo = plan.get('todo') if isinstance(plan, dict) else None
        if isinstance(todo, list) and todo:
            out.append(host)
    return out


def refused_for(signed, host):
    """What the CA refused for ``host`` (x509_sign's refused, keyed host:entry)."""
    return [value for _entry, value in host_plan.for_host((signed or {}).get('refused'), host)]


def signed_entries(entries, signed, host):
    """This host's entries the CA signed or kept in this run (not revoked ones; none in a check run without a CA)."""
    names = [entry for entry, _value in host_plan.for_host((signed or {}).get('certificates'), host)]
    return [e for e in entries or [] if e.get('name') in names]


def pending_installs(entries, signed, host, bundle):
    """What the certificate role leaves to its caller to install (otlp_tls_certificate_install=false): per signed entry
    the options of otlp.tls.x509_install and its name; public data only (the key stays on the host)."""
    out = []
    for entry in signed_entries(entries, signed, host):
        out.append(dict(
            name=entry['name'], certificate=signed['certificates']['%s:%s' % (host, entry['name'])]['certificate'],
            certificate_path=entry['dir'] + '/cert.pem', chain=signed.get('chain') or '',
            fullchain_path=entry['dir'] + '/fullchain.pem', trust_bundle=bundle or '',
            trust_bundle_path=entry['dir'] + '/ca.pem', private_key_path=entry['dir'] + '/key.pem',
            private_key_mode=entry['key_mode'], owner=entry['owner'], group=entry['group'], profile=entry['profile']))
    return out


def certificate_units(pending, plan, todo, role_plan=None):
    """``pending`` (pending_installs) with, for each certificate, the units of ``plan`` (the exporter's) that use it.

    Only the certificates in ``todo`` (the names this run's plan sent to the certificate role) and, with ``role_plan``
    (the certificate role's registered plan), in its todo too: a fact left by an earlier run of the role in the same
    play never counts, also when the two plans disagree and the role signed nothing this time.
    """
    out = []
    role_todo = (role_plan or {}).get('todo') if role_plan is not None else None
    for item in pending or []:
        if item['name'] not in (todo or []) or (role_todo is not None and item['name'] not in (role_todo or [])):
            continue
        units = [e['unit'] for e in plan or [] if (e.get('certificate') or {}).get('name') == item['name']]
        out.append(dict(item, units=units))
    return out


def prepared_signers(hosts, hostvars, register='__otlp_tls_exporter'):
    """The hosts whose exporter plan signs its own prepared CSRs (host_plan.prepared_signers)."""
    return host_plan.prepared_signers(hosts, hostvars, register)


def exporter_grants(resolved):
    """What the inventory grants each host for the exporter role's own signing (host_plan.exporter_grants)."""
    return host_plan.exporter_grants(resolved)


def exporter_unsigned(signed, host, plan, nothing_to_sign_with=False):
    """Why ``host`` got no certificate for an entry its exporter plan (``plan``) sent to signing (host_plan.unsigned)."""
    return host_plan.unsigned(signed, host, (plan or {}).get('certificates_todo'), nothing_to_sign_with)


def exporter_installs(signed, plan, host, bundle):
    """The certificates the exporter role's own signing (sign.yml) leaves to the drop-in task: pending_installs of the
    plan's certificates in its todo, each with the units that use it (certificate_units)."""
    plan = plan or {}
    pending = pending_installs(plan.get('certificates'), signed, host, bundle)
    return certificate_units(pending, plan.get('plan'), plan.get('certificates_todo'))


def provided_problems(hosts, hostvars, register='__otlp_tls_certificate_provided_info'):
    """Every problem x509_info found in any host's provided files."""
    out = []
    for host in hosts:
        for result in (hostvars[host].get(register) or {}).get('results') or []:
            out.extend(result.get('problems') or [])
    return out


def ca_host_keys(results):
    """The keys read back from the CA host, by certificate name (slurp results)."""
    return dict((r['item']['item']['name'], base64.b64decode(r['content']).decode('ascii'))
                for r in results or [] if 'content' in r)


def parent_dirs(entries, base='/etc/otlp-tls'):
    """The parents of the entries' directories, other than ``base`` (made root's and 0755)."""
    out = []
    for entry in entries or []:
        parent = entry['dir'].rstrip('/').rsplit('/', 1)[0] or '/'
        if parent != base and parent not in out:
            out.append(parent)
    return out


def any_dir_under(entries, prefix='/etc/otlp-tls/'):
    """Whether any entry's directory lies below ``prefix``."""
    return any(str(e.get('dir', '')).startswith(prefix) for e in entries or [])


def file_is(found, kind, owner, group, mode, sha256=None):
    """Whether a file otlp.tls.host_state read (its ``files`` entry) exists as this kind, owner, group and mode (and,
    when given, with this SHA-256)."""
    found = found if isinstance(found, dict) else {}
    return bool(found.get('exists')) and (found.get('kind'), found.get('owner'), found.get('group'), found.get('mode')) \
        == (kind, owner, group, mode) and (sha256 is None or found.get('sha256') == sha256)


def secret_file_is(found, content, digest_key, owner, group, mode):
    """Whether a secret file otlp.tls.host_state read (its ``files`` entry, with ``hmac`` under ``digest_key``) exists
    as a file of this owner, group and mode and holds ``content``: the HMAC of ``content`` under the same key is
    compared, so neither the content nor a digest anyone could test guesses against leaves the host or the
    controller. No key, or no HMAC in the entry, gives false (the file is then written)."""
    found = found if isinstance(found, dict) else {}
    if not digest_key or not found.get('hmac') or not file_is(found, 'file', owner, group, mode):
        return False
    # As bytes: compare_digest refuses text that is not ASCII, which a host could send.
    return hmac.compare_digest(to_bytes(found['hmac'], errors='surrogate_or_replace'),
                               to_bytes(host_plan.digest(digest_key, content if content is not None else '')))


def unit_is(found, active_state, unit_file_state):
    """Whether a unit otlp.tls.host_state read (its ``units`` entry) is in this state (active) and enabled state."""
    found = found if isinstance(found, dict) else {}
    return found.get('load_state') == 'loaded' and found.get('active_state') == active_state \
        and found.get('unit_file_state') == unit_file_state


def user_is(found, group, home, shell):
    """Whether a user otlp.tls.host_state read (its ``users`` entry) exists with this primary group, home and shell."""
    found = found if isinstance(found, dict) else {}
    return bool(found.get('exists')) and (found.get('group'), found.get('home'), found.get('shell')) == (group, home, shell)


def any_changed(results):
    """Whether any of these task results changed (an undefined or skipped one counts as unchanged)."""
    return any(isinstance(r, dict) and r.get('changed') for r in results or [])


class FilterModule(object):
    def filters(self):
        return {
            'certificate_entries': certificate_entries,
            'exporter_certificates': exporter_certificates,
            'collector_names': collector_names,
            'collectors_to_read': collectors_to_read,
            'collector_coverage': collector_coverage,
            'certificates_changed': certificates_changed,
            'restart_units': restart_units,
            'installed_paths_changed': installed_paths_changed,
            'collector_config': collector_config,
            'collector_cert_targets': collector_cert_targets,
            'collector_ca_slots': collector_ca_slots,
            'collector_cert_paths': collector_cert_paths,
            'collector_cert_copies': collector_cert_copies,
            'collector_missing_components': collector_missing_components,
            'collector_problems': collector_problems,
            'collector_unit_settings': collector_unit_settings,
            'collector_secret_environment': collector_secret_environment,
            'collector_gateway_check': collector_gateway_check,
            'collector_port_squatters': collector_port_squatters,
            'certificate_passphrases': certificate_passphrases,
            'todo_entries': todo_entries,
            'hosts_with_work': hosts_with_work,
            'refused_for': refused_for,
            'signed_entries': signed_entries,
            'pending_installs': pending_installs,
            'certificate_units': certificate_units,
            'provided_problems': provided_problems,
            'prepared_signers': prepared_signers,
            'exporter_grants': exporter_grants,
            'exporter_unsigned': exporter_unsigned,
            'exporter_installs': exporter_installs,
            'ca_host_keys': ca_host_keys,
            'parent_dirs': parent_dirs,
            'any_dir_under': any_dir_under,
            'any_changed': any_changed,
            'file_is': file_is,
            'secret_file_is': secret_file_is,
            'unit_is': unit_is,
            'user_is': user_is,
        }
