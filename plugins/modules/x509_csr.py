#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: x509_csr
short_description: Keep a private key on the host that uses it and return a CSR for it
version_added: 0.1.0
description:
  - Runs on the host that will use the key. Creates the private key when it is missing, keeps it otherwise, and writes it
    as unencrypted PKCS#8 (the only form every OpenTelemetry SDK reads; Java rejects PKCS#1 and SEC1).
  - A key in another format (PKCS#1, SEC1) is rewritten as PKCS#8 without changing the key itself.
  - Returns a certificate signing request for the requested subject and subjectAltNames, and the certificate currently
    installed at O(certificate_path), so that M(otlp.tls.x509_sign) can decide whether it is still good.
  - The CSR is returned, never written; it is a message to the CA, not state.
author:
  - otlp.tls maintainers (@otlp-tls)
extends_documentation_fragment:
  - otlp.tls.common
  - otlp.tls.common.files
options:
  private_key_path:
    description: Path of the private key.
    type: path
    required: true
  key_type:
    description:
      - Type of the key. An existing key of another type is replaced by a new one of this type.
    type: str
    default: ec-p256
    choices: [ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096]
  rotate_key:
    description: Replace the existing key with a new one.
    type: bool
    default: false
  mode:
    description: Mode of the private key file (0600, or 0640 with a O(group) that the service runs as).
    type: str
    default: '0600'
  common_name:
    description: Common name of the subject.
    type: str
    required: true
  organization:
    description: Organization of the subject.
    type: str
  dns_names:
    description: DNS subjectAltNames.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP subjectAltNames.
    type: list
    elements: str
    default: []
  subject_alt_names:
    description:
      - Names and addresses in one list; each IP address becomes an IP subjectAltName, anything else a DNS one.
      - Added to O(dns_names) and O(ip_addresses).
    type: list
    elements: str
    default: []
  profile:
    description:
      - Usage to ask the CA for, carried in the CSR as a requested extendedKeyUsage. M(otlp.tls.x509_sign) uses it unless
        its request names a profile.
    type: str
    choices: [server, client, both]
  certificate_path:
    description: Path of the certificate installed for this key, returned as RV(existing_certificate) when it exists.
    type: path
  create_directory:
    description:
      - Create the key's directory when it is missing and keep it owned by O(directory_owner), with group
        O(directory_group) and mode O(directory_mode). Missing parents are created with mode 0755, so that every service
        can reach its own directory below them; existing parents are left as they are.
      - Saves a separate M(ansible.builtin.file) task, that is one remote call per host.
      - Without it the directory must exist (except in check mode).
    type: bool
    default: false
    version_added: 0.2.0
  directory_owner:
    description: Owner of the key's directory with O(create_directory). Left as it is when not set.
    type: str
    version_added: 0.2.0
  directory_group:
    description: Group of the key's directory with O(create_directory), usually the group the service runs as.
    type: str
    version_added: 0.2.0
  directory_mode:
    description: Mode of the key's directory with O(create_directory).
    type: str
    default: '0750'
    version_added: 0.2.0
'''

EXAMPLES = r'''
- name: Key and CSR for the collector's server certificate
  otlp.tls.x509_csr:
    private_key_path: /etc/otelcol/tls/server.key
    group: otelcol
    mode: '0640'
    create_directory: true
    directory_group: otelcol
    common_name: "{{ inventory_hostname }}"
    dns_names:
      - "{{ inventory_hostname }}"
      - "{{ ansible_facts['fqdn'] }}"
    ip_addresses:
      - "{{ ansible_facts['default_ipv4']['address'] }}"
    certificate_path: /etc/otelcol/tls/server.crt
  register: otlp_csr
'''

RETURN = r'''
csr:
  description: The certificate signing request, PEM.
  returned: success
  type: str
existing_certificate:
  description: The certificate at O(certificate_path), PEM, or an empty string when there is none.
  returned: success
  type: str
key_type:
  description: Type of the key.
  returned: success
  type: str
  sample: ec-p256
public_key_fingerprint:
  description: SHA-256 of the public key, hex. Identifies the key without revealing it.
  returned: success
  type: str
private_key_changed:
  description: Whether the key was created or replaced (a format conversion alone is not a new key).
  returned: success
  type: bool
private_key_reason:
  description: Why the key was created, replaced or rewritten; empty when it was kept as it was.
  returned: success
  type: str
'''

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.files import (
    FileProblem, check_parent, ensure_directory, read_file, write_file,
)


def decide_key(existing_data, key_type, rotate_key):
    """Return (key, reason, new_key) for the key that should be on disk.

    ``reason`` is empty when the file can stay byte-for-byte as it is.
    """
    if existing_data is None:
        return pki.generate_private_key(key_type), 'no key yet', True
    if rotate_key:
        return pki.generate_private_key(key_type), 'rotate_key requested', True
    try:
        key = pki.load_private_key(existing_data, None, 'existing private key')
    except pki.PKIError as exc:
        raise pki.PKIError('existing private key can not be used (%s). The key must be an unencrypted RSA or EC key '
                           'that the service can read: set rotate_key to replace it'
                           % str(exc).split(': set the passphrase option', 1)[0])
    if pki.key_type_of(key) != key_type:
        return (pki.generate_private_key(key_type),
                'key type changed (%s -> %s)' % (pki.key_type_of(key), key_type), True)
    if pki.private_key_format(existing_data) != 'pkcs8':
        return key, 'rewritten as PKCS#8 (was %s)' % pki.private_key_format(existing_data), False
    return key, '', False


def run(module):
    params = module.params
    key_path = params['private_key_path']
    dir_changed = False
    if params['create_directory']:
        dir_changed = ensure_directory(module, os.path.dirname(os.path.abspath(key_path)),
                                       owner=params['directory_owner'], group=params['directory_group'],
                                       mode=params['directory_mode'])
    check_parent(key_path, 'private key', module.check_mode)
    extra_dns, extra_ips = pki.split_names(params['subject_alt_names'])
    dns, ips = pki.normalize_sans(params['dns_names'] + extra_dns, params['ip_addresses'] + extra_ips)
    existing = read_file(key_path, 'private key')
    key, reason, new_key = decide_key(existing, params['key_type'], params['rotate_key'])
    fingerprint_before = ''
    if existing and new_key:
        try:
            fingerprint_before = pki.public_key_fingerprint(pki.load_private_key(existing))
        except pki.PKIError:
            # rotate_key replaces a key that can not be read (encrypted, damaged): nothing to show.
            fingerprint_before = 'unreadable'

    changed = write_file(module, key_path, pki.private_key_to_pkcs8(key) if reason else existing,
                         params['owner'], params['group'], params['mode']) or dir_changed
    csr = pki.build_csr(key, params['common_name'], params['organization'], dns, ips, params['profile'])

    existing_cert = ''
    if params['certificate_path']:
        data = read_file(params['certificate_path'], 'certificate')
        if data:
            try:
                existing_cert = to_text(pki.certificate_pem(pki.load_certificate(data)))
            except pki.PKIError:
                # An unreadable certificate is as good as none: the signer re-issues it.
                existing_cert = ''

    fingerprint = pki.public_key_fingerprint(key)
    result = dict(changed=changed, csr=to_text(pki.csr_pem(csr)), existing_certificate=existing_cert,
                  key_type=pki.key_type_of(key), public_key_fingerprint=fingerprint,
                  private_key_changed=new_key, private_key_reason=reason)
    if module._diff:
        result['diff'] = dict(
            before_header=key_path, after_header=key_path,
            before='' if existing is None else 'public key sha256: %s\n' % (fingerprint_before or fingerprint),
            after='public key sha256: %s\n' % fingerprint)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            private_key_path=dict(type='path', required=True),
            key_type=dict(type='str', default='ec-p256', choices=list(pki.KEY_TYPES)),
            rotate_key=dict(type='bool', default=False),
            mode=dict(type='str', default='0600'),
            owner=dict(type='str'),
            group=dict(type='str'),
            common_name=dict(type='str', required=True),
            organization=dict(type='str'),
            dns_names=dict(type='list', elements='str', default=[]),
            ip_addresses=dict(type='list', elements='str', default=[]),
            subject_alt_names=dict(type='list', elements='str', default=[]),
            profile=dict(type='str', choices=list(pki.PROFILES)),
            certificate_path=dict(type='path'),
            create_directory=dict(type='bool', default=False),
            directory_owner=dict(type='str'),
            directory_group=dict(type='str'),
            directory_mode=dict(type='str', default='0750'),
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
