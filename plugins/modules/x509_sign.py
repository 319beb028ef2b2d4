#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: x509_sign
short_description: Sign many CSRs with the private CA in one call, issuing only what the inventory grants
description:
  - Runs where the CA key lives (usually the controller) and signs the CSRs of a whole play in one task.
  - The subject, subjectAltNames, profile (extended key usage) and validity of every certificate come from the request
    (O(requests[].common_name), O(requests[].subject_alt_names), O(requests[].profile), worked out by the controller from
    the inventory), never from the CSR. The CSR contributes its public key only; its signature must verify (proof of
    possession of the key).
  - A CSR that asks for anything the request does not grant (another subject, other names, another extended key usage,
    C(CA:TRUE), keyCertSign, any other extension) is refused for that request alone, with a message that names the host,
    the entry, what was asked and what is granted. So is a request whose names break the CA's name constraints (those in
    the CA certificate and O(permitted_dns_domains)/O(permitted_ip_ranges)) or that holds a wildcard name without
    O(allow_wildcards). The other requests are signed; the refused ones are returned in RV(refused).
  - For each request, an existing certificate is kept when it is issued by the current CA, is for the same key, subject,
    subjectAltNames and profile, and does not expire within O(renew_before_days) days. Otherwise a new certificate is issued and
    the reasons are returned.
  - Writes nothing. Only requests that got a new certificate count as changed.
version_added: 0.1.0
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
      - Profile of requests that name none. V(server) adds serverAuth, V(client) clientAuth, V(both) both usages.
    type: str
    default: server
    choices: [server, client, both]
  validity_days:
    description: Default lifetime of new certificates, in days.
    type: int
    default: 365
  renew_before_days:
    description:
      - Default number of days before expiry at which a certificate is re-issued.
      - Every day count of otlp.tls names its unit (O(validity_days), O(renew_before_days)); C(renew_before) is the
        older name.
    type: int
    default: 30
    aliases: [renew_before]
  force:
    description: Re-issue every certificate, whether it is still good or not (leaf rotation).
    type: bool
    default: false
  allow_wildcards:
    description: Issue wildcard DNS names (C(*.example.internal)). Off by default; a wildcard covers every host of a domain.
    type: bool
    default: false
  permitted_dns_domains:
    description:
      - DNS suffixes every DNS name must fall under (C(example.internal) permits it and every name below it), checked
        in addition to the name constraints of the CA certificate itself. Empty means no constraint from this option.
    type: list
    elements: str
    default: []
  permitted_ip_ranges:
    description: Networks every IP address name must fall in (C(10.0.0.0/8)), in addition to the CA certificate's.
    type: list
    elements: str
    default: []
  ledger_path:
    description:
      - The issuance ledger on the CA host (JSON lines). Every certificate issued is appended to it with its serial,
        host, entry, subject, names, profile, validity, public-key fingerprint and issuing CA. Nothing is recorded in
        check mode. Omit it to keep no ledger.
      - The signing runs while holding the CA directory's lock (C(.lock) beside the ledger), like every CA-side write of
        M(otlp.tls.x509_ca), so that parallel runs never lose a ledger entry.
    type: path
  revocation_path:
    description:
      - The revocation list M(otlp.tls.x509_ca) keeps (C(revoked.json)). A request for a revoked host or entry is not
        signed, and returned in RV(revoked), not in RV(refused); its host is cut off on purpose and may go on.
    type: path
  lock_timeout:
    description: Seconds to wait for the CA directory's lock before failing with a message naming its holder.
    type: int
    default: 120
  requests:
    description: The CSRs to sign, each with what the inventory grants it.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: A name for the request, unique in the list (C(<host>:<entry>)).
        type: str
        required: true
      host:
        description: The inventory host the request is for, for messages. Defaults to the part of O(requests[].name) before C(:).
        type: str
      entry:
        description: The certificate entry of that host, for messages. Defaults to the part of O(requests[].name) after C(:).
        type: str
      csr:
        description: The CSR, PEM. Only its public key is used, once its signature verifies.
        type: str
        required: true
      common_name:
        description: Subject common name of the certificate.
        type: str
        required: true
      organization:
        description: Subject organization of the certificate.
        type: str
      subject_alt_names:
        description: DNS names and IP addresses of the certificate.
        type: list
        elements: str
        default: []
      existing_certificate:
        description: The certificate installed now for this request, PEM; empty when there is none.
        type: str
        default: ''
      profile:
        description: Profile of this request; defaults to O(profile).
        type: str
        choices: [server, client, both]
      validity_days:
        description: Lifetime of a new certificate for this request; defaults to O(validity_days).
        type: int
      renew_before_days:
        description: Renewal threshold for this request, in days; defaults to O(renew_before_days).
        type: int
        aliases: [renew_before]
      force:
        description: Re-issue this certificate even when it is still good.
        type: bool
        default: false
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Sign the CSRs of every host of the play in one task on the CA host
  otlp.tls.x509_sign:
    ca_certificate_path: /srv/otlp-ca/ca.crt
    ca_private_key_path: /srv/otlp-ca/ca.key
    renew_before_days: 30
    permitted_dns_domains: [example.internal]
    requests:
      - name: collector1:collector
        csr: "{{ hostvars['collector1'].otlp_csr.csr }}"
        existing_certificate: "{{ hostvars['collector1'].otlp_csr.existing_certificate }}"
        common_name: collector1.example.internal
        subject_alt_names: [collector1.example.internal, 10.0.0.5]
        profile: server
      - name: app1:checkout
        csr: "{{ hostvars['app1'].otlp_csr.csr }}"
        common_name: checkout@app1.example.internal
        subject_alt_names: [app1.example.internal]
        profile: client
  delegate_to: localhost
  run_once: true
  register: otlp_signed
'''

RETURN = r'''
certificates:
  description: One entry per request name that was signed or kept (not the refused ones).
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
revoked:
  description: Names of the requests for revoked hosts or entries; nothing was signed for them.
  returned: success
  type: list
  elements: str
recorded:
  description: How many certificates were appended to the ledger.
  returned: success
  type: int
refused:
  description: Requests that were not signed, by name, each with the reason (what was asked, what is granted, the fix).
  returned: success
  type: dict
chain:
  description: The CA certificates that verify the issued certificates, issuer first, PEM (the signing CA).
  returned: success
  type: str
'''

import os

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import ca_store, pki, renewal, revocation
from ansible_collections.otlp.tls.plugins.module_utils.common import argument_spec, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import read_file
from ansible_collections.otlp.tls.plugins.module_utils.signer import LocalCABackend


# A CSR or certificate for an RSA 4096 key with a few names is under 4 KiB.
MAX_PEM = 64 * 1024


def _label(request):
    host, _sep, entry = request['name'].partition(':')
    host = request.get('host') or host
    entry = request.get('entry') or entry or host
    return 'host %s, certificate %s' % (host, entry)


def check_request(request, params, ca_constraints):
    """(grant, csr, existing, settings) for one request, or raise PKIError with why it is refused."""
    label = _label(request)
    settings = dict(
        profile=request['profile'] or params['profile'],
        validity_days=request['validity_days'] if request['validity_days'] is not None else params['validity_days'],
        renew_before_days=(request['renew_before_days'] if request['renew_before_days'] is not None
                           else params['renew_before_days']),
        force=request['force'] or params['force'],
    )
    if settings['validity_days'] < 1:
        raise pki.PKIError('%s: validity_days must be at least 1, got %d' % (label, settings['validity_days']))
    if not 0 <= settings['renew_before_days'] < settings['validity_days']:
        raise pki.PKIError('%s: renew_before_days (%d) must be at least 0 and below validity_days (%d), or every run '
                           're-issues the certificate' % (label, settings['renew_before_days'], settings['validity_days']))
    try:
        grant = pki.Grant(request['common_name'], request['organization'], request['subject_alt_names'],
                          settings['profile'])
    except pki.PKIError as exc:
        raise pki.PKIError('%s: the inventory entry is not valid: %s' % (label, to_text(exc)))
    problems = pki.grant_problems(grant, params['permitted_dns_domains'], params['permitted_ip_ranges'],
                                  params['allow_wildcards'])
    if ca_constraints is not None:
        problems += [p.replace('outside the CA\'s name constraints', 'outside the name constraints in the CA certificate')
                     for p in pki.grant_problems(grant, ca_constraints[0], ca_constraints[1], True)]
    if problems:
        raise pki.PKIError('%s: not issued: %s' % (label, '; '.join(problems)))
    if len(request['csr']) > MAX_PEM or len(request['existing_certificate'] or '') > MAX_PEM:
        raise pki.PKIError('%s: the CSR or the installed certificate the host sent is larger than %d bytes: not a '
                           'certificate this collection makes' % (label, MAX_PEM))
    csr = pki.load_csr(request['csr'], 'the CSR of %s' % label)
    asked = pki.csr_asks_beyond(csr, grant)
    if asked:
        raise pki.PKIError(pki.refusal_message(label, asked, grant))
    existing = None
    if request['existing_certificate'] and request['existing_certificate'].strip():
        # The host sends its installed certificate: anything unreadable in it (even an
        # extension that only fails when parsed) means "no certificate", never a failed call.
        try:
            existing = pki.load_certificate(request['existing_certificate'], 'certificate of %s' % label)
            pki.sans_of(existing), pki.profile_of(existing), pki.is_ca(existing), existing.subject.rfc4514_string()
        except Exception:  # noqa: BLE001 pylint: disable=broad-except
            existing = None
    return grant, csr, existing, settings


def ledger_record(request, grant, cert, ca_cert, reasons, now):
    """The ledger line of one certificate issued (public facts only)."""
    info = pki.certificate_info(cert, now)
    host, _sep, entry = request['name'].partition(':')
    return dict(serial=info['serial_number'], host=request.get('host') or host,
                entry=request.get('entry') or entry or host, subject=info['subject'],
                dns_names=grant.dns, ip_addresses=grant.ips, profile=grant.profile, not_before=info['not_before'],
                not_after=info['not_after'], public_key_sha256=info['public_key_fingerprint'],
                issuer=pki.describe_name(ca_cert.subject), issuer_sha256=pki.certificate_fingerprint(ca_cert),
                issued_at=now.strftime('%Y-%m-%dT%H:%M:%SZ'), reasons=reasons)


def run(module):
    params = module.params
    names = [request['name'] for request in params['requests']]
    twice = sorted(set(name for name in names if names.count(name) > 1))
    if twice:
        raise pki.PKIError('request names %s appear twice: names must be unique' % ', '.join(twice))
    pki.normalize_constraint_dns(params['permitted_dns_domains'])
    pki.normalize_constraint_ips(params['permitted_ip_ranges'])
    ledger = params['ledger_path']
    lock_dir = os.path.dirname(ledger) if ledger else os.path.dirname(params['ca_certificate_path'])
    with ca_store.CALock(lock_dir, params['lock_timeout'], 'x509_sign', module.check_mode):
        backend = LocalCABackend(params['ca_certificate_path'], params['ca_private_key_path'],
                                 params['ca_private_key_passphrase']).open()
        return sign_all(module, params, ledger, backend)


def sign_all(module, params, ledger, backend):
    """Policy, renewal decision and signing of every request; one refused request never stops the others."""
    ca_cert = backend.issuer()
    ca_constraints = pki.name_constraints_of(ca_cert)
    now = pki.utcnow()
    revocations = revocation.load_state(read_file(params['revocation_path'], 'revocation list')
                                        if params['revocation_path'] else None)
    certificates, issued, kept, refused, records, revoked = {}, [], [], {}, [], []
    for request in params['requests']:
        name = request['name']
        host, _sep, entry = name.partition(':')
        if revocation.is_revoked(revocations, request.get('host') or host, request.get('entry') or entry or host):
            revoked.append(name)
            continue
        try:
            grant, csr, existing, settings = check_request(request, params, ca_constraints)
            facts = pki.certificate_facts(existing, ca_cert) if existing is not None else None
            reasons = renewal.renewal_reasons(facts, grant, now, settings['renew_before_days'],
                                              pki.certificate_fingerprint(ca_cert),
                                              pki.public_key_fingerprint(csr.public_key()))
            if settings['force'] and not reasons:
                reasons = ['force requested']
            if reasons:
                cert = backend.issue(csr, grant, settings['validity_days'], now)
                issued.append(name)
                records.append(ledger_record(request, grant, cert, ca_cert, reasons, now))
            else:
                cert = existing
                kept.append(name)
        except pki.PKIError as exc:
            refused[name] = to_text(exc)
            continue
        except Exception as exc:  # pylint: disable=broad-except
            # A request is the host's words: whatever in it breaks the parser fails that request only.
            refused[name] = '%s: the request could not be processed (%s: %s); nothing was signed for it' % (
                _label(request), type(exc).__name__, to_text(exc)[:300])
            continue
        info = pki.certificate_info(cert, now)
        certificates[name] = dict(certificate=to_text(pki.certificate_pem(cert)), changed=bool(reasons),
                                  reasons=reasons, not_after=info['not_after'],
                                  serial_number=info['serial_number'])
    recorded = 0
    if ledger and not module.check_mode:
        recorded = ca_store.append_ledger(ledger, records)
    result = dict(changed=bool(issued), certificates=certificates, issued=issued, kept=kept, refused=refused,
                  revoked=revoked, recorded=recorded, chain=backend.bundle())
    for name in sorted(refused):
        module.warn('not signed: %s' % refused[name])
    if revoked:
        module.warn('not signed, revoked: %s' % ', '.join(revoked))
    if module._diff and issued:
        result['diff'] = dict(before='', after=''.join('%s: %s\n' % (name, ', '.join(certificates[name]['reasons']))
                                                       for name in issued))
    return result


def main():
    run_module(argument_spec(
        ('name_constraints', 'lock'),
        ca_certificate_path=dict(type='path', required=True),
        ca_private_key_path=dict(type='path', required=True),
        ca_private_key_passphrase=dict(type='str', no_log=True),
        profile=dict(type='str', default='server', choices=list(pki.PROFILES)),
        validity_days=dict(type='int', default=365),
        renew_before_days=dict(type='int', default=30, aliases=['renew_before']),
        force=dict(type='bool', default=False),
        allow_wildcards=dict(type='bool', default=False),
        ledger_path=dict(type='path'),
        revocation_path=dict(type='path'),
        requests=dict(type='list', elements='dict', required=True, options=dict(
            name=dict(type='str', required=True),
            host=dict(type='str'),
            entry=dict(type='str'),
            csr=dict(type='str', required=True),
            common_name=dict(type='str', required=True),
            organization=dict(type='str'),
            subject_alt_names=dict(type='list', elements='str', default=[]),
            existing_certificate=dict(type='str', default=''),
            profile=dict(type='str', choices=list(pki.PROFILES)),
            validity_days=dict(type='int'),
            renew_before_days=dict(type='int', aliases=['renew_before']),
            force=dict(type='bool', default=False),
        )),
    ), run)


if __name__ == '__main__':
    main()
