#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: x509_install
short_description: Check a certificate against its key, chain and names, then install it with its chain and trust bundle
description:
  - Installs a certificate, optionally its chain, a full chain file, a trust bundle and a private key, on the host that
    uses them, in one call.
  - Everything is checked before any file is written; when a check fails, nothing changes and the message lists every
    problem. The checks are that the key belongs to the certificate, that the chain verifies against the trust bundle,
    that the certificate is not expired (or expiring within O(min_days_left) days), that its subjectAltNames cover
    O(required_names), and that its extended key usage fits O(profile).
  - A private key given in O(private_key) (controller-made keys, or keys of a PKI made elsewhere, in PKCS#1, SEC1,
    PKCS#8, encrypted or not) is written as unencrypted PKCS#8. Without O(private_key), the key already at
    O(private_key_path) is used for the check and left untouched.
  - Key rotation without a window. When M(otlp.tls.x509_csr) staged a new key at C(<private_key_path>.next) and the
    certificate belongs to that staged key (not to the live one), the certificate, chain, full chain and trust bundle
    are written first and the staged key is then renamed over O(private_key_path), so the key and its certificate are
    swapped together and only once the certificate was signed (RV(staged_private_key_installed)). A certificate that
    belongs to the live key leaves a staged key alone (it belongs to a rotation whose certificate was not signed). A
    certificate that belongs to neither is refused and nothing is written.
  - In check mode a certificate that belongs to neither key is accepted without the key match, with a warning, since
    M(otlp.tls.x509_csr) writes no staged key in check mode.
  - Every file is replaced atomically and only when its content, owner, group or mode differ.
version_added: 0.1.0
extends_documentation_fragment:
  - otlp.tls.common
  - otlp.tls.common.files
  - otlp.tls.common.checks
options:
  certificate:
    description: The certificate, PEM.
    type: str
    required: true
  certificate_path:
    description: Where to write the certificate (the leaf only).
    type: path
    required: true
  chain:
    description: Certificates that issued O(certificate), PEM, issuer first (intermediates, then the CA).
    type: str
    default: ''
  chain_path:
    description: Where to write O(chain).
    type: path
  fullchain_path:
    description: Where to write the certificate followed by O(chain) (what a server should present).
    type: path
  trust_bundle:
    description: CA certificates that peers are trusted by, PEM. The certificate must verify against it.
    type: str
    default: ''
  trust_bundle_path:
    description:
      - Where to write O(trust_bundle).
      - Named C(trust_bundle_path) in every otlp.tls module; C(ca_path) and C(ca_file) are other names for it.
    type: path
    aliases: [ca_path, ca_file]
  private_key_path:
    description:
      - Path of the private key that belongs to the certificate.
      - A key staged beside it at C(<private_key_path>.next) by a key rotation is moved here when the certificate belongs
        to it.
    type: path
    required: true
  private_key:
    description: A private key to install at O(private_key_path); any PEM or DER format, written as PKCS#8.
    type: str
  private_key_passphrase:
    description: Passphrase of O(private_key) when it is encrypted. The installed key is not encrypted.
    type: str
  private_key_mode:
    description: Mode of the private key file.
    type: str
    default: '0600'
  mode:
    description: Mode of the certificate, chain and bundle files.
    type: str
    default: '0644'
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Install a signed client certificate next to the key made on this host
  otlp.tls.x509_install:
    certificate: "{{ otlp_signed.certificates[inventory_hostname].certificate }}"
    certificate_path: /etc/myapp/tls/client.crt
    chain: "{{ otlp_signed.chain }}"
    trust_bundle: "{{ otlp_ca.bundle }}"
    trust_bundle_path: /etc/myapp/tls/ca.crt
    private_key_path: /etc/myapp/tls/client.key
    profile: client
    group: myapp

- name: Bring your own PKI, a key made with openssl (PKCS#1) becomes PKCS#8
  otlp.tls.x509_install:
    certificate: "{{ lookup('ansible.builtin.file', 'pki/' ~ inventory_hostname ~ '.crt') }}"
    certificate_path: /etc/otelcol/tls/server.crt
    private_key: "{{ lookup('ansible.builtin.file', 'pki/' ~ inventory_hostname ~ '.key') }}"
    private_key_path: /etc/otelcol/tls/server.key
    trust_bundle: "{{ lookup('ansible.builtin.file', 'pki/ca.crt') }}"
    trust_bundle_path: /etc/otelcol/tls/ca.crt
    required_names: ["{{ inventory_hostname }}"]
    profile: server
  no_log: true
'''

RETURN = r'''
changed_files:
  description: Paths whose content, owner, group or mode changed.
  returned: success
  type: list
  elements: str
info:
  description: Facts about the installed certificate (see M(otlp.tls.x509_info)).
  returned: success
  type: dict
private_key_converted:
  description: Whether a given private key was converted to PKCS#8 on the way.
  returned: success
  type: bool
staged_private_key_installed:
  description:
    - Whether the certificate belongs to the key staged at C(<private_key_path>.next) by M(otlp.tls.x509_csr), which was
      moved to O(private_key_path) after the certificate was written (in check mode, would be).
  returned: success
  type: bool
'''

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.common import argument_spec, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import (
    FileProblem, check_parent, move_into_place, read_file, staged_key_path, write_file,
)


def cert_summary(data):
    if not data:
        return ''
    try:
        certs = pki.load_certificates(data)
    except pki.PKIError:
        return '(unreadable)\n'
    lines = []
    for cert in certs:
        info = pki.certificate_info(cert)
        lines.append('subject=%s serial=%s not_after=%s sans=%s\n' % (
            info['subject'], info['serial_number'], info['not_after'],
            ','.join(info['dns_names'] + info['ip_addresses'])))
    return ''.join(lines)


def key_fingerprint_line(data):
    """What a diff may say about a key file: its public key fingerprint, never the key."""
    if data is None:
        return 'absent'
    try:
        return 'public key sha256 %s' % pki.public_key_fingerprint(pki.load_private_key(data))
    except pki.PKIError:
        return 'key present (unreadable)'


def run(module):
    params = module.params
    cert = pki.load_certificate(params['certificate'], 'certificate')
    chain = pki.load_certificates(params['chain'], 'chain') if params['chain'].strip() else []
    roots = pki.load_certificates(params['trust_bundle'], 'trust bundle') if params['trust_bundle'].strip() else []
    key_path = params['private_key_path']

    targets = [(params['certificate_path'], 'certificate'), (key_path, 'private key'),
               (params['chain_path'], 'chain'), (params['fullchain_path'], 'full chain'),
               (params['trust_bundle_path'], 'trust bundle')]
    for path, what in targets:
        if path:
            check_parent(path, what, module.check_mode)
    if params['chain_path'] and not chain:
        raise FileProblem('chain_path is set but chain is empty: pass the issuing CA certificate(s) in chain')
    if params['trust_bundle_path'] and not roots:
        raise FileProblem('trust_bundle_path is set but trust_bundle is empty: pass the CA certificate(s) to trust')

    converted = False
    key_pem = None
    staged_path = staged_key_path(key_path)
    swap = False  # the certificate belongs to the staged key: move it into place after the certificate
    staged_mismatch = False
    if params['private_key']:
        key = pki.load_private_key(params['private_key'], params['private_key_passphrase'], 'the given private key')
        converted = pki.private_key_format(params['private_key']) != 'pkcs8' or bool(params['private_key_passphrase'])
        key_pem = pki.private_key_to_pkcs8(key)
    else:
        key_data = read_file(key_path, 'private key')
        staged_data = read_file(staged_path, 'staged private key')
        live = None
        if key_data is not None:
            try:
                live = pki.load_private_key(key_data, None, 'private key %s' % key_path)
            except pki.PKIError:
                if staged_data is None:
                    raise
        staged = None
        if staged_data is not None and (live is None or not pki.key_matches_certificate(live, cert)):
            # A key rotation (x509_csr) staged the new key beside the live one until its certificate is installed.
            staged = pki.load_private_key(staged_data, None, 'staged private key %s' % staged_path)
            swap = pki.key_matches_certificate(staged, cert)
            staged_mismatch = not swap
        if swap:
            key = staged
        elif key_data is None:
            if not module.check_mode:
                raise FileProblem('the private key %s does not exist: create it with otlp.tls.x509_csr first, or pass '
                                  'private_key' % key_path)
            # In check mode on a new host the key is not there yet: x509_csr only said it would make it.
            key = None
        elif live is None:
            key = pki.load_private_key(key_data, None, 'private key %s' % key_path)
        elif module.check_mode and not pki.key_matches_certificate(live, cert):
            # In check mode a key rotation's new key is not there yet: x509_csr only said it would stage it.
            module.warn('check mode: the certificate for %s belongs neither to the key %s nor to a key staged at %s '
                        '(x509_csr writes no staged key in check mode); the key match is not checked'
                        % (pki.describe_name(cert.subject), key_path, staged_path))
            key, staged_mismatch = None, False
        else:
            key = live

    problems = pki.check_certificate(cert, key, roots, chain, params['required_names'], params['profile'],
                                     params['min_days_left'])
    if problems and staged_mismatch:
        problems.append('the key staged at %s (public key %s) does not belong to it either'
                        % (staged_path, pki.public_key_fingerprint(staged)[:16]))
    if problems:
        raise pki.PKIError('refusing to install the certificate for %s: %s' % (
            pki.describe_name(cert.subject), '; '.join(problems)))

    cert_pem = pki.certificate_pem(cert)
    chain_pem = b''.join(pki.certificate_pem(c) for c in chain)
    roots_pem = b''.join(pki.certificate_pem(c) for c in roots)
    writes = [(params['certificate_path'], cert_pem, params['mode'])]
    if key_pem is not None:
        writes.append((key_path, key_pem, params['private_key_mode']))
    if params['chain_path']:
        writes.append((params['chain_path'], chain_pem, params['mode']))
    if params['fullchain_path']:
        writes.append((params['fullchain_path'], cert_pem + chain_pem, params['mode']))
    if params['trust_bundle_path']:
        writes.append((params['trust_bundle_path'], roots_pem, params['mode']))

    diff_before, diff_after = [], []
    changed_files = []
    for path, content, mode in writes:
        before = read_file(path)
        if write_file(module, path, content, params['owner'], params['group'], mode):
            changed_files.append(path)
            if path != key_path:
                diff_before.append('%s:\n%s' % (path, cert_summary(before)))
                diff_after.append('%s:\n%s' % (path, cert_summary(content)))
            else:
                diff_before.append('%s: %s\n' % (path, 'key present' if before else 'absent'))
                diff_after.append('%s: public key sha256 %s\n' % (path, pki.public_key_fingerprint(key)))
    if swap:
        # Only now that the certificate (and full chain) are in place does the staged key replace
        # the live one, in one rename: the pair changes together, and only after signing.
        before = read_file(key_path)
        move_into_place(module, staged_path, key_path)
        changed_files.append(key_path)
        diff_before.append('%s: %s\n' % (key_path, key_fingerprint_line(before)))
        diff_after.append('%s: public key sha256 %s (the key staged at %s)\n'
                          % (key_path, pki.public_key_fingerprint(key), staged_path))
    if key_pem is None and key is not None and not (module.check_mode and swap):
        # The key made on this host keeps its mode and owner in line too.
        if write_file(module, key_path, read_file(key_path), params['owner'], params['group'],
                      params['private_key_mode']) and key_path not in changed_files:
            changed_files.append(key_path)

    result = dict(changed=bool(changed_files), changed_files=changed_files, info=pki.certificate_info(cert),
                  private_key_converted=converted, staged_private_key_installed=swap)
    if module._diff:
        result['diff'] = dict(before=''.join(diff_before), after=''.join(diff_after))
    return result


def main():
    run_module(argument_spec(
        ('files', 'key_mode', 'checks'),
        certificate=dict(type='str', required=True),
        certificate_path=dict(type='path', required=True),
        chain=dict(type='str', default=''),
        chain_path=dict(type='path'),
        fullchain_path=dict(type='path'),
        trust_bundle=dict(type='str', default=''),
        trust_bundle_path=dict(type='path', aliases=['ca_path', 'ca_file']),
        private_key_path=dict(type='path', required=True, no_log=False),
        private_key=dict(type='str', no_log=True),
        private_key_passphrase=dict(type='str', no_log=True),
        mode=dict(type='str', default='0644'),
    ), run)


if __name__ == '__main__':
    main()
