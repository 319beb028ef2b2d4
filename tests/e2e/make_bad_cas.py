# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make broken CA directories for the bad-input tests.

Usage: python make_bad_cas.py OUT_DIR. Writes, each with ca.crt and ca.key:
  expired/      a CA certificate that expired yesterday
  mismatch/     a CA certificate and a key that does not belong to it
  encrypted/    a CA key encrypted with the passphrase "right"
  directory/    ca.crt is a directory
  garbage/      ca.key is not a key
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def ca_cert(key, days_from, days_to):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'otlp.tls e2e CA')])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days_from))
            .not_valid_after(now + datetime.timedelta(days=days_to))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))


def write(directory, key, cert, passphrase=None):
    os.makedirs(directory, 0o700)
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    with open(os.path.join(directory, 'ca.key'), 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    os.chmod(os.path.join(directory, 'ca.key'), 0o600)
    if cert is not None:
        with open(os.path.join(directory, 'ca.crt'), 'wb') as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))


def main():
    out = sys.argv[1]
    key = ec.generate_private_key(ec.SECP256R1())
    write(os.path.join(out, 'expired'), key, ca_cert(key, -30, -1))
    write(os.path.join(out, 'mismatch'), ec.generate_private_key(ec.SECP256R1()), ca_cert(key, -1, 300))
    write(os.path.join(out, 'encrypted'), key, ca_cert(key, -1, 300), passphrase=b'right')
    write(os.path.join(out, 'directory'), key, None)
    os.makedirs(os.path.join(out, 'directory', 'ca.crt'))
    write(os.path.join(out, 'garbage'), key, ca_cert(key, -1, 300))
    with open(os.path.join(out, 'garbage', 'ca.key'), 'wb') as handle:
        handle.write(b'-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n')


if __name__ == '__main__':
    main()
