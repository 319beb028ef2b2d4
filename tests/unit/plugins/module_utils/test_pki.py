# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The decisions of module_utils.pki: formats, issuance and the re-issue rule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography import x509

from ansible_collections.otlp.tls.plugins.module_utils import pki

NOW = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope='module')
def ca():
    key = pki.generate_private_key('ec-p256')
    return key, pki.build_ca_certificate(key, 'Test CA', 'otlp.tls tests', 3650, now=NOW)


@pytest.fixture(scope='module')
def other_ca():
    key = pki.generate_private_key('ec-p256')
    return key, pki.build_ca_certificate(key, 'Test CA', 'otlp.tls tests', 3650, now=NOW)


def issue(ca, key=None, profile='server', dns=('collector.example', 'collector'), ips=('10.0.0.5',), days=90,
          now=NOW, cn='collector'):
    key = key or pki.generate_private_key('ec-p256')
    csr = pki.build_csr(key, cn, None, list(dns), list(ips))
    return key, csr, pki.sign_csr(csr, ca[0], ca[1], profile, days, now=now)


# --- keys -------------------------------------------------------------------

@pytest.mark.parametrize('key_type', pki.KEY_TYPES)
def test_generated_keys_round_trip_as_unencrypted_pkcs8(key_type):
    key = pki.generate_private_key(key_type)
    pem = pki.private_key_to_pkcs8(key)
    assert pem.startswith(b'-----BEGIN PRIVATE KEY-----')
    assert pki.private_key_format(pem) == 'pkcs8'
    assert pki.key_type_of(pki.load_private_key(pem)) == key_type


def test_unknown_key_type_names_the_choices():
    with pytest.raises(pki.PKIError, match='ec-p256'):
        pki.generate_private_key('ed25519')


def test_pkcs1_and_sec1_keys_load_and_convert_to_pkcs8():
    rsa_key = rsa.generate_private_key(65537, 2048)
    pkcs1 = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption())
    assert pki.private_key_format(pkcs1) == 'pkcs1'
    loaded = pki.load_private_key(pkcs1)
    assert pki.private_key_to_pkcs8(loaded).startswith(b'-----BEGIN PRIVATE KEY-----')
    assert pki.public_key_fingerprint(loaded) == pki.public_key_fingerprint(rsa_key)

    ec_key = ec.generate_private_key(ec.SECP256R1())
    sec1 = ec_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    assert pki.private_key_format(sec1) == 'sec1'
    assert pki.key_type_of(pki.load_private_key(sec1)) == 'ec-p256'


def test_der_key_loads():
    key = pki.generate_private_key('ec-p256')
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    assert pki.public_key_fingerprint(pki.load_private_key(der)) == pki.public_key_fingerprint(key)


def test_encrypted_key_needs_the_right_passphrase():
    key = pki.generate_private_key('ec-p256')
    pem = pki.private_key_to_pkcs8(key, 'correct horse')
    assert pki.private_key_format(pem) == 'pkcs8-encrypted'
    assert pki.public_key_fingerprint(pki.load_private_key(pem, 'correct horse')) == pki.public_key_fingerprint(key)
    with pytest.raises(pki.PKIError, match='passphrase is wrong'):
        pki.load_private_key(pem, 'battery staple')
    with pytest.raises(pki.PKIError, match='no passphrase was given'):
        pki.load_private_key(pem)


def test_passphrase_for_a_plain_key_is_reported():
    pem = pki.private_key_to_pkcs8(pki.generate_private_key('ec-p256'))
    with pytest.raises(pki.PKIError, match='not encrypted but a passphrase was given'):
        pki.load_private_key(pem, 'x')


def test_garbage_key_is_a_clear_error():
    with pytest.raises(pki.PKIError, match='not a readable PEM or DER private key'):
        pki.load_private_key(b'-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')


def test_ed25519_is_refused_because_java_cannot_read_it():
    from cryptography.hazmat.primitives.asymmetric import ed25519
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(pki.PKIError, match='only RSA and EC'):
        pki.load_private_key(pem)


# --- names ------------------------------------------------------------------

def test_sans_are_normalized_and_validated():
    dns, ips = pki.normalize_sans(['B.example.', 'a.example', 'a.example'], ['10.0.0.2', ' 10.0.0.1', '::1'])
    assert dns == ['a.example', 'b.example']
    assert ips == ['10.0.0.1', '10.0.0.2', '::1']
    with pytest.raises(pki.PKIError, match='not a valid DNS name'):
        pki.normalize_sans(['bad name'], [])
    with pytest.raises(pki.PKIError, match='not an IP address'):
        pki.normalize_sans([], ['collector.example'])


def test_covers_name_follows_rfc6125():
    sans = (['*.svc.example', 'collector'], ['10.0.0.5'])
    assert pki.covers_name(sans, 'collector')
    assert pki.covers_name(sans, 'a.svc.example')
    assert not pki.covers_name(sans, 'a.b.svc.example')
    assert not pki.covers_name(sans, 'svc.example')
    assert pki.covers_name(sans, '10.0.0.5')
    assert not pki.covers_name(sans, '10.0.0.6')
    # An IP in a DNS SAN does not count.
    assert not pki.covers_name((['10.0.0.7'], []), '10.0.0.7')


# --- issuing ----------------------------------------------------------------

def test_ca_certificate_is_a_path_length_zero_ca(ca):
    cert = ca[1]
    assert pki.is_ca(cert)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert pki.is_signed_by(cert, cert)


@pytest.mark.parametrize('profile,usages', [
    ('server', [ExtendedKeyUsageOID.SERVER_AUTH]),
    ('client', [ExtendedKeyUsageOID.CLIENT_AUTH]),
    ('both', [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
])
def test_profiles_set_extended_key_usage(ca, profile, usages):
    _key, _csr, cert = issue(ca, profile=profile)
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == usages
    assert pki.profile_of(cert) == profile
    assert not pki.is_ca(cert)


def test_leaf_carries_the_csr_names_and_chains_to_the_ca(ca):
    _key, _csr, cert = issue(ca)
    assert pki.sans_of(cert) == (['collector', 'collector.example'], ['10.0.0.5'])
    assert pki.is_signed_by(cert, ca[1])
    assert pki.verify_chain(cert, [ca[1]], now=NOW + datetime.timedelta(days=1)) == []
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca[1].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_rsa_leaf_gets_key_encipherment(ca):
    _key, _csr, cert = issue(ca, key=pki.generate_private_key('rsa-2048'))
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment


def test_leaf_is_backdated_for_clock_skew(ca):
    _key, _csr, cert = issue(ca)
    assert pki.not_before(cert) == NOW - pki.BACKDATE
    assert pki.not_after(cert) == NOW + datetime.timedelta(days=90)


def test_leaf_may_not_outlive_the_ca(ca):
    with pytest.raises(pki.PKIError, match='outlive its CA'):
        issue(ca, days=4000)


def test_chain_from_another_ca_does_not_verify(ca, other_ca):
    _key, _csr, cert = issue(other_ca)
    problems = pki.verify_chain(cert, [ca[1]], now=NOW)
    assert problems and 'does not verify' in problems[0]
    # Same subject name, different key: the name alone must not be trusted.
    assert ca[1].subject == other_ca[1].subject
    assert not pki.is_signed_by(cert, ca[1])


def test_overlap_bundle_verifies_leaves_of_both_cas(ca, other_ca):
    for authority in (ca, other_ca):
        _key, _csr, cert = issue(authority)
        assert pki.verify_chain(cert, [other_ca[1], ca[1]], now=NOW) == []


def test_expired_leaf_is_reported(ca):
    _key, _csr, cert = issue(ca, days=10)
    problems = pki.verify_chain(cert, [ca[1]], now=NOW + datetime.timedelta(days=11))
    assert problems and 'expired' in problems[0]


# --- the re-issue rule --------------------------------------------------------

def test_good_certificate_is_kept(ca):
    key, csr, cert = issue(ca)
    assert pki.reissue_reasons(cert, csr, ca[1], 'server', 30, now=NOW) == []
    # A CSR made again from the same key and names (new signature) still matches.
    again = pki.build_csr(key, 'collector', None, ['collector', 'collector.example'], ['10.0.0.5'])
    assert pki.reissue_reasons(cert, again, ca[1], 'server', 30, now=NOW) == []


def test_missing_certificate_is_issued(ca):
    _key, csr, _cert = issue(ca)
    assert pki.reissue_reasons(None, csr, ca[1], 'server', 30) == ['no certificate yet']


def test_each_change_is_a_reason(ca, other_ca):
    key, _csr, cert = issue(ca)
    cases = {
        'subjectAltNames changed': pki.build_csr(key, 'collector', None, ['collector'], ['10.0.0.5']),
        'subject changed': pki.build_csr(key, 'other', None, ['collector', 'collector.example'], ['10.0.0.5']),
        'the host key changed': pki.build_csr(pki.generate_private_key('ec-p256'), 'collector', None,
                                              ['collector', 'collector.example'], ['10.0.0.5']),
    }
    for reason, csr in cases.items():
        reasons = pki.reissue_reasons(cert, csr, ca[1], 'server', 30, now=NOW)
        assert len(reasons) == 1 and reasons[0].startswith(reason), (reason, reasons)

    same = pki.build_csr(key, 'collector', None, ['collector', 'collector.example'], ['10.0.0.5'])
    assert pki.reissue_reasons(cert, same, ca[1], 'client', 30, now=NOW) == ['profile changed (server -> client)']
    assert pki.reissue_reasons(cert, same, other_ca[1], 'server', 30, now=NOW) == ['not issued by the current CA']


def test_renew_before_threshold(ca):
    _key, csr, cert = issue(ca, days=90)
    assert pki.reissue_reasons(cert, csr, ca[1], 'server', 30, now=NOW + datetime.timedelta(days=59)) == []
    reasons = pki.reissue_reasons(cert, csr, ca[1], 'server', 30, now=NOW + datetime.timedelta(days=61))
    assert reasons == ['expires in 29 days, within renew_before (30 days)']
    # Shortening renew_before past the remaining validity re-issues at once.
    assert pki.reissue_reasons(cert, csr, ca[1], 'server', 95, now=NOW)


# --- the pre-install check ----------------------------------------------------

def test_check_certificate_accepts_a_good_pair(ca):
    key, _csr, cert = issue(ca)
    assert pki.check_certificate(cert, key, [ca[1]], [], ['collector.example', '10.0.0.5'], 'server',
                                 14, now=NOW) == []


def test_check_certificate_lists_every_problem(ca, other_ca):
    _key, _csr, cert = issue(ca, profile='client', days=10)
    wrong_key = pki.generate_private_key('ec-p256')
    problems = pki.check_certificate(cert, wrong_key, [other_ca[1]], [], ['collector.other'], 'server', 30, now=NOW)
    text = '\n'.join(problems)
    assert 'does not belong to the certificate' in text
    assert 'does not verify' in text
    assert 'expires in 10 days' in text
    assert 'do not cover collector.other' in text
    assert 'serverAuth is needed' in text


def test_certificate_without_eku_fits_any_profile(ca):
    key = pki.generate_private_key('ec-p256')
    builder = (x509.CertificateBuilder().subject_name(pki.build_name('legacy')).issuer_name(ca[1].subject)
               .public_key(key.public_key()).serial_number(1)
               .not_valid_before(NOW - datetime.timedelta(days=1))
               .not_valid_after(NOW + datetime.timedelta(days=30)))
    cert = builder.sign(ca[0], pki.hashes.SHA256())
    assert pki.check_certificate(cert, key, [ca[1]], [], [], 'both', 0, now=NOW) == []


def test_bundle_parsing_reads_every_certificate(ca, other_ca):
    bundle = pki.certificate_pem(ca[1]) + b'\n' + pki.certificate_pem(other_ca[1])
    certs = pki.load_certificates(bundle)
    assert [pki.certificate_fingerprint(c) for c in certs] == [
        pki.certificate_fingerprint(ca[1]), pki.certificate_fingerprint(other_ca[1])]
    with pytest.raises(pki.PKIError, match='holds no PEM certificate'):
        pki.load_certificates(b'-----BEGIN FOO-----\n')


def test_certificate_info_is_json_friendly(ca):
    _key, _csr, cert = issue(ca)
    info = pki.certificate_info(cert, now=NOW)
    assert info['days_left'] == 90
    assert info['profile'] == 'server'
    assert info['key_type'] == 'ec-p256'
    assert info['dns_names'] == ['collector', 'collector.example']
    assert info['not_after'] == '2027-02-22T12:00:00Z'
