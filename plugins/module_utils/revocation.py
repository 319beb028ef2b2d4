# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Revocation that works with today's collector, which reads no CRL.

A revocation names hosts (``app1``: every certificate of the host) or entries
(``app1:checkout``). It is kept in ``revoked.json`` beside the CA, and it works in three ways:

- the signer never issues a revoked host or entry anything again (until it is un-revoked);
- a CA rotation retires the CA that issued the revoked certificates, so they stop verifying
  everywhere (the collector re-reads its client CA bundle; gRPC ``max_connection_age`` ends
  connections that were open before);
- a CRL (PEM, one per CA that issued revoked certificates) beside the bundle, for the
  consumers that do check CRLs. Its serials come from the issuance ledger.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - pki reports the missing library
    x509 = None

from ansible_collections.otlp.tls.plugins.module_utils import pki

TARGET_RE = re.compile(r'^[A-Za-z0-9_.@-]+(:[A-Za-z0-9_.@-]+)?$')
CRL_DAYS = 30
CRL_REFRESH_DAYS = 7


def parse_target(value):
    """('host', 'entry' or None) from ``host`` or ``host:entry``."""
    value = str(value).strip()
    if not TARGET_RE.match(value):
        raise pki.PKIError('%r is not a host or host:entry to revoke: write app1 (every certificate of the host) or '
                           'app1:checkout (one entry, as in the ledger and in check.yml)' % value)
    host, _sep, entry = value.partition(':')
    return host, entry or None


def target_name(host, entry):
    return '%s:%s' % (host, entry) if entry else host


def covers(target, host, entry):
    """Whether a revocation target (host, entry or None) covers ``host``'s certificate ``entry``."""
    return target[0] == host and (target[1] is None or target[1] == entry)


def load_state(data):
    """The revocation state from the text of revoked.json (empty when there is none)."""
    if not data:
        return dict(revoked=[], serials={})
    try:
        state = json.loads(data)
    except ValueError as exc:
        raise pki.PKIError('the revocation list is not valid JSON (%s): restore it from a backup' % exc)
    state.setdefault('revoked', [])
    state.setdefault('serials', {})
    return state


def dump_state(state):
    return json.dumps(state, indent=2, sort_keys=True) + '\n'


def active_targets(state):
    return [(item['host'], item.get('entry')) for item in state['revoked']]


def is_revoked(state, host, entry):
    return any(covers(target, host, entry) for target in active_targets(state))


def revoke(state, targets, ledger, reason, now):
    """Record ``targets``; return the names newly revoked. Serials come from the ledger: every
    certificate issued to them that has not expired, by issuing CA fingerprint."""
    added = []
    stamp = now.strftime('%Y-%m-%dT%H:%M:%SZ')
    for host, entry in targets:
        if (host, entry) in active_targets(state):
            continue
        state['revoked'].append(dict(host=host, entry=entry, at=stamp, reason=reason or ''))
        added.append(target_name(host, entry))
    for record in ledger:
        if not any(covers(target, record.get('host'), record.get('entry')) for target in targets):
            continue
        if record.get('not_after', '') <= stamp:
            continue
        serials = state['serials'].setdefault(record['issuer_sha256'], {})
        serials.setdefault(record['serial'], dict(host=record.get('host'), entry=record.get('entry'), at=stamp))
    return added


def unrevoke(state, targets):
    """Let ``targets`` be issued certificates again; the serials revoked so far stay revoked."""
    before = active_targets(state)
    state['revoked'] = [item for item in state['revoked'] if (item['host'], item.get('entry')) not in targets]
    return [target_name(*t) for t in before if t in targets]


def build_crl(ca_key, ca_cert, serials, now=None, days=CRL_DAYS):
    """A CRL of ``ca_cert`` listing ``serials`` ({hex serial: {at: ISO date}})."""
    now = now or pki.utcnow()
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca_cert.subject)
               .last_update(now - pki.BACKDATE)
               .next_update(now + datetime.timedelta(days=days)))
    for serial in sorted(serials, key=lambda value: int(value, 16)):
        revoked = (x509.RevokedCertificateBuilder()
                   .serial_number(int(serial, 16))
                   .revocation_date(now - pki.BACKDATE)
                   .build())
        builder = builder.add_revoked_certificate(revoked)
    ski = pki._extension_value(ca_cert, x509.SubjectKeyIdentifier)
    if ski is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                                        critical=False)
    return builder.sign(ca_key, pki._signing_hash(ca_key))


def crl_needs_writing(existing_pem, wanted, cas, now=None):
    """Whether the CRL file must be rewritten: another set of serials for a CA, or a CRL that expires soon.

    ``wanted``: {CA certificate fingerprint: set of hex serials}; ``cas``: {fingerprint: CA certificate}.
    """
    now = now or pki.utcnow()
    if not existing_pem:
        return bool(wanted)
    have = {}
    blocks = re.findall(b'-----BEGIN X509 CRL-----.+?-----END X509 CRL-----', pki.to_bytes(existing_pem), re.DOTALL)
    for block in blocks:
        try:
            crl = x509.load_pem_x509_crl(block)
        except ValueError:
            return True
        issuer = next((fp for fp, cert in cas.items() if crl.is_signature_valid(cert.public_key())), None)
        if issuer is None:
            return True
        next_update = getattr(crl, 'next_update_utc', None)
        if next_update is None:
            next_update = crl.next_update.replace(tzinfo=datetime.timezone.utc)
        if next_update - now < datetime.timedelta(days=CRL_REFRESH_DAYS):
            return True
        have[issuer] = set('%x' % r.serial_number for r in crl)
    return have != wanted
