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
description:
  - Creates a CA private key and a self-signed CA certificate when they do not exist, or loads and checks them when they do.
  - An existing CA is never replaced; a key and certificate that do not belong together, an expired CA certificate, or a
    wrong passphrase fail with a message that says how to fix it.
  - Optionally writes a trust bundle that holds the signing CA first, then the other CA of a rotation under way, then
    other CA certificates that stay trusted.
  - Rotates the CA in resumable phases with an overlapping trust bundle (see O(rotation)).
  - New keys are written as PKCS#8, encrypted with O(private_key_passphrase) when it is set.
  - While a rotation is recorded, every run first checks that the CA files on disk are the ones the rotation state
    recorded (the CA being replaced, the next CA in C(next/), each key against its certificate, and after the promotion
    the new CA), and refuses to go on otherwise, naming the recorded and the found fingerprints and the fix.
  - A new CA can carry name constraints (O(permitted_dns_domains), O(permitted_ip_ranges)).
version_added: 0.1.0
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
  private_directory:
    description:
      - Create the directory of O(certificate_path) when it is missing, and keep it C(0700) (only its owner may list
        or enter it), before anything is read or written there. Missing parents are made C(0755).
    type: bool
    default: false
    version_added: 0.3.0
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
  trust_bundle_path:
    description:
      - Path of a trust bundle to write, with this CA's certificate first and then the certificates of O(bundle_include).
      - Named C(trust_bundle_path) in every otlp.tls module; C(bundle_path) is the older name.
    type: path
    aliases: [bundle_path]
  bundle_include:
    description:
      - Paths of other CA certificate files whose certificates stay in the bundle (for example the previous CA while a
        rotation is under way). Missing files are an error.
    type: list
    elements: path
    default: []
  warn_before_days:
    description:
      - Warn when the CA certificate expires within this many days.
      - Every day count of otlp.tls names its unit (O(validity_days), O(warn_before_days)); C(warn_days) is the older name.
    type: int
    default: 90
    aliases: [warn_days]
  rotation:
    description:
      - What to do with a CA rotation. The state lives in O(rotation_state_path); the next CA in C(next/) beside the CA.
      - V(follow) changes no phase, but signs and bundles as the current phase says. Every run does this, so a plain
        converge during a rotation keeps the fleet consistent.
      - V(start) makes the next CA and enters phase C(trust), unless a rotation is already under way (then it resumes).
      - V(record) adds O(rotation_hosts) to the hosts that completed O(rotation_phase).
      - V(advance) moves from O(rotation_phase) to the next phase, only when every host of O(rotation_hosts) completed
        it. Moving to C(retire) makes the next CA the CA; the old certificate is kept in C(retired/), its key deleted.
      - "Phases: C(trust): the old CA signs, the bundle holds old and new. C(reissue): the new CA signs, the bundle holds
        new and old. C(retire): the new CA is the CA, the bundle holds it alone. C(done)."
    type: str
    default: follow
    choices: [follow, start, record, advance]
  rotation_phase:
    description: The phase that O(rotation=record) or O(rotation=advance) is about. Nothing happens when the rotation is
      in another phase.
    type: str
    choices: [trust, reissue, retire]
  rotation_hosts:
    description: Hosts that completed O(rotation_phase) (record), or that must have (advance).
    type: list
    elements: str
    default: []
  rotation_state_path:
    description: The rotation state file. Default C(rotation.json) beside O(certificate_path).
    type: path
  revoke:
    description:
      - Hosts (C(app1), every certificate of the host) or entries (C(app1:checkout)) to cut off. Needs O(rotation=start)
        and no rotation under way. The revoked certificates stop verifying when the CA that issued them is retired at the
        end of that rotation, and the signer (M(otlp.tls.x509_sign) O(otlp.tls.x509_sign#module:revocation_path)) never
        issues them anything again.
      - Recorded in O(revocation_path) with the serials the ledger (O(ledger_path)) holds for them; a CRL of each CA
        that issued them is written to O(crl_path).
    type: list
    elements: str
    default: []
  unrevoke:
    description: Hosts or entries that may be issued certificates again. The serials revoked so far stay in the CRL.
    type: list
    elements: str
    default: []
  revoke_reason:
    description: Why, recorded with each revocation.
    type: str
    default: ''
  revocation_path:
    description: The revocation list (JSON). Default C(revoked.json) beside O(certificate_path).
    type: path
  crl_path:
    description: The CRL file (PEM, one CRL per CA that issued revoked certificates). Default C(crl.pem) beside O(trust_bundle_path).
    type: path
  ledger_path:
    description: The issuance ledger that M(otlp.tls.x509_sign) writes. Default C(ledger.jsonl) beside O(certificate_path).
    type: path
  lock_timeout:
    description:
      - Seconds to wait for the lock of the CA directory (C(.lock) beside O(certificate_path)) that every CA-side write
        takes, so that parallel runs (AWX job slices, two operators) never create two CAs or corrupt the rotation state.
        A run that can not get it in time fails with a message naming the holder.
    type: int
    default: 120
  permitted_dns_domains:
    description:
      - DNS suffixes that a newly created CA certificate, and the next CA made by O(rotation=start), permits in a critical
        nameConstraints extension. C(example.internal) permits it and every name below it; no wildcards.
      - TLS clients then refuse any certificate of this CA for a DNS name outside them, whoever signed it.
      - An existing CA certificate is never rewritten. When its constraints differ from O(permitted_dns_domains) and
        O(permitted_ip_ranges), the module warns and says so in RV(name_constraints); a CA rotation writes them.
      - With only O(permitted_ip_ranges) set, DNS names are not constrained, and the other way round.
    type: list
    elements: str
    default: []
  permitted_ip_ranges:
    description:
      - Networks in CIDR form (C(10.0.0.0/8), C(fd00::/8)) that a newly created CA certificate, and the next CA made by
        O(rotation=start), permits for IP address names, in the same critical nameConstraints extension as
        O(permitted_dns_domains).
      - An existing CA certificate is never rewritten; see O(permitted_dns_domains).
    type: list
    elements: str
    default: []
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Create or load the fleet CA on the controller
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    common_name: Example OTLP CA
    trust_bundle_path: /srv/otlp-ca/bundle.crt
  delegate_to: localhost
  run_once: true
  register: otlp_ca

- name: Start a CA rotation (or resume one that is under way)
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    trust_bundle_path: /srv/otlp-ca/bundle.crt
    rotation: start

- name: A CA that may only certify names under example.internal and addresses in 10.0.0.0/8
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    permitted_dns_domains: [example.internal]
    permitted_ip_ranges: [10.0.0.0/8]

- name: A CA key that is encrypted at rest
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    private_key_passphrase: "{{ vault_otlp_ca_passphrase }}"
'''

RETURN = r'''
revoked:
  description: Every host or entry that is revoked now.
  returned: success
  type: list
  elements: str
newly_revoked:
  description: Hosts or entries this run revoked.
  returned: success
  type: list
  elements: str
revocation_path:
  description: The revocation list.
  returned: success
  type: str
crl_path:
  description: The CRL file (written only when some CA here issued revoked certificates).
  returned: success
  type: str
certificate:
  description: The certificate of the CA that signs in the current rotation phase, PEM.
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
  description: Whether a new CA key (the CA's or, starting a rotation, the next CA's) was created by this run.
  returned: success
  type: bool
signing_certificate_path:
  description: The certificate of the CA that signs in the current rotation phase.
  returned: success
  type: str
signing_private_key_path:
  description: The private key of the CA that signs in the current rotation phase.
  returned: success
  type: str
rotation:
  description: The rotation state.
  returned: success
  type: dict
  contains:
    phase:
      description: none (never rotated), trust, reissue, retire or done.
      type: str
    done:
      description: For each phase, the hosts that completed it.
      type: dict
    old_fingerprint:
      description: SHA-256 fingerprint of the CA being replaced.
      type: str
    new_fingerprint:
      description: SHA-256 fingerprint of the CA replacing it.
      type: str
    state_path:
      description: Where the state is kept.
      type: str
name_constraints:
  description:
    - The name constraints asked for and those in the CA certificate that signs in the current phase (RV(certificate)).
      An existing CA is never rewritten; when they differ, a CA rotation writes them (the next CA of a rotation started
      now gets the configured ones), and the module warns.
  returned: success
  type: dict
  contains:
    configured:
      description: O(permitted_dns_domains) and O(permitted_ip_ranges), normalized.
      type: dict
      sample: {permitted_dns_domains: [example.internal], permitted_ip_ranges: [10.0.0.0/8]}
    in_certificate:
      description: The permitted subtrees of the CA certificate, in the same form; empty lists when it has none.
      type: dict
      sample: {permitted_dns_domains: [], permitted_ip_ranges: []}
    matches:
      description: Whether the CA certificate carries exactly the configured constraints.
      type: bool
'''

import os

from ansible_collections.otlp.tls.plugins.module_utils import ca_store, pki
from ansible_collections.otlp.tls.plugins.module_utils.ca_rotation import PHASES, converge
from ansible_collections.otlp.tls.plugins.module_utils.common import argument_spec, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import ensure_directory


def run(module):
    params = module.params
    if params['validity_days'] < 1:
        raise pki.PKIError('validity_days must be a positive number of days, got %d' % params['validity_days'])
    # Every CA-side write (the CA, the next CA, the bundle, rotation.json) under the CA
    # directory's lock: parallel runs never make two CAs or lose a rotation record.
    directory_changed = False
    if params['private_directory']:
        directory_changed = ensure_directory(module, os.path.dirname(os.path.abspath(params['certificate_path'])),
                                             mode='0700')
    with ca_store.CALock(os.path.dirname(params['certificate_path']), params['lock_timeout'],
                         'x509_ca rotation=%s' % params['rotation'], module.check_mode):
        result = converge(module)
    if directory_changed:
        result['changed'] = True
    return result


def main():
    run_module(argument_spec(
        ('files', 'key_mode', 'name_constraints', 'lock'),
        certificate_path=dict(type='path', required=True),
        private_key_path=dict(type='path', required=True),
        private_key_passphrase=dict(type='str', no_log=True),
        private_directory=dict(type='bool', default=False),
        key_type=dict(type='str', default='ec-p256', choices=list(pki.KEY_TYPES)),
        common_name=dict(type='str', default='otlp.tls CA'),
        organization=dict(type='str'),
        validity_days=dict(type='int', default=3650),
        certificate_mode=dict(type='str', default='0644'),
        trust_bundle_path=dict(type='path', aliases=['bundle_path']),
        bundle_include=dict(type='list', elements='path', default=[]),
        warn_before_days=dict(type='int', default=90, aliases=['warn_days']),
        rotation=dict(type='str', default='follow', choices=['follow', 'start', 'record', 'advance']),
        rotation_phase=dict(type='str', choices=list(PHASES)),
        rotation_hosts=dict(type='list', elements='str', default=[]),
        rotation_state_path=dict(type='path'),
        revoke=dict(type='list', elements='str', default=[]),
        unrevoke=dict(type='list', elements='str', default=[]),
        revoke_reason=dict(type='str', default=''),
        revocation_path=dict(type='path'),
        crl_path=dict(type='path'),
        ledger_path=dict(type='path'),
    ), run)


if __name__ == '__main__':
    main()
