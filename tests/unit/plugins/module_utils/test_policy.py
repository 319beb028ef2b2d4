# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issuance policy: the certificate is built from the grant, a CSR may ask for the grant or less."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.otlp.tls.plugins.module_utils import pki

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope='module')
def key():
    return pki.generate_private_key('ec-p256')


@pytest.fixture(scope='module')
def ca():
    ca_key = pki.generate_private_key('ec-p256')
    return ca_key, pki.build_ca_certificate(ca_key, 'Policy CA', now=NOW)


def csr_with(key, cn='app1', dns=('app1',), ips=(), usages=(ExtendedKeyUsageOID.CLIENT_AUTH,), extensions=()):
    builder = x509.CertificateSigningRequestBuilder()
    if cn is not None:
        builder = builder.subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    else:
        builder = builder.subject_name(x509.Name([]))
    names = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(key, hashes.SHA256())


CLIENT = pki.Grant('app1', None, ['app1'], 'client')


def test_a_csr_for_the_grant_or_less_asks_for_nothing_more(key):
    assert pki.csr_asks_beyond(csr_with(key), CLIENT) == []
    assert pki.csr_asks_beyond(csr_with(key, cn=None, dns=(), usages=()), CLIENT) == []
    both = pki.Grant('c1', None, ['c1', 'c1.example', '10.0.0.5'], 'both')
    assert pki.csr_asks_beyond(csr_with(key, 'c1', ('c1',), ('10.0.0.5',), (ExtendedKeyUsageOID.SERVER_AUTH,)), both) == []


def test_other_names_subject_and_usages_are_named(key):
    forged = csr_with(key, 'collector1.example.internal', ('collector1.example.internal', '*.example.internal'),
                      ('10.0.0.5',), (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH))
    asked = pki.csr_asks_beyond(forged, CLIENT)
    assert asked == ['subject CN=collector1.example.internal',
                     'names *.example.internal, collector1.example.internal, 10.0.0.5',
                     'extended key usage serverAuth']
    message = pki.refusal_message('host app1, certificate otlp', asked, CLIENT)
    assert message.startswith('host app1, certificate otlp: the CSR asks for subject CN=collector1.example.internal;')
    assert 'but the inventory grants subject CN=app1, names app1, clientAuth' in message


def test_ca_true_key_cert_sign_and_unknown_extensions_are_refused(key):
    ca_true = csr_with(key, extensions=[(x509.BasicConstraints(ca=True, path_length=None), True)])
    assert pki.csr_asks_beyond(ca_true, CLIENT) == ['CA:TRUE (a CA certificate)']
    ca_false = csr_with(key, extensions=[(x509.BasicConstraints(ca=False, path_length=None), True)])
    assert pki.csr_asks_beyond(ca_false, CLIENT) == []
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    assert pki.csr_asks_beyond(csr_with(key, extensions=[(usage, True)]), CLIENT) == ['key usage keyCertSign/cRLSign']
    constraints = x509.NameConstraints(permitted_subtrees=[x509.DNSName('example.internal')], excluded_subtrees=None)
    assert pki.csr_asks_beyond(csr_with(key, extensions=[(constraints, True)]), CLIENT) == ['extension nameConstraints']
    email = x509.SubjectAlternativeName([x509.DNSName('app1'), x509.RFC822Name('a@example.internal')])
    asked = pki.csr_asks_beyond(csr_with(key, dns=(), extensions=[(email, False)]), CLIENT)
    assert asked == ['subjectAltName entries of type RFC822Name']


def test_proof_of_possession(key):
    good = csr_with(key).public_bytes(serialization.Encoding.DER)
    assert pki.load_csr(x509.load_der_x509_csr(good).public_bytes(serialization.Encoding.PEM))
    # Flip one bit of the signature: the CSR no longer proves it was made with its key.
    broken = bytearray(good)
    broken[-5] ^= 0x01
    pem = x509.load_der_x509_csr(bytes(broken)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(pki.PKIError, match='invalid signature: it was not made with the key it carries'):
        pki.load_csr(pem)


def test_wildcards_need_the_opt_in():
    wild = pki.Grant('web', None, ['*.example.internal', 'web.example.internal'], 'server')
    problems = pki.grant_problems(wild)
    assert len(problems) == 1 and problems[0].startswith('wildcard names (*.example.internal) need the CA')
    assert pki.grant_problems(wild, allow_wildcards=True) == []


def test_name_constraints_in_the_ca_and_in_the_grant(ca):
    ca_key = pki.generate_private_key('ec-p256')
    constrained = pki.build_ca_certificate(ca_key, 'Constrained', now=NOW, permitted_dns=['example.internal'],
                                           permitted_ips=['10.0.0.0/8'])
    ext = constrained.extensions.get_extension_for_class(x509.NameConstraints)
    assert ext.critical
    assert pki.name_constraints_of(constrained) == (['example.internal'], ['10.0.0.0/8'])
    assert pki.name_constraints_of(ca[1]) is None
    inside = pki.Grant('c1', None, ['c1.example.internal', 'example.internal', '10.1.2.3'], 'server')
    assert pki.grant_problems(inside, ['example.internal'], ['10.0.0.0/8']) == []
    outside = pki.Grant('c1', None, ['c1.example.internal', 'evil.example', 'badexample.internal', '192.168.0.1',
                                     '::1'], 'server')
    problems = pki.grant_problems(outside, ['example.internal'], ['10.0.0.0/8'])
    assert len(problems) == 1
    assert problems[0].startswith("badexample.internal, evil.example, 192.168.0.1, ::1 are outside the CA's name "
                                  "constraints (example.internal, 10.0.0.0/8)")
    # A CA that constrains DNS names only leaves IP names alone (as TLS clients do).
    assert pki.grant_problems(pki.Grant('c1', None, ['192.168.0.1'], 'server'), ['example.internal'], []) == []
    with pytest.raises(pki.PKIError, match='not a DNS suffix'):
        pki.normalize_constraint_dns(['*.example.internal'])
    with pytest.raises(pki.PKIError, match='not a network'):
        pki.normalize_constraint_ips(['10.0.0.1/8'])


def test_the_certificate_is_built_from_the_grant_not_the_csr(key, ca):
    forged = csr_with(key, 'collector1', ('collector1',), (), (ExtendedKeyUsageOID.SERVER_AUTH,))
    cert = pki.issue_certificate(forged.public_key(), CLIENT.subject, CLIENT.dns, CLIENT.ips, CLIENT.profile, 30,
                                 ca[0], ca[1], now=NOW)
    assert pki.describe_name(cert.subject) == 'CN=app1'
    assert pki.sans_of(cert) == (['app1'], []) and pki.profile_of(cert) == 'client' and not pki.is_ca(cert)
    assert pki.reissue_reasons(cert, (CLIENT, key.public_key()), ca[1], 'client', 10, now=NOW) == []
    wider = pki.Grant('app1', None, ['app1', 'app1.example'], 'client')
    assert pki.reissue_reasons(cert, (wider, key.public_key()), ca[1], 'client', 10, now=NOW) == [
        'subjectAltNames changed (app1 -> app1,app1.example)']
