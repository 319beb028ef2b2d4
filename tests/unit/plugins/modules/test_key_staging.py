# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Key rotation without a window: x509_csr stages the new key, x509_install swaps the pair together.

Every module runs as Ansible runs it (JSON in, JSON out) on real files in a temporary directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.files import staged_key_path

from .test_modules import digest_tree, mode_of, run_module


@pytest.fixture
def ca(tmp_path):
    directory = tmp_path / 'ca'
    directory.mkdir()
    result = run_module('x509_ca', dict(certificate_path=str(directory / 'ca.crt'),
                                        private_key_path=str(directory / 'ca.key'), common_name='Unit CA'))
    assert not result.get('failed'), result
    return directory


@pytest.fixture
def svc(tmp_path):
    directory = tmp_path / 'svc'
    directory.mkdir()
    return directory


def csr_args(svc, **extra):
    args = dict(private_key_path=str(svc / 'key.pem'), certificate_path=str(svc / 'cert.pem'), common_name='svc1',
                dns_names=['svc1'], profile='server', mode='0640', group='nogroup')
    args.update(extra)
    return args


def sign(ca, csr_result):
    """The CA signs the CSR (as x509_sign does on the CA host): (certificate PEM, chain PEM)."""
    ca_key = pki.load_private_key(read(ca / 'ca.key'))
    ca_cert = pki.load_certificate(read(ca / 'ca.crt'))
    cert = pki.sign_csr(pki.load_csr(csr_result['csr']), ca_key, ca_cert, 'server', 90)
    return pki.certificate_pem(cert).decode(), pki.certificate_pem(ca_cert).decode()


def install_args(svc, cert, chain, **extra):
    args = dict(certificate=cert, certificate_path=str(svc / 'cert.pem'), chain=chain,
                fullchain_path=str(svc / 'fullchain.pem'), trust_bundle=chain, trust_bundle_path=str(svc / 'ca.pem'),
                private_key_path=str(svc / 'key.pem'), private_key_mode='0640', group='nogroup',
                required_names=['svc1'], profile='server')
    args.update(extra)
    return args


def issue_and_install(ca, svc, **csr_extra):
    csr = run_module('x509_csr', csr_args(svc, **csr_extra))
    assert not csr.get('failed'), csr
    cert, chain = sign(ca, csr)
    installed = run_module('x509_install', install_args(svc, cert, chain))
    assert not installed.get('failed'), installed
    return csr, cert, installed


def read(path):
    with open(str(path), 'rb') as handle:
        return handle.read()


def pair_matches(svc):
    key = pki.load_private_key(read(svc / 'key.pem'))
    return pki.key_matches_certificate(key, pki.load_certificate(read(svc / 'cert.pem')))


def attributes(path):
    info = os.stat(str(path))
    return info.st_uid, info.st_gid, mode_of(str(path))


def test_the_staged_path_is_the_key_path_with_next():
    assert staged_key_path('/etc/otlp-tls/svc/key.pem') == '/etc/otlp-tls/svc/key.pem.next'


def test_first_issue_writes_the_key_in_place(ca, svc):
    csr, _cert, _installed = issue_and_install(ca, svc)
    assert csr['private_key_changed'] and not csr['staged'] and not csr['staged_key_promoted']
    assert csr['staged_private_key_path'] == str(svc / 'key.pem.next')
    assert not os.path.exists(str(svc / 'key.pem.next'))
    assert pair_matches(svc)


def test_rotate_stages_the_key_and_keeps_the_live_pair(ca, svc):
    issue_and_install(ca, svc)
    # Owner from the live key (not set in the arguments), mode and group from the arguments.
    os.chown(str(svc / 'key.pem'), 65534, 65534)
    before = digest_tree(svc)
    rotated = run_module('x509_csr', csr_args(svc, rotate_key=True, group=None), diff=True)
    assert rotated['changed'] and rotated['staged'] and rotated['private_key_changed'], rotated
    assert rotated['private_key_reason'] == 'rotate_key requested'
    staged = svc / 'key.pem.next'
    assert rotated['staged_private_key_path'] == str(staged)
    # key.pem, cert.pem and everything else are exactly as they were, and still a pair.
    assert dict((k, v) for k, v in digest_tree(svc).items() if k != str(staged)) == before
    assert pair_matches(svc)
    # The staged key: PKCS#8, the key of the CSR, same owner/group/mode as the live key, never printed.
    staged_pem = read(staged)
    assert staged_pem.startswith(b'-----BEGIN PRIVATE KEY-----')
    staged_key = pki.load_private_key(staged_pem)
    assert pki.public_key_fingerprint(staged_key) == rotated['public_key_fingerprint']
    assert pki.public_key_der(pki.load_csr(rotated['csr']).public_key()) == pki.public_key_der(staged_key)
    assert attributes(staged) == attributes(svc / 'key.pem') == (65534, 65534, 0o640)
    assert staged_pem.decode() not in rotated['_stdout'] and read(svc / 'key.pem').decode() not in rotated['_stdout']
    assert 'BEGIN PRIVATE KEY' not in rotated['_stdout']
    assert rotated['public_key_fingerprint'] in rotated['diff']['after']
    # No temporary copy of the key is left behind.
    assert sorted(os.listdir(str(svc))) == ['ca.pem', 'cert.pem', 'fullchain.pem', 'key.pem', 'key.pem.next']


def test_failed_signing_leaves_the_old_pair_and_a_retry_reuses_the_staged_key(ca, svc):
    first, cert, _installed = issue_and_install(ca, svc)
    rotated = run_module('x509_csr', csr_args(svc, rotate_key=True))
    staged_pem = read(svc / 'key.pem.next')
    # Signing fails (the CA host is down): nothing is installed; the service keeps a matching pair.
    assert pair_matches(svc) and read(svc / 'cert.pem').decode() == cert

    retry = run_module('x509_csr', csr_args(svc, rotate_key=True))
    assert not retry['changed'] and retry['staged']
    assert retry['public_key_fingerprint'] == rotated['public_key_fingerprint']
    assert 'used again' in retry['private_key_reason']
    assert read(svc / 'key.pem.next') == staged_pem

    # Without rotate_key the CSR is for the live key; the staged key stays for the next rotation.
    plain = run_module('x509_csr', csr_args(svc))
    assert not plain['changed'] and not plain['staged'] and not plain['private_key_changed']
    assert plain['public_key_fingerprint'] == first['public_key_fingerprint']
    assert read(svc / 'key.pem.next') == staged_pem
    # ... and a certificate for the live key leaves the staged key alone.
    kept = run_module('x509_install', install_args(svc, cert, read(ca / 'ca.crt').decode()))
    assert not kept['changed'] and not kept['staged_private_key_installed']
    assert read(svc / 'key.pem.next') == staged_pem and pair_matches(svc)


def test_install_of_the_new_certificate_swaps_key_and_certificate(ca, svc):
    issue_and_install(ca, svc)
    live_attributes = attributes(svc / 'key.pem')
    rotated = run_module('x509_csr', csr_args(svc, rotate_key=True))
    staged_pem = read(svc / 'key.pem.next')
    cert, chain = sign(ca, rotated)

    preview = run_module('x509_install', install_args(svc, cert, chain), check=True, diff=True)
    assert preview['changed'] and preview['staged_private_key_installed'], preview
    assert str(svc / 'key.pem') in preview['changed_files']
    assert rotated['public_key_fingerprint'] in preview['diff']['after']
    assert 'BEGIN PRIVATE KEY' not in preview['_stdout']
    assert read(svc / 'key.pem.next') == staged_pem and pair_matches(svc)

    done = run_module('x509_install', install_args(svc, cert, chain), diff=True)
    assert done['changed'] and done['staged_private_key_installed'], done
    assert set(done['changed_files']) == set([str(svc / 'cert.pem'), str(svc / 'fullchain.pem'), str(svc / 'key.pem')])
    assert read(svc / 'key.pem') == staged_pem and not os.path.exists(str(svc / 'key.pem.next'))
    assert read(svc / 'cert.pem').decode() == cert and pair_matches(svc)
    assert attributes(svc / 'key.pem') == live_attributes
    assert 'BEGIN PRIVATE KEY' not in done['_stdout']

    again = run_module('x509_install', install_args(svc, cert, chain))
    assert not again['changed'] and not again['staged_private_key_installed']
    after = run_module('x509_csr', csr_args(svc))
    assert not after['changed'] and not after['staged']
    assert after['public_key_fingerprint'] == rotated['public_key_fingerprint']


def test_install_of_a_certificate_for_neither_key_writes_nothing(ca, svc, tmp_path):
    issue_and_install(ca, svc)
    run_module('x509_csr', csr_args(svc, rotate_key=True))
    other = tmp_path / 'other'
    other.mkdir()
    stranger, chain = sign(ca, run_module('x509_csr', csr_args(other, group=None)))
    before = digest_tree(svc)
    refused = run_module('x509_install', install_args(svc, stranger, chain))
    assert refused['failed'] and 'does not belong to the certificate' in refused['msg']
    assert 'key.pem.next' in refused['msg'] and 'does not belong to it either' in refused['msg']
    assert digest_tree(svc) == before


def test_check_mode_rotation_writes_nothing(ca, svc):
    issue_and_install(ca, svc)
    before = digest_tree(svc)
    preview = run_module('x509_csr', csr_args(svc, rotate_key=True), check=True, diff=True)
    assert preview['changed'] and preview['staged'] and preview['private_key_changed']
    assert digest_tree(svc) == before and not os.path.exists(str(svc / 'key.pem.next'))
    # The check run signs (x509_sign writes nothing) and the install of that certificate is
    # predicted without the key match: the staged key does not exist in check mode.
    cert, chain = sign(ca, preview)
    predicted = run_module('x509_install', install_args(svc, cert, chain), check=True)
    assert not predicted.get('failed') and predicted['changed'], predicted
    assert 'key match is not checked' in json.dumps(predicted['warnings'])
    assert digest_tree(svc) == before
    # Outside check mode the same certificate is refused: its key exists nowhere.
    refused = run_module('x509_install', install_args(svc, cert, chain))
    assert refused['failed'] and digest_tree(svc) == before


def test_an_install_cut_short_is_completed(ca, svc):
    issue_and_install(ca, svc)
    rotated = run_module('x509_csr', csr_args(svc, rotate_key=True))
    staged_pem = read(svc / 'key.pem.next')
    cert, chain = sign(ca, rotated)
    # The certificate was written, the run died before the key was moved.
    (svc / 'cert.pem').write_text(cert)
    assert not pair_matches(svc)

    preview = run_module('x509_csr', csr_args(svc), check=True)
    assert preview['staged_key_promoted'] and preview['changed'] and not pair_matches(svc)
    resumed = run_module('x509_csr', csr_args(svc), diff=True)
    assert resumed['staged_key_promoted'] and resumed['changed'] and not resumed['staged'], resumed
    assert read(svc / 'key.pem') == staged_pem and not os.path.exists(str(svc / 'key.pem.next'))
    assert pair_matches(svc) and resumed['public_key_fingerprint'] == rotated['public_key_fingerprint']
    assert 'BEGIN PRIVATE KEY' not in resumed['_stdout']
    # The CSR is for the key of the installed certificate: the signer keeps it.
    assert pki.public_key_der(pki.load_csr(resumed['csr']).public_key()) == \
        pki.public_key_der(pki.load_certificate(cert.encode()).public_key())


def test_a_new_key_type_is_staged_too_and_a_stale_staged_key_is_not_reused(ca, svc):
    issue_and_install(ca, svc)
    first = run_module('x509_csr', csr_args(svc, rotate_key=True))
    retyped = run_module('x509_csr', csr_args(svc, key_type='ec-p384'))
    assert retyped['staged'] and retyped['key_type'] == 'ec-p384'
    assert 'key type changed' in retyped['private_key_reason']
    assert retyped['public_key_fingerprint'] != first['public_key_fingerprint']
    assert pki.key_type_of(pki.load_private_key(read(svc / 'key.pem'))) == 'ec-p256' and pair_matches(svc)

    # A staged key that others could read is never used.
    os.chmod(str(svc / 'key.pem.next'), 0o644)
    again = run_module('x509_csr', csr_args(svc, key_type='ec-p384'))
    assert again['changed'] and again['public_key_fingerprint'] != retyped['public_key_fingerprint']
    assert mode_of(str(svc / 'key.pem.next')) == 0o640


def test_a_certificate_for_the_staged_key_with_a_given_key_path_only(ca, svc):
    # x509_install without x509_csr in the same run (a later play) still finds the staged key.
    issue_and_install(ca, svc)
    rotated = run_module('x509_csr', csr_args(svc, rotate_key=True))
    cert, chain = sign(ca, rotated)
    result = run_module('x509_install', dict(certificate=cert, certificate_path=str(svc / 'cert.pem'), chain=chain,
                                             private_key_path=str(svc / 'key.pem'), private_key_mode='0640'))
    assert result['staged_private_key_installed'] and pair_matches(svc)
