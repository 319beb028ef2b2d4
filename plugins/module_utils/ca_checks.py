# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The checks of a CA key and certificate pair, and their messages, in one place.

The CA module (creating, loading and rotating the CA) and the signer (loading the CA that
signs) ask the same questions: does this key belong to this certificate, is this a CA, may
it still sign, is the next CA of a rotation a distinct CA. Each check raises
``pki.PKIError`` with a message that names the files and says how to fix it; none of them
writes anything, and no message carries key material (only public key fingerprints).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem, read_file

ROTATE_CA = 'ansible-playbook playbooks/rotate.yml -e otlp_tls_rotate=ca'


def check_pair(key, cert, key_path, cert_path, fix='remove both to create a new CA'):
    """``key`` must belong to ``cert``."""
    if not pki.key_matches_certificate(key, cert):
        raise pki.PKIError('the CA key %s and certificate %s do not belong together: restore the matching pair (or %s)'
                           % (key_path, cert_path, fix))


def check_is_ca(cert, cert_path):
    """``cert`` must be a CA certificate (basicConstraints CA:TRUE)."""
    if not pki.is_ca(cert):
        raise pki.PKIError('%s is not a CA certificate (basicConstraints CA:FALSE): point certificate_path at the CA'
                           % cert_path)


def check_not_expired(cert, cert_path, now=None):
    """An expired CA may be rotated away from; it may not sign anything."""
    if pki.not_after(cert) <= (now or pki.utcnow()):
        raise pki.PKIError('the CA certificate %s expired on %s: rotate the CA (%s) before issuing certificates'
                           % (cert_path, pki.not_after(cert).strftime('%Y-%m-%d'), ROTATE_CA))


def check_key_belongs(key, key_path, certs, cert_paths, context, fix):
    """``key`` must belong to one of ``certs`` (a rotation may hold the old or the new CA's key)."""
    if not any(pki.key_matches_certificate(key, cert) for cert in certs):
        raise pki.PKIError(
            'the CA key %s does not belong to %s (%s): public key sha256 %s in the key, %s in the certificate: %s'
            % (key_path, ' or '.join(cert_paths), context, pki.public_key_fingerprint(key),
               ' or '.join(pki.public_key_fingerprint(cert.public_key()) for cert in certs), fix))


def check_distinct(next_cert, current_cert, next_dir):
    """The next CA of a rotation must be another CA than the current one."""
    if pki.certificate_fingerprint(next_cert) == pki.certificate_fingerprint(current_cert):
        raise pki.PKIError('next/ca.crt is the current CA: remove %s and start again' % next_dir)


def load_signing_pair(cert_path, key_path, passphrase, now=None):
    """(key, certificate) of a CA that may sign now: both present, belonging together, a CA, not expired."""
    cert_data = read_file(cert_path, 'CA certificate')
    key_data = read_file(key_path, 'CA private key')
    if cert_data is None or key_data is None:
        raise FileProblem('the CA is incomplete (%s%s): run the otlp.tls.ca role or x509_ca first' % (
            'certificate %s missing' % cert_path if cert_data is None else '',
            ' key %s missing' % key_path if key_data is None else ''))
    cert = pki.load_certificate(cert_data, 'CA certificate %s' % cert_path)
    key = pki.load_private_key(key_data, passphrase, 'CA private key %s' % key_path)
    check_pair(key, cert, key_path, cert_path, fix='point the signer at the CA that x509_ca keeps')
    check_is_ca(cert, cert_path)
    check_not_expired(cert, cert_path, now)
    return key, cert
