# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The renewal decision: does an existing certificate have to be issued again?

Pure and side-effect free, with no ``cryptography`` import, so that a controller-side plan can
call it on facts it gathered elsewhere (``x509_info`` results, the ledger) exactly as the signer
does. The one rule:

a certificate is kept when it was issued by the signing CA, for the same public key, subject,
subjectAltNames and profile the grant gives, and does not expire within ``renew_before_days``;
otherwise it is issued again, with every reason.

Inputs:

``facts``
    the existing certificate as a dict (``pki.certificate_facts`` makes it), or None when there
    is none: ``subject`` (RFC 4514), ``dns_names`` and ``ip_addresses`` (normalized, sorted),
    ``profile`` (server, client, both or None), ``not_after`` (UTC, ``YYYY-MM-DDTHH:MM:SSZ`` or
    an aware datetime), ``public_key_sha256`` and ``issuer_sha256``: the SHA-256 fingerprint of
    the CA certificate whose key verified the signature, None when none did. Never take the
    issuer from a name or a key identifier alone: the certificate comes from the host.
``grant``
    what the certificate must be: a ``pki.Grant``, or a dict with ``subject``, ``dns_names``,
    ``ip_addresses`` and ``profile`` as in ``facts``.
``now``
    an aware UTC datetime.
``signing_ca_sha256`` / ``public_key_sha256``
    the fingerprint of the CA that signs now, and of the public key the certificate must be
    for; None means "not checked" (a plan that does not know it yet).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


def parse_time(value):
    """An aware UTC datetime from an aware or naive (UTC) datetime or a ``YYYY-MM-DDTHH:MM:SSZ`` string."""
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.strptime(str(value), TIME_FORMAT)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def wanted(grant):
    """The grant as a dict of the fields ``facts`` has."""
    if isinstance(grant, dict):
        return grant
    return dict(subject=grant.subject.rfc4514_string(), dns_names=list(grant.dns), ip_addresses=list(grant.ips),
                profile=grant.profile)


def renewal_reasons(facts, grant, now, renew_before_days, signing_ca_sha256=None, public_key_sha256=None):
    """Every reason to issue the certificate again (see the module docstring); empty: keep it."""
    if facts is None:
        return ['no certificate yet']
    want = wanted(grant)
    reasons = []
    if signing_ca_sha256 is not None and facts.get('issuer_sha256') != signing_ca_sha256:
        reasons.append('not issued by the current CA')
    if public_key_sha256 is not None and facts.get('public_key_sha256') != public_key_sha256:
        reasons.append('the host key changed')
    if facts.get('subject') != want['subject']:
        reasons.append('subject changed (%s -> %s)' % (facts.get('subject'), want['subject']))
    have = list(facts.get('dns_names') or []) + list(facts.get('ip_addresses') or [])
    need = list(want['dns_names']) + list(want['ip_addresses'])
    if have != need:
        reasons.append('subjectAltNames changed (%s -> %s)' % (','.join(have) or 'none', ','.join(need) or 'none'))
    if facts.get('profile') != want['profile']:
        reasons.append('profile changed (%s -> %s)' % (facts.get('profile'), want['profile']))
    left = parse_time(facts['not_after']) - now
    if left <= datetime.timedelta(days=renew_before_days):
        reasons.append('expires in %d days, within renew_before (%d days)' % (left.days, renew_before_days))
    return reasons


def needs_renewal(facts, grant, now, renew_before_days, signing_ca_sha256=None, public_key_sha256=None, force=False):
    """(True, why) when the certificate must be issued again, (False, '') when it stays; ``force`` always re-issues."""
    reasons = renewal_reasons(facts, grant, now, renew_before_days, signing_ca_sha256, public_key_sha256)
    if force and not reasons:
        reasons = ['force requested']
    return bool(reasons), '; '.join(reasons)
