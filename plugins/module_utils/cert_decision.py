# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Does a certificate directory on a host need the signing path? The one decision, made by the controller's plan
(plugin_utils/host_plan.py) on what host_state read, and by host_state itself when it prepares the CSRs of that plan
in the same call: both run this code."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.otlp.tls.plugins.module_utils import pki

CERT_FILE_MODE = '0644'
CERT_DIR_MODE = '0750'


def cert_fingerprints(text):
    """Fingerprints of the certificates in PEM ``text``, in order; None when it can not be read."""
    if not text or not text.strip():
        return []
    try:
        return [pki.certificate_fingerprint(c) for c in pki.load_certificates(text)]
    except pki.PKIError:
        return None


def attributes_differ(entry, owner, group, mode):
    return not entry or not entry.get('exists') or entry.get('kind') not in ('file', 'directory') or \
        entry.get('owner') != owner or entry.get('group') != group or entry.get('mode') != mode


def certificate_decisions(entries, state, ca, settings, grants=None, now=None):
    """For each entry name, why the signing path has to run (an empty list: the installed files are good as they are).

    ``state`` is host_state's ``certificates`` result; ``ca`` holds ``certificate`` (the signing CA, PEM) and
    ``bundle`` (the trust bundle, PEM); ``settings`` renew_before_days, force, rotate_key, key_type, organization,
    key_location; ``grants`` what the inventory grants by entry name (the signer's view), default the entries.
    """
    now = now or pki.utcnow()
    decisions = {}
    try:
        ca_cert = pki.load_certificate(ca.get('certificate') or '', 'signing CA certificate')
    except pki.PKIError:
        ca_cert = None
    ca_pem = pki.certificate_pem(ca_cert) if ca_cert is not None else b''
    bundle = cert_fingerprints(ca.get('bundle'))
    for entry in entries:
        reasons = decisions.setdefault(entry['name'], [])
        grant_entry = (grants or {}).get(entry['name'], entry)
        have = (state or {}).get(entry['name'])
        if boolean(settings.get('force') or False, strict=False):
            reasons.append('re-issue forced')
        if boolean(settings.get('rotate_key') or False, strict=False):
            reasons.append('a new key was asked for')
        if ca_cert is None or not bundle:
            reasons.append('the CA is not known yet')
        if not have:
            reasons.append('the host state was not read')
            continue
        files = have.get('files') or {}
        cert_text = (files.get('cert.pem') or {}).get('text')
        try:
            cert = pki.load_certificate(cert_text or '', 'certificate')
        except pki.PKIError:
            reasons.append('no readable certificate')
            continue
        fingerprint = have.get('key_public_fingerprint')
        if not fingerprint:
            reasons.append('the key is missing or could not be read on the host')
        elif fingerprint != pki.public_key_fingerprint(cert.public_key()):
            reasons.append('the key does not belong to the certificate')
        if have.get('key_pkcs8') is False:
            reasons.append('the key is not PKCS#8')
        if have.get('key_type') and have.get('key_type') != settings.get('key_type'):
            reasons.append('key type changed (%s -> %s)' % (have.get('key_type'), settings.get('key_type')))
        if have.get('staged_key'):
            reasons.append('a staged key waits for its certificate')
        if ca_cert is not None:
            try:
                grant = pki.Grant(grant_entry['common_name'], settings.get('organization') or None,
                                  grant_entry['subject_alt_names'], grant_entry['profile'])
                reasons.extend(pki.reissue_reasons(cert, (grant, cert.public_key()), ca_cert, grant.profile,
                                                   int(settings.get('renew_before_days', 30)), now))
            except (pki.PKIError, KeyError, TypeError, ValueError) as exc:
                reasons.append('the grant can not be checked (%s)' % exc)
            if cert_fingerprints(files.get('fullchain.pem', {}).get('text')) != cert_fingerprints(to_text_pem(pki.certificate_pem(cert) + ca_pem)):
                reasons.append('fullchain.pem differs')
        if bundle is not None and cert_fingerprints(files.get('ca.pem', {}).get('text')) != bundle:
            reasons.append('ca.pem differs from the trust bundle')
        for name in ('cert.pem', 'fullchain.pem', 'ca.pem'):
            if attributes_differ(files.get(name), entry['owner'], entry['group'], CERT_FILE_MODE):
                reasons.append('%s owner, group or mode differ' % name)
        if attributes_differ(files.get('key.pem'), entry['owner'], entry['group'], entry['key_mode']):
            reasons.append('key.pem owner, group or mode differ')
        if attributes_differ(files.get('dir'), 'root', entry['group'], CERT_DIR_MODE):
            reasons.append('the directory owner, group or mode differ')
    return decisions


def to_text_pem(data):
    return data.decode('ascii') if isinstance(data, bytes) else data
