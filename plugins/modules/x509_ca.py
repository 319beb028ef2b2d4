#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: x509_ca
short_description: Create or load the private CA that signs OTLP certificates
version_added: 0.1.0
description:
  - Creates a CA private key and a self-signed CA certificate when they do not exist, or loads and checks them when they do.
  - An existing CA is never replaced; a key and certificate that do not belong together, an expired CA certificate, or a
    wrong passphrase fail with a message that says how to fix it.
  - Optionally writes a trust bundle that holds this CA first, then other CA certificates that stay trusted (the previous
    CA during a rotation).
  - New keys are written as PKCS#8, encrypted with O(private_key_passphrase) when it is set.
author:
  - otlp.tls maintainers (@otlp-tls)
extends_documentation_fragment:
  - otlp.tls.common
  - otlp.tls.common.files
options:
  certificate_path:
    description: Path of the CA certificate (PEM).
    type: path
    required: true
  private_key_path:
    description: Path of the CA private key. It never leaves the host that runs this module.
    type: path
    required: true
  private_key_passphrase:
    description: Passphrase that encrypts the CA private key.
    type: str
  key_type:
    description: Type of a newly created CA key. An existing key is kept whatever its type.
    type: str
    default: ec-p256
    choices: [ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096]
  common_name:
    description: Common name of a newly created CA certificate.
    type: str
    default: otlp.tls CA
  organization:
    description: Organization of a newly created CA certificate.
    type: str
  validity_days:
    description: Lifetime of a newly created CA certificate, in days.
    type: int
    default: 3650
  private_key_mode:
    description: Mode of the CA private key file.
    type: str
    default: '0600'
  certificate_mode:
    description: Mode of the CA certificate and bundle files.
    type: str
    default: '0644'
  bundle_path:
    description:
      - Path of a trust bundle to write, with this CA's certificate first and then the certificates of O(bundle_include).
    type: path
  bundle_include:
    description:
      - Paths of other CA certificate files whose certificates stay in the bundle (for example the previous CA while a
        rotation is under way). Missing files are an error.
    type: list
    elements: path
    default: []
  warn_days:
    description: Warn when the CA certificate expires within this many days.
    type: int
    default: 90
'''

EXAMPLES = r'''
- name: Create or load the fleet CA on the controller
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    common_name: Example OTLP CA
    bundle_path: /srv/otlp-ca/bundle.crt
  delegate_to: localhost
  run_once: true
  register: otlp_ca

- name: A CA key that is encrypted at rest
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    private_key_passphrase: "{{ vault_otlp_ca_passphrase }}"
'''

RETURN = r'''
certificate:
  description: The CA certificate, PEM.
  returned: success
  type: str
bundle:
  description: The trust bundle, PEM (this CA first). Equal to RV(certificate) when O(bundle_include) is empty.
  returned: success
  type: str
info:
  description: Facts about the CA certificate.
  returned: success
  type: dict
  contains:
    subject:
      description: Subject, RFC 4514.
      type: str
      sample: CN=otlp.tls CA
    not_after:
      description: Expiry, UTC, ISO 8601.
      type: str
      sample: '2036-11-24T10:00:00Z'
    days_left:
      description: Whole days until expiry.
      type: int
    fingerprint_sha256:
      description: SHA-256 fingerprint of the certificate, hex.
      type: str
    key_type:
      description: Key type of the CA.
      type: str
      sample: ec-p256
private_key_created:
  description: Whether a new CA key was created by this run.
  returned: success
  type: bool
'''

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem, read_file, write_file, check_parent


def summary(cert):
    if cert is None:
        return ''
    info = pki.certificate_info(cert)
    return 'subject: %s\nserial: %s\nnot_after: %s\nfingerprint: %s\n' % (
        info['subject'], info['serial_number'], info['not_after'], info['fingerprint_sha256'])


def run(module):
    params = module.params
    key_path, cert_path = params['private_key_path'], params['certificate_path']
    for path, what in ((key_path, 'CA private key'), (cert_path, 'CA certificate'), (params['bundle_path'], 'bundle')):
        if path:
            check_parent(path, what, module.check_mode)
    key_data = read_file(key_path, 'CA private key')
    cert_data = read_file(cert_path, 'CA certificate')
    extra = []
    for path in params['bundle_include']:
        data = read_file(path, 'bundle_include certificate')
        if data is None:
            raise FileProblem('bundle_include file %s does not exist: remove it from bundle_include or restore it' % path)
        extra.extend(pki.load_certificates(data, path))

    key_created = False
    if key_data is None:
        if cert_data is not None:
            raise pki.PKIError(
                'the CA certificate %s exists but its key %s does not: restore the key, or remove the certificate '
                'to create a new CA (every certificate will then be re-issued)' % (cert_path, key_path))
        key = pki.generate_private_key(params['key_type'])
        key_created = True
    else:
        key = pki.load_private_key(key_data, params['private_key_passphrase'], 'CA private key %s' % key_path)

    old_cert = None
    if cert_data is not None:
        old_cert = pki.load_certificate(cert_data, 'CA certificate %s' % cert_path)
        if not pki.key_matches_certificate(key, old_cert):
            raise pki.PKIError(
                'the CA key %s and certificate %s do not belong together: restore the matching pair (or remove both '
                'to create a new CA)' % (key_path, cert_path))
        if not pki.is_ca(old_cert):
            raise pki.PKIError('%s is not a CA certificate (basicConstraints CA:FALSE): point certificate_path at the CA'
                               % cert_path)
        if pki.not_after(old_cert) <= pki.utcnow():
            raise pki.PKIError(
                'the CA certificate %s expired on %s: rotate the CA with playbooks/rotate.yml (phase new) '
                'before issuing certificates' % (cert_path, pki.not_after(old_cert).strftime('%Y-%m-%d')))
        cert = old_cert
    else:
        cert = pki.build_ca_certificate(key, params['common_name'], params['organization'], params['validity_days'])

    changed = False
    if key_created:
        changed |= write_file(module, key_path, pki.private_key_to_pkcs8(key, params['private_key_passphrase']),
                              params['owner'], params['group'], params['private_key_mode'])
    elif os.path.exists(key_path):
        changed |= write_file(module, key_path, key_data, params['owner'], params['group'], params['private_key_mode'])
    cert_pem = pki.certificate_pem(cert)
    changed |= write_file(module, cert_path, cert_pem, params['owner'], params['group'], params['certificate_mode'])

    seen = set([pki.certificate_fingerprint(cert)])
    bundle_pem = cert_pem
    for other in extra:
        if pki.certificate_fingerprint(other) not in seen:
            seen.add(pki.certificate_fingerprint(other))
            bundle_pem += pki.certificate_pem(other)
    if params['bundle_path']:
        changed |= write_file(module, params['bundle_path'], bundle_pem, params['owner'], params['group'],
                              params['certificate_mode'])

    info = pki.certificate_info(cert)
    if info['days_left'] < params['warn_days']:
        module.warn('the CA certificate %s expires in %d days (%s): plan a CA rotation'
                    % (cert_path, info['days_left'], info['not_after']))
    result = dict(changed=changed, certificate=to_text(cert_pem), bundle=to_text(bundle_pem), info=info,
                  private_key_created=key_created)
    if module._diff:
        result['diff'] = dict(before=summary(old_cert), after=summary(cert),
                              before_header=cert_path, after_header=cert_path)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            certificate_path=dict(type='path', required=True),
            private_key_path=dict(type='path', required=True),
            private_key_passphrase=dict(type='str', no_log=True),
            key_type=dict(type='str', default='ec-p256', choices=list(pki.KEY_TYPES)),
            common_name=dict(type='str', default='otlp.tls CA'),
            organization=dict(type='str'),
            validity_days=dict(type='int', default=3650),
            private_key_mode=dict(type='str', default='0600', no_log=False),
            certificate_mode=dict(type='str', default='0644'),
            bundle_path=dict(type='path'),
            bundle_include=dict(type='list', elements='path', default=[]),
            warn_days=dict(type='int', default=90),
            owner=dict(type='str'),
            group=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    if not pki.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=str(pki.CRYPTOGRAPHY_IMPORT_ERROR))
    if module.params['validity_days'] < 1:
        module.fail_json(msg='validity_days must be a positive number of days, got %d' % module.params['validity_days'])
    try:
        module.exit_json(**run(module))
    except (pki.PKIError, FileProblem) as exc:
        module.fail_json(msg=to_text(exc))


if __name__ == '__main__':
    main()
