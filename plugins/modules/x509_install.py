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

from ansible_collections.otlp.tls.plugins.module_utils.cert_install import install, install_spec
from ansible_collections.otlp.tls.plugins.module_utils.common import run_module


def run(module):
    return install(module, module.params)


def main():
    run_module(install_spec(), run)


if __name__ == '__main__':
    main()
