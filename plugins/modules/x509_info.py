#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: x509_info
short_description: Read certificate and key files and report expiry, names, chain and key match
description:
  - Reads a certificate (and optionally its private key, chain and a trust bundle) and returns subject, subjectAltNames,
    issuer, expiry, days left, key type, whether the key belongs to the certificate and whether the chain verifies.
  - With O(required_names), O(profile) or O(min_days_left) it also lists the problems that would stop the certificate
    from being used, in RV(problems); it never fails because of them, so it can feed reports and assertions.
  - Never returns key material; for a key it returns its format, type, mode and owner.
version_added: 0.1.0
extends_documentation_fragment:
  - otlp.tls.common
  - otlp.tls.common.checks
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
    details: The module only reads; it has nothing to show.
options:
  certificate_path:
    description: Path of the certificate (PEM or DER). When a bundle, the first certificate is the one described.
    type: path
    required: true
  private_key_path:
    description: Path of the private key that should belong to the certificate.
    type: path
  private_key_passphrase:
    description: Passphrase of the private key when it is encrypted.
    type: str
  chain_path:
    description: Path of intermediate certificates to use when verifying.
    type: path
  trust_bundle_path:
    description:
      - Path of the CA bundle to verify the certificate against.
      - Named C(trust_bundle_path) in every otlp.tls module; C(ca_path) and C(ca_file) are other names for it.
    type: path
    aliases: [ca_path, ca_file]
  readable_by:
    description:
      - A user who must be able to read every file given (the certificate, key, chain and trust bundle), as the
        service that runs as that user will open them; each file that user can not read is a problem in
        RV(problems).
      - Checked with C(runuser), so the module must run as root for it (C(become)).
    type: str
    version_added: 0.3.0
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Read the collector's server certificate
  otlp.tls.x509_info:
    certificate_path: /etc/otelcol/tls/server.crt
    private_key_path: /etc/otelcol/tls/server.key
    trust_bundle_path: /etc/otelcol/tls/ca.crt
    required_names: [collector.example.com]
    min_days_left: 14
  register: otlp_cert

- name: Fail when it can not serve
  ansible.builtin.assert:
    that: otlp_cert.problems | length == 0
    fail_msg: "{{ otlp_cert.problems | join('; ') }}"
'''

RETURN = r'''
exists:
  description: Whether the certificate file exists. All other facts are absent when it does not.
  returned: always
  type: bool
info:
  description: Facts about the certificate.
  returned: when the certificate exists
  type: dict
  contains:
    subject:
      description: Subject, RFC 4514.
      type: str
    issuer:
      description: Issuer, RFC 4514.
      type: str
    serial_number:
      description: Serial number, hex.
      type: str
    not_before:
      description: Start of validity, UTC, ISO 8601.
      type: str
    not_after:
      description: Expiry, UTC, ISO 8601.
      type: str
    days_left:
      description: Whole days until expiry (negative when expired).
      type: int
    expired:
      description: Whether the certificate has expired.
      type: bool
    dns_names:
      description: DNS subjectAltNames.
      type: list
      elements: str
    ip_addresses:
      description: IP subjectAltNames.
      type: list
      elements: str
    profile:
      description: V(server), V(client), V(both), or null, from the extended key usage.
      type: str
    is_ca:
      description: Whether it is a CA certificate.
      type: bool
    key_type:
      description: Type of the certificate's key, for example V(ec-p256) or V(rsa-4096).
      type: str
    fingerprint_sha256:
      description: SHA-256 fingerprint, hex.
      type: str
    public_key_fingerprint:
      description: SHA-256 of the public key, hex.
      type: str
certificates_in_file:
  description: How many certificates the file holds.
  returned: when the certificate exists
  type: int
private_key:
  description: Facts about the private key file.
  returned: when O(private_key_path) is set
  type: dict
  contains:
    exists:
      description: Whether the file exists.
      type: bool
    format:
      description: V(pkcs8), V(pkcs8-encrypted), V(pkcs1), V(sec1) or V(unknown).
      type: str
    key_type:
      description: Type of the key.
      type: str
    mode:
      description: Octal mode of the file.
      type: str
    owner:
      description: Owner of the file.
      type: str
    group:
      description: Group of the file.
      type: str
key_matches:
  description: Whether the private key belongs to the certificate; null when there is no key to compare.
  returned: when the certificate exists
  type: bool
chain_verified:
  description: Whether the certificate verifies against O(trust_bundle_path); null without a bundle.
  returned: when the certificate exists
  type: bool
problems:
  description: Everything that stops the certificate from being used as asked; empty when it is fine.
  returned: always
  type: list
  elements: str
'''

import grp
import os
import pwd
import stat

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.common import argument_spec, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import read_file


def file_owner(path):
    st = os.stat(path)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return owner, group, '%04o' % stat.S_IMODE(st.st_mode)


def unreadable(module, user, paths):
    """The paths of ``paths`` that ``user`` can not open for reading (all of them when the check can not run)."""
    runuser = module.get_bin_path('runuser')
    if not runuser:
        return ['any file (runuser, from util-linux, is not on the host)']
    script = 'for f in "$@"; do test -r "$f" || echo "$f"; done; exit 0'
    rc, out, err = module.run_command([runuser, '-u', user, '--', 'sh', '-c', script, 'sh'] + paths)
    if rc != 0:
        return ['any file (runuser -u %s failed: %s)' % (user, (err.strip() or 'rc %d' % rc)[:200])]
    return [line for line in out.splitlines() if line in paths]


def run(module):
    params = module.params
    data = read_file(params['certificate_path'], 'certificate')
    if data is None:
        return dict(changed=False, exists=False, problems=['certificate %s does not exist' % params['certificate_path']])
    certs = pki.load_certificates(data, params['certificate_path'])
    cert = certs[0]
    result = dict(changed=False, exists=True, info=pki.certificate_info(cert), certificates_in_file=len(certs),
                  key_matches=None, chain_verified=None)
    problems = []

    key = None
    if params['private_key_path']:
        key_data = read_file(params['private_key_path'], 'private key')
        facts = dict(exists=key_data is not None)
        if key_data is not None:
            owner, group, mode = file_owner(params['private_key_path'])
            facts.update(format=pki.private_key_format(key_data), owner=owner, group=group, mode=mode)
            try:
                key = pki.load_private_key(key_data, params['private_key_passphrase'],
                                           'private key %s' % params['private_key_path'])
                facts['key_type'] = pki.key_type_of(key)
                result['key_matches'] = pki.key_matches_certificate(key, cert)
            except pki.PKIError as exc:
                problems.append(to_text(exc))
        else:
            problems.append('private key %s does not exist' % params['private_key_path'])
        result['private_key'] = facts

    roots, chain = [], certs[1:]
    if params['chain_path']:
        chain_data = read_file(params['chain_path'], 'chain')
        if chain_data is None:
            problems.append('chain %s does not exist' % params['chain_path'])
        else:
            chain += pki.load_certificates(chain_data, params['chain_path'])
    if params['trust_bundle_path']:
        bundle_data = read_file(params['trust_bundle_path'], 'trust bundle')
        if bundle_data is None:
            problems.append('trust bundle %s does not exist' % params['trust_bundle_path'])
        else:
            roots = pki.load_certificates(bundle_data, params['trust_bundle_path'])
    problems.extend(pki.check_certificate(cert, key, roots, chain, params['required_names'], params['profile'],
                                          params['min_days_left']))
    if roots:
        result['chain_verified'] = not pki.verify_chain(cert, roots, chain)
    if params['readable_by']:
        paths = [params[k] for k in ('certificate_path', 'private_key_path', 'chain_path', 'trust_bundle_path') if params[k]]
        problems.extend('user %s can not read %s' % (params['readable_by'], path)
                        for path in unreadable(module, params['readable_by'], paths))
    result['problems'] = problems
    return result


def main():
    run_module(argument_spec(
        ('checks',),
        certificate_path=dict(type='path', required=True),
        private_key_path=dict(type='path', no_log=False),
        private_key_passphrase=dict(type='str', no_log=True),
        chain_path=dict(type='path'),
        trust_bundle_path=dict(type='path', aliases=['ca_path', 'ca_file']),
        readable_by=dict(type='str'),
    ), run)


if __name__ == '__main__':
    main()
