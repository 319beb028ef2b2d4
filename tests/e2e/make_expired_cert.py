# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make a client certificate signed by the fleet's own CA that expired yesterday.

Usage: python make_expired_cert.py CA_DIR OUT_DIR. Writes OUT_DIR/expired.key (PKCS#8)
and OUT_DIR/expired.pem. The CA signs nothing expired on purpose, so the e2e test makes
one here, with the same library, to prove the collector refuses it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def main():
    ca_dir, out_dir = sys.argv[1:3]
    with open(os.path.join(ca_dir, 'ca.key'), 'rb') as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    with open(os.path.join(ca_dir, 'ca.crt'), 'rb') as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'expired-client')]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'expired.key'), 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with open(os.path.join(out_dir, 'expired.pem'), 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


if __name__ == '__main__':
    main()
