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
  - Hosts whose task was skipped or failed are left out, so one call on the CA host signs for everyone else.
  - A host whose inventory sets O(settings) keys (for example C(otlp_tls_certificate_profile)) gets them in its request.
author:
  - otlp.tls contributors
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
  settings:
    description: Map of request option (V(profile), V(validity_days), V(renew_before), V(force)) to the host variable
      that may set it for one host.
    type: dict
    default: {}
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


def sign_requests(hosts, hostvars, register_name, settings=None):
    """Build x509_sign requests from the registered x509_csr results of ``hosts``."""
    requests = []
    for host in hosts:
        facts = hostvars[host]
        result = facts.get(register_name) if hasattr(facts, 'get') else None
        if not result or not result.get('csr') or result.get('failed') or result.get('skipped'):
            continue
        request = {'name': host, 'csr': result['csr'],
                   'existing_certificate': result.get('existing_certificate') or ''}
        for option, variable in (settings or {}).items():
            if variable in facts and facts[variable] is not None:
                request[option] = facts[variable]
        requests.append(request)
    return requests


class FilterModule(object):
    def filters(self):
        return {'sign_requests': sign_requests}
