# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: sign_requests
short_description: Pair what the inventory grants each host with the CSR it sent, as requests for M(otlp.tls.x509_sign)
description:
  - Takes the names of the play's hosts and, for each certificate entry the inventory grants a host (O(grants), the
    registered result of M(otlp.tls.inventory_vars) for the certificate role's variables), returns a request with the
    entry's subject, subjectAltNames, profile and validity, the CSR the host made for that entry and its existing
    certificate.
  - The CSRs come from the result each host registered under O(register_name) (a loop over the entries, each item a dict
    with a C(name)). Only the CSR's public key and its existing certificate are taken from it; what is signed comes from
    O(grants) alone. An entry the host made no CSR for (its task failed or was skipped) gets no request; a CSR for an
    entry the inventory does not grant is ignored.
  - Requests are named C(<host>:<entry>).
version_added: 0.1.0
options:
  _input:
    description: Host names, usually C(ansible_play_batch).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) mapping.
    type: dict
    required: true
  register_name:
    description: The variable each host registered the result of M(otlp.tls.x509_csr) in.
    type: str
    required: true
  grants:
    description:
      - By host name, what the inventory grants, as M(otlp.tls.inventory_vars) resolved the certificate role's variables
        with O(otlp.tls.inventory_vars#module:strip_prefix=otlp_tls_certificate_), that is C(wanted) (the entries, each with
        C(name), C(common_name), C(subject_alt_names), C(profile)), C(organization), C(validity_days), C(renew_before),
        C(force).
    type: dict
    required: true
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: What the inventory grants each host
  otlp.tls.inventory_vars:
    hosts: "{{ ansible_play_batch }}"
    names: [otlp_tls_certificate_wanted, otlp_tls_certificate_organization, otlp_tls_certificate_validity_days,
            otlp_tls_certificate_renew_before, otlp_tls_certificate_force]
    strip_prefix: otlp_tls_certificate_
  run_once: true
  register: my_grants

- name: Sign every host's CSR in one task
  otlp.tls.x509_sign:
    ca_certificate_path: /srv/otlp-ca/ca.crt
    ca_private_key_path: /srv/otlp-ca/ca.key
    requests: "{{ ansible_play_batch | otlp.tls.sign_requests(hostvars, 'my_csr', my_grants.hosts) }}"
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
_value:
  description: Requests in the form M(otlp.tls.x509_sign) takes in its O(otlp.tls.x509_sign#module:requests) option.
  type: list
  elements: dict
'''


def _csrs_by_entry(registered):
    # A result registered in a loop holds one result per entry; 'item' is the controller's loop item.
    if not registered or not hasattr(registered, 'get'):
        return {}
    out = {}
    results = registered.get('results')
    # A fact a host injected under the register's name may be any shape: what is not a list of results is nothing.
    for result in results if isinstance(results, list) else []:
        item = result.get('item') if hasattr(result, 'get') else None
        name = item.get('name') if hasattr(item, 'get') else None
        csr = result.get('csr') if hasattr(result, 'get') else None
        if not isinstance(name, str) or result.get('failed') or result.get('skipped') or not isinstance(csr, str) \
                or not csr:
            continue
        out[name] = result
    return out


def _requests(host, grant, csrs):
    """The requests of ``host``: each entry ``grant`` holds that has a CSR in ``csrs`` (by entry name)."""
    requests = []
    for entry in grant.get('wanted') or []:
        result = csrs.get(entry['name'])
        if result is None:
            continue
        existing = result.get('existing_certificate')
        request = {'name': '%s:%s' % (host, entry['name']), 'host': host, 'entry': entry['name'],
                   'csr': result['csr'], 'existing_certificate': existing if isinstance(existing, str) else '',
                   'common_name': entry['common_name'], 'subject_alt_names': list(entry['subject_alt_names']),
                   'profile': entry['profile']}
        if grant.get('organization'):
            request['organization'] = grant['organization']
        for option, kind in (('validity_days', int), ('renew_before', int), ('force', _boolean)):
            if grant.get(option) is not None:
                request[option] = kind(grant[option])
        requests.append(request)
    return requests


def sign_requests(hosts, hostvars, register_name, grants):
    """Build x509_sign requests from what ``grants`` allows and the CSRs the hosts registered."""
    requests = []
    for host in hosts:
        grant = (grants or {}).get(host)
        if not grant:
            continue
        facts = hostvars[host]
        requests.extend(_requests(host, grant, _csrs_by_entry(facts.get(register_name) if hasattr(facts, 'get') else None)))
    return requests


def prepared_sign_requests(hosts, hostvars, register_name, grants):
    """Build x509_sign requests from what ``grants`` allows and the CSRs the exporter role's plan read made.

    ``register_name`` holds each host's otlp.tls.exporter_plan result: its ``prepared_csrs`` (by certificate name) for
    the names in its ``certificates_todo``, when its ``sign_prepared`` is true. What is malformed counts as nothing."""
    requests = []
    for host in hosts:
        grant = (grants or {}).get(host)
        facts = hostvars[host] if host in hostvars else None
        plan = facts.get(register_name) if hasattr(facts, 'get') else None
        if not grant or not hasattr(plan, 'get') or plan.get('sign_prepared') is not True:
            continue
        prepared = plan.get('prepared_csrs') if hasattr(plan.get('prepared_csrs'), 'get') else {}
        todo = plan.get('certificates_todo') if isinstance(plan.get('certificates_todo'), list) else []
        csrs = dict((name, prepared[name]) for name in todo if isinstance(name, str) and hasattr(prepared.get(name), 'get')
                    and isinstance(prepared[name].get('csr'), str) and prepared[name]['csr'])
        requests.extend(_requests(host, grant, csrs))
    return requests


def _boolean(value):
    if isinstance(value, str):
        return value.strip().lower() in ('1', 'true', 'yes', 'on')
    return bool(value)


class FilterModule(object):
    def filters(self):
        return {'sign_requests': sign_requests, 'prepared_sign_requests': prepared_sign_requests}
