# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: sign_requests
short_description: Gather the CSRs of a play's hosts into requests for M(otlp.tls.x509_sign)
version_added: 0.1.0
description:
  - Takes the names of the play's hosts and, for each one that registered a result of M(otlp.tls.x509_csr) under
    O(register_name), returns a request with its name, CSR and existing certificate.
  - A result registered in a loop gives one request per item, named C(<host>:<item.name>) (the loop items are dicts
    with a C(name)); a plain result gives one request named after the host.
  - Hosts whose task was skipped or failed are left out, so one call on the CA host signs for everyone else.
  - A host that has the variable O(settings_name) (a dict, usually set with C(set_fact) so the CA host can see it) gets
    its keys (V(profile), V(validity_days), V(renew_before), V(force)) in its request. Role defaults and include
    variables are not visible across hosts, facts are.
author:
  - otlp.tls maintainers (@otlp-tls)
options:
  _input:
    description: Host names, usually C(ansible_play_hosts).
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
  settings_name:
    description: The host variable that holds this host's request settings.
    type: str
'''

EXAMPLES = r'''
- name: Sign every host's CSR in one task
  otlp.tls.x509_sign:
    ca_certificate_path: /srv/otlp-ca/ca.crt
    ca_private_key_path: /srv/otlp-ca/ca.key
    requests: "{{ ansible_play_hosts | otlp.tls.sign_requests(hostvars, 'my_csr') }}"
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
_value:
  description: Requests in the form M(otlp.tls.x509_sign) takes in its O(otlp.tls.x509_sign#module:requests) option.
  type: list
  elements: dict
'''


def sign_requests(hosts, hostvars, register_name, settings_name=None):
    """Build x509_sign requests from the registered x509_csr results of ``hosts``."""
    requests = []
    for host in hosts:
        facts = hostvars[host]
        registered = facts.get(register_name) if hasattr(facts, 'get') else None
        if not registered:
            continue
        if 'results' in registered:
            named = [('%s:%s' % (host, result.get('item', {}).get('name')), result) for result in registered['results']]
        else:
            named = [(host, registered)]
        settings = facts.get(settings_name) if settings_name else None
        for name, result in named:
            if not result.get('csr') or result.get('failed') or result.get('skipped'):
                continue
            request = {'name': name, 'csr': result['csr'],
                       'existing_certificate': result.get('existing_certificate') or ''}
            for option in ('profile', 'validity_days', 'renew_before', 'force'):
                if settings and settings.get(option) is not None:
                    request[option] = settings[option]
            requests.append(request)
    return requests


class FilterModule(object):
    def filters(self):
        return {'sign_requests': sign_requests}
