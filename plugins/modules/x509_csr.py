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
description:
  - Runs on the host that will use the key. Creates the private key when it is missing, keeps it otherwise, and writes it
    as unencrypted PKCS#8 (the only form every OpenTelemetry SDK reads; Java rejects PKCS#1 and SEC1).
  - A key in another format (PKCS#1, SEC1) is rewritten as PKCS#8 without changing the key itself.
  - Returns a certificate signing request for the requested subject and subjectAltNames, and the certificate currently
    installed at O(certificate_path), so that M(otlp.tls.x509_sign) can decide whether it is still good.
  - The CSR is returned, never written; it is a message to the CA, not state.
  - A usable key at O(private_key_path) is never overwritten by a new one (O(rotate_key), or a changed O(key_type)); the
    new key is staged beside it at C(<private_key_path>.next), written atomically as PKCS#8 with the same owner, group
    and mode, and the CSR is made for it (RV(staged)). The live key keeps working with its certificate until
    M(otlp.tls.x509_install) installs the certificate issued for the staged key and moves the staged key into place
    in the same call. If signing fails, nothing the service uses has changed.
  - A staged key left by an earlier run whose certificate was never installed is used again when a new key is asked
    for again (no new key on every retry). When no new key is asked for, the CSR is for the live key and the staged key
    is left where it is; it is used by the next rotation, or remove it to discard it.
  - A staged key that the certificate at O(certificate_path) belongs to (an installation cut short between the
    certificate and the key, or a certificate copy kept elsewhere) is moved into place first (RV(staged_key_promoted)).
  - Without a key (first issue), or in place of a key no service can read (encrypted, damaged; only with
    O(rotate_key)), the new key is written to O(private_key_path) directly.
  - With O(prepared), the CSR that M(otlp.tls.host_state) already made for these same options in a plan's one read
    of the host is returned as it is, without a second call (RV(prepared)); with other options, the module runs.
version_added: 0.1.0
extends_documentation_fragment:
  - otlp.tls.common
  - otlp.tls.common.files
attributes:
  action:
    support: full
    description: An action plugin returns O(prepared) when it fits, and runs the module on the host otherwise.
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
    description:
      - Replace the existing key with a new one. The new key is staged at C(<private_key_path>.next) until its
        certificate is installed by M(otlp.tls.x509_install); a key already staged there is used again.
    type: bool
    default: false
  mode:
    description:
      - Mode of the private key file (0600, or 0640 with a O(group) that the service runs as), and of a staged key.
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
  prepared:
    description:
      - The result of M(otlp.tls.host_state) for this entry (its C(prepared) result with C(prepared_params), the
        options the CSR was made with), as the exporter role hands it to the certificate role. Used only when those
        options are the ones of this task; read by the action plugin, never sent to the host.
    type: dict
    version_added: 0.3.0
author:
  - otlp.tls maintainers (@otlp-tls)
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
prepared:
  description: Whether the CSR came from O(prepared) (made by the plan's read of the host) rather than a call now.
  returned: success
  type: bool
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
  description: SHA-256 of the public key the CSR is for (the staged key when RV(staged)), hex. Identifies the key
    without revealing it.
  returned: success
  type: str
private_key_changed:
  description:
    - Whether the CSR is for a new key, made now or staged by an earlier run (a format conversion alone is not a new
      key), or the staged key was moved into place.
  returned: success
  type: bool
private_key_reason:
  description: Why the key was created, staged, replaced or rewritten; empty when it was kept as it was.
  returned: success
  type: str
staged:
  description:
    - Whether the CSR is for a staged key at RV(staged_private_key_path) rather than the key at O(private_key_path),
      which stays as it is until M(otlp.tls.x509_install) installs the certificate of the staged key.
  returned: success
  type: bool
staged_private_key_path:
  description:
    - Where a staged key lives, C(<private_key_path>.next), whether or not there is one.
    - When RV(staged) is false a key may still be there, left by a rotation whose certificate was never installed.
  returned: success
  type: str
  sample: /etc/otlp-tls/collector/key.pem.next
staged_key_promoted:
  description:
    - Whether a key staged by an earlier run was moved to O(private_key_path) because the certificate at
      O(certificate_path) belongs to it.
  returned: success
  type: bool
'''

from ansible_collections.otlp.tls.plugins.module_utils.common import run_module
from ansible_collections.otlp.tls.plugins.module_utils.csr import csr_spec, make_csr


def run(module):
    return make_csr(module, module.params)


def main():
    # prepared: read by the action plugin only (plugins/action/x509_csr.py), which never passes it on.
    run_module(csr_spec(prepared=dict(type='dict')), run)


if __name__ == '__main__':
    main()
