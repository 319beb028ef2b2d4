# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Certificates for tests/e2e/test_name_constraints.py, made with the collection's own pki.py.

    python tests/e2e/name_constraints/certs.py OUT_DIR    # writes them for a look by hand

Two constrained CAs, each with an unconstrained "twin": the same key and the same subject,
so every leaf the CA key signs verifies under both, and a run that trusts the twin differs
from one that trusts the constrained CA only by the nameConstraints extension.

- ``ca``: critical nameConstraints permitted DNS ``otlp.test``, IP ``127.0.0.0/8``.
  Inside: server ``collector.otlp.test`` + IP 127.0.0.1, the same name without the IP
  (``server-in-dns``), client ``app.otlp.test``.
  Outside, signed directly with the CA key (pki.sign_csr signs whatever the CSR asks for,
  as a stolen CA key or a buggy signer would): servers ``collector.evil.example`` and
  ``localhost``, client ``app.evil.example``.
- ``ca-ip``: permitted DNS ``otlp.test``, IP ``127.0.0.1/32``. Outside: a server with only
  the SAN IP 127.0.0.2 (loopback on Linux, but outside 127.0.0.1/32): no DNS involved.

Every key is PKCS#8 (the only form every SDK reads), mode 0600.
"""

from __future__ import absolute_import, division, print_function

import ipaddress
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))

# Make this checkout importable as ansible_collections.otlp.tls (as tests/unit/conftest.py does).
_COLLECTIONS = os.path.join(ROOT, '.tmp', 'collections')
_LINK = os.path.join(_COLLECTIONS, 'ansible_collections', 'otlp', 'tls')
if not os.path.lexists(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(os.path.relpath(ROOT, os.path.dirname(_LINK)), _LINK)
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

from ansible_collections.otlp.tls.plugins.module_utils import pki  # noqa: E402 pylint: disable=wrong-import-position

from cryptography import x509  # noqa: E402 pylint: disable=wrong-import-position

PERMITTED_DNS = ['otlp.test']
PERMITTED_IPS = ['127.0.0.0/8']
PERMITTED_IPS_NARROW = ['127.0.0.1/32']

# name -> (CA, profile, common name, DNS SANs, IP SANs, inside the CA's constraints?)
LEAVES = {
    'server-in': ('ca', 'server', 'collector.otlp.test', ['collector.otlp.test'], ['127.0.0.1'], True),
    'server-in-dns': ('ca', 'server', 'collector.otlp.test', ['collector.otlp.test'], [], True),
    'server-evil': ('ca', 'server', 'collector.evil.example', ['collector.evil.example'], [], False),
    'server-localhost': ('ca', 'server', 'localhost', ['localhost'], [], False),
    'client-in': ('ca', 'client', 'app.otlp.test', ['app.otlp.test'], [], True),
    'client-evil': ('ca', 'client', 'app.evil.example', ['app.evil.example'], [], False),
    # The subject CN is inside (OpenSSL checks a host-like CN against DNS constraints when a
    # certificate has no DNS SAN): only the IP address is outside.
    'server-ip-out': ('ca-ip', 'server', 'collector.otlp.test', [], ['127.0.0.2'], False),
}


def _write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)
    os.chmod(path, mode)


def _check_ca(cert, dns, ips):
    """The CA certificate really carries what the test relies on: a critical nameConstraints."""
    ext = cert.extensions.get_extension_for_class(x509.NameConstraints)
    if not ext.critical:
        raise AssertionError('nameConstraints of %s is not critical' % cert.subject.rfc4514_string())
    got = pki.name_constraints_of(cert)
    if got != (sorted(dns), [str(ipaddress.ip_network(net)) for net in ips]):
        raise AssertionError('nameConstraints of %s are %r, wanted %r %r'
                             % (cert.subject.rfc4514_string(), got, dns, ips))


def make(out):
    """Write every key and certificate under ``out``; return {name: {'cert': path, 'key': path}}."""
    os.makedirs(out, exist_ok=True)
    paths = {}
    cas = {}
    for name, common_name, ips in (('ca', 'otlp.tls name-constraints e2e CA', PERMITTED_IPS),
                                   ('ca-ip', 'otlp.tls name-constraints e2e CA (127.0.0.1/32)', PERMITTED_IPS_NARROW)):
        key = pki.generate_private_key('ec-p256')
        cert = pki.build_ca_certificate(key, common_name, permitted_dns=PERMITTED_DNS, permitted_ips=ips)
        _check_ca(cert, PERMITTED_DNS, ips)
        twin = pki.build_ca_certificate(key, common_name)
        try:
            twin.extensions.get_extension_for_class(x509.NameConstraints)
            raise AssertionError('the twin of %s has nameConstraints' % name)
        except x509.ExtensionNotFound:
            pass
        cas[name] = (key, cert, ips)
        _write(os.path.join(out, name + '.pem'), pki.certificate_pem(cert))
        _write(os.path.join(out, name + '-twin.pem'), pki.certificate_pem(twin))
        paths[name] = {'cert': os.path.join(out, name + '.pem'), 'permitted_ips': list(ips)}
        paths[name + '-twin'] = {'cert': os.path.join(out, name + '-twin.pem'), 'permitted_ips': []}
    for name, (ca_name, profile, common_name, dns, ips, inside) in sorted(LEAVES.items()):
        ca_key, ca_cert, permitted_ips = cas[ca_name]
        outside = pki.names_outside_constraints(dns, ips, PERMITTED_DNS, permitted_ips)
        if bool(outside) == inside:
            raise AssertionError('%s: names outside the constraints %r, but the table says inside=%r'
                                 % (name, outside, inside))
        key = pki.generate_private_key('ec-p256')
        csr = pki.build_csr(key, common_name, dns_names=dns, ip_addresses=ips, profile=profile)
        cert = pki.sign_csr(csr, ca_key, ca_cert, profile, 30)
        if pki.sans_of(cert) != pki.normalize_sans(dns, ips):
            raise AssertionError('%s: signed SANs %r, wanted %r %r' % (name, pki.sans_of(cert), dns, ips))
        _write(os.path.join(out, name + '.key'), pki.private_key_to_pkcs8(key), 0o600)
        _write(os.path.join(out, name + '.pem'), pki.certificate_pem(cert))
        paths[name] = {'cert': os.path.join(out, name + '.pem'), 'key': os.path.join(out, name + '.key'),
                       'ca': ca_name, 'inside': inside, 'outside_names': outside, 'dns': dns, 'ips': ips}
    return paths


if __name__ == '__main__':
    for item, files in sorted(make(sys.argv[1]).items()):
        print(item, files)
