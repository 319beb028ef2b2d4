# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The signer seam: who signs a certificate, behind one small interface.

``otlp.tls.x509_sign`` keeps three things apart:

1. policy (``pki.Grant``, ``pki.grant_problems``, ``pki.csr_asks_beyond``): what the inventory
   grants a request, and refusing a CSR that asks for more;
2. the renewal decision (``renewal.needs_renewal``): whether the certificate a host has now stays;
3. signing, by a ``SignerBackend``: the built-in ``LocalCABackend`` signs with the CA key files
   that ``otlp.tls.x509_ca`` keeps. Another CA (step-ca, Vault or OpenBao PKI) is one new class
   here, an entry in ``BACKENDS`` and its documentation.

The contract of a backend:

``open()``
    Load and check the CA; raise ``pki.PKIError`` or ``files.FileProblem`` with a message that says
    how to fix it. Called once, before anything is signed.
``issuer()``
    The ``x509.Certificate`` of the CA that signs now. The renewal decision keeps only
    certificates whose signature this certificate's key verifies.
``chain()``
    The CA certificates a peer needs to verify what ``sign`` returns, issuer first.
``sign(csr, grant, validity_days, now)``
    A new ``x509.Certificate`` for the CSR's public key with exactly the grant's subject,
    subjectAltNames and profile (extended key usage), ``CA:FALSE``, valid from about ``now``
    for ``validity_days``. The CSR's signature was verified and its requests checked against the
    grant before; the backend takes nothing but the public key from it.
``bundle()``
    ``chain()`` as PEM text (provided).

A backend must never: sign anything beyond the grant (another name, usage, a CA certificate,
or a longer life than asked); take a subject, name or extension from the CSR; write, log or
return key material, passphrases or tokens (no secret in an exception message either); ask the
host for anything. ``issue()`` checks every certificate a backend returns against the grant
and the CSR's key, and refuses one that does not match, so a faulty backend fails closed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import ca_checks, pki


class SignerBackend(object):
    """A CA that signs what the policy granted. Subclass it; see the module docstring for the contract."""

    def open(self):
        raise NotImplementedError

    def issuer(self):
        raise NotImplementedError

    def chain(self):
        raise NotImplementedError

    def sign(self, csr, grant, validity_days, now):
        raise NotImplementedError

    def bundle(self):
        return to_text(b''.join(pki.certificate_pem(cert) for cert in self.chain()))

    def issue(self, csr, grant, validity_days, now):
        """``sign`` and check that the certificate is exactly what was granted; PKIError otherwise."""
        cert = self.sign(csr, grant, validity_days, now)
        problems = []
        if cert.subject != grant.subject:
            problems.append('subject %s' % pki.describe_name(cert.subject))
        if tuple(pki.sans_of(cert)) != (grant.dns, grant.ips):
            problems.append('names %s' % ', '.join(sum(pki.sans_of(cert), [])))
        if pki.profile_of(cert) != grant.profile or pki.is_ca(cert):
            problems.append('usage %s%s' % (pki.profile_of(cert), ', CA:TRUE' if pki.is_ca(cert) else ''))
        if pki.public_key_der(cert.public_key()) != pki.public_key_der(csr.public_key()):
            problems.append('another public key than the CSR\'s')
        if not pki.is_signed_by(cert, self.issuer()):
            problems.append('a signature the signing CA does not verify')
        if problems:
            raise pki.PKIError('the %s signer returned a certificate that is not what was granted (%s): %s; it is '
                               'not used' % (type(self).__name__, grant.describe(), '; '.join(problems)))
        return cert


class LocalCABackend(SignerBackend):
    """Signs with the CA key and certificate files that otlp.tls.x509_ca keeps (on the host that runs x509_sign)."""

    def __init__(self, certificate_path, private_key_path, passphrase=None):
        self.certificate_path, self.private_key_path, self.passphrase = certificate_path, private_key_path, passphrase
        self._key = self._cert = None

    def open(self):
        self._key, self._cert = ca_checks.load_signing_pair(self.certificate_path, self.private_key_path,
                                                            self.passphrase)
        return self

    def issuer(self):
        return self._cert

    def chain(self):
        return [self._cert]

    def sign(self, csr, grant, validity_days, now):
        return pki.issue_certificate(csr.public_key(), grant.subject, grant.dns, grant.ips, grant.profile,
                                     validity_days, self._key, self._cert, now)


# Backends by name, for a future option that picks one.
BACKENDS = {'local': LocalCABackend}
