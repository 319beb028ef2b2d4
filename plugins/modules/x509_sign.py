#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: x509_sign
short_description: Sign many CSRs with the private CA in one call, keeping certificates that are still good
version_added: 0.1.0
description:
  - Runs where the CA key lives (usually the controller) and signs the CSRs of a whole play in one task.
  - For each request, an existing certificate is kept when it is issued by the current CA, is for the same key, subject,
    subjectAltNames and profile, and does not expire within O(renew_before) days. Otherwise a new certificate is issued and
    the reasons are returned.
  - Subject and subjectAltNames come from the CSR. The profile (extended key usage) is, in order, the request's
    O(requests[].profile), the one the CSR asks for (M(otlp.tls.x509_csr) O(otlp.tls.x509_csr#module:profile)), or
    O(profile). Key usage is always set by the signer.
  - Writes nothing. Only requests that got a new certificate count as changed.
author:
  - otlp.tls maintainers (@otlp-tls)
extends_documentation_fragment:
  - otlp.tls.common
options:
  ca_certificate_path:
    description: Path of the CA certificate.
    type: path
    required: true
  ca_private_key_path:
    description: Path of the CA private key.
    type: path
    required: true
  ca_private_key_passphrase:
    description: Passphrase of the CA private key.
    type: str
  profile:
    description:
      - Profile of requests that name none and whose CSR asks for none. V(server) adds serverAuth, V(client) clientAuth,
        V(both) both usages.
    type: str
    default: server
    choices: [server, client, both]
  validity_days:
    description: Default lifetime of new certificates, in days.
    type: int
    default: 365
  renew_before:
    description: Default number of days before expiry at which a certificate is re-issued.
    type: int
    default: 30
  force:
    description: Re-issue every certificate, whether it is still good or not (leaf rotation).
    type: bool
    default: false
  requests:
    description: The CSRs to sign.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: A name for the request, unique in the list (for example the inventory host name).
        type: str
        required: true
      csr:
        description: The CSR, PEM.
        type: str
        required: true
      existing_certificate:
        description: The certificate installed now for this request, PEM; empty when there is none.
        type: str
        default: ''
      profile:
        description: Profile of this request; defaults to what the CSR asks for, then O(profile).
        type: str
        choices: [server, client, both]
      validity_days:
        description: Lifetime of a new certificate for this request; defaults to O(validity_days).
        type: int
      renew_before:
        description: Renewal threshold for this request; defaults to O(renew_before).
        type: int
      force:
        description: Re-issue this certificate even when it is still good.
        type: bool
        default: false
'''

EXAMPLES = r'''
- name: Sign the CSRs of every host of the play in one task on the CA host
  otlp.tls.x509_sign:
    ca_certificate_path: /srv/otlp-ca/ca.crt
    ca_private_key_path: /srv/otlp-ca/ca.key
    renew_before: 30
    requests:
      - name: collector1
        csr: "{{ hostvars['collector1'].otlp_csr.csr }}"
        existing_certificate: "{{ hostvars['collector1'].otlp_csr.existing_certificate }}"
        profile: server
      - name: app1
        csr: "{{ hostvars['app1'].otlp_csr.csr }}"
        existing_certificate: "{{ hostvars['app1'].otlp_csr.existing_certificate }}"
        profile: client
  delegate_to: localhost
  run_once: true
  register: otlp_signed
'''

RETURN = r'''
certificates:
  description: One entry per request name.
  returned: success
  type: dict
  contains:
    certificate:
      description: The certificate to install, PEM (the existing one when it was kept).
      type: str
    changed:
      description: Whether a new certificate was issued.
      type: bool
    reasons:
      description: Why a new certificate was issued; empty when the existing one was kept.
      type: list
      elements: str
    not_after:
      description: Expiry of the certificate, UTC, ISO 8601.
      type: str
    serial_number:
      description: Serial number, hex.
      type: str
issued:
  description: Names of the requests that got a new certificate.
  returned: success
  type: list
  elements: str
kept:
  description: Names of the requests whose certificate was kept.
  returned: success
  type: list
  elements: str
chain:
  description: The CA certificate that issued the certificates, PEM.
  returned: success
  type: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem, read_file


def load_ca(params):
    cert_path, key_path = params['ca_certificate_path'], params['ca_private_key_path']
    cert_data = read_file(cert_path, 'CA certificate')
    key_data = read_file(key_path, 'CA private key')
    if cert_data is None or key_data is None:
        raise FileProblem('the CA is incomplete (%s%s): run the otlp.tls.ca role or x509_ca first' % (
            'certificate %s missing' % cert_path if cert_data is None else '',
            ' key %s missing' % key_path if key_data is None else ''))
    ca_cert = pki.load_certificate(cert_data, 'CA certificate %s' % cert_path)
    ca_key = pki.load_private_key(key_data, params['ca_private_key_passphrase'], 'CA private key %s' % key_path)
    if not pki.key_matches_certificate(ca_key, ca_cert):
        raise pki.PKIError('the CA key %s and certificate %s do not belong together: restore the matching pair'
                           % (key_path, cert_path))
    if pki.not_after(ca_cert) <= pki.utcnow():
        raise pki.PKIError('the CA certificate %s expired on %s: rotate the CA before signing'
                           % (cert_path, pki.not_after(ca_cert).strftime('%Y-%m-%d')))
    return ca_key, ca_cert


def validate_requests(params):
    """Check every request before signing any, so a bad one fails the whole call cleanly."""
    seen = set()
    problems = []
    parsed = []
    for index, request in enumerate(params['requests']):
        name = request['name']
        if name in seen:
            problems.append('request name %r appears twice: names must be unique' % name)
        seen.add(name)
        try:
            csr = pki.load_csr(request['csr'], 'CSR of %s' % name)
        except pki.PKIError as exc:
            problems.append(to_text(exc))
            continue
        settings = dict(
            profile=request['profile'] or pki.profile_of(csr) or params['profile'],
            validity_days=request['validity_days'] if request['validity_days'] is not None else params['validity_days'],
            renew_before=request['renew_before'] if request['renew_before'] is not None else params['renew_before'],
            force=request['force'] or params['force'],
        )
        if settings['validity_days'] < 1:
            problems.append('%s: validity_days must be at least 1, got %d' % (name, settings['validity_days']))
        if not 0 <= settings['renew_before'] < settings['validity_days']:
            problems.append('%s: renew_before (%d) must be at least 0 and below validity_days (%d), or every run '
                            're-issues the certificate' % (name, settings['renew_before'], settings['validity_days']))
        existing = None
        if request['existing_certificate'] and request['existing_certificate'].strip():
            try:
                existing = pki.load_certificate(request['existing_certificate'], 'certificate of %s' % name)
            except pki.PKIError:
                existing = None
        parsed.append((name, csr, existing, settings))
    if problems:
        raise pki.PKIError('; '.join(problems))
    return parsed


def run(module):
    params = module.params
    ca_key, ca_cert = load_ca(params)
    requests = validate_requests(params)
    now = pki.utcnow()
    certificates, issued, kept = {}, [], []
    for name, csr, existing, settings in requests:
        reasons = pki.reissue_reasons(existing, csr, ca_cert, settings['profile'], settings['renew_before'], now)
        if settings['force'] and not reasons:
            reasons = ['force requested']
        if reasons:
            cert = pki.sign_csr(csr, ca_key, ca_cert, settings['profile'], settings['validity_days'], now)
            issued.append(name)
        else:
            cert = existing
            kept.append(name)
        info = pki.certificate_info(cert, now)
        certificates[name] = dict(certificate=to_text(pki.certificate_pem(cert)), changed=bool(reasons),
                                  reasons=reasons, not_after=info['not_after'],
                                  serial_number=info['serial_number'])
    result = dict(changed=bool(issued), certificates=certificates, issued=issued, kept=kept,
                  chain=to_text(pki.certificate_pem(ca_cert)))
    if module._diff and issued:
        result['diff'] = dict(before='', after=''.join('%s: %s\n' % (name, ', '.join(certificates[name]['reasons']))
                                                       for name in issued))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ca_certificate_path=dict(type='path', required=True),
            ca_private_key_path=dict(type='path', required=True),
            ca_private_key_passphrase=dict(type='str', no_log=True),
            profile=dict(type='str', default='server', choices=list(pki.PROFILES)),
            validity_days=dict(type='int', default=365),
            renew_before=dict(type='int', default=30),
            force=dict(type='bool', default=False),
            requests=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                csr=dict(type='str', required=True),
                existing_certificate=dict(type='str', default=''),
                profile=dict(type='str', choices=list(pki.PROFILES)),
                validity_days=dict(type='int'),
                renew_before=dict(type='int'),
                force=dict(type='bool', default=False),
            )),
        ),
        supports_check_mode=True,
    )
    if not pki.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=str(pki.CRYPTOGRAPHY_IMPORT_ERROR))
    try:
        module.exit_json(**run(module))
    except (pki.PKIError, FileProblem) as exc:
        module.fail_json(msg=to_text(exc))


if __name__ == '__main__':
    main()
