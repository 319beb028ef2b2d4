# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Installing a certificate with its chain, full chain, trust bundle and key: M(otlp.tls.x509_install) does one,
M(otlp.tls.systemd_dropin) does several before it writes the drop-ins of the units that use them (one remote call)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.common import argument_spec
from ansible_collections.otlp.tls.plugins.module_utils.files import (
    FileProblem, check_parent, move_into_place, read_file, staged_key_path, write_file,
)


def install_spec(**extra):
    """x509_install's options (also the suboptions of systemd_dropin's certificates), plus ``extra``."""
    return argument_spec(
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
        **extra)


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


def install(module, params):
    """Check and install one certificate (x509_install's options in ``params``); the result x509_install returns.

    ``module``: for check mode, diff mode, warnings and file writes only; every option is read from ``params``, so
    that a module installing several certificates (systemd_dropin) passes one item at a time.
    """
    return write_checked(module, params, check(module, params))


def check(module, params):
    """Every check of one certificate, before anything is written; what write_checked needs. Raises what is wrong.

    A module that installs several certificates checks them all first, so that a bad one leaves the others unwritten.
    """
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
    return dict(cert=cert, chain=chain, roots=roots, key=key, key_pem=key_pem, key_path=key_path,
                staged_path=staged_path, swap=swap, converted=converted)


def write_checked(module, params, checked):
    """Write what check() passed: each file atomically and only when it differs, a staged key last."""
    cert, chain, roots, key, key_pem = (checked[name] for name in ('cert', 'chain', 'roots', 'key', 'key_pem'))
    key_path, staged_path, swap, converted = (checked[name] for name in ('key_path', 'staged_path', 'swap', 'converted'))
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
