# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Revocation: recorded beside the CA with the ledger's serials, enforced by the signer, a CRL per CA."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from cryptography import x509

from ansible_collections.otlp.tls.plugins.module_utils import ca_store, pki, revocation

from .test_modules import ca_args, grant, make_csr, run_module


def ca_call(ca_dir, **extra):
    args = dict(certificate_path=str(ca_dir / 'ca.crt'), private_key_path=str(ca_dir / 'ca.key'),
                bundle_path=str(ca_dir / 'bundle.crt'), common_name='Unit CA')
    args.update(extra)
    return run_module('x509_ca', args)


def sign(ca_dir, tmp_path, names):
    requests = [dict(grant(host), name='%s:%s' % (host, entry), csr=make_csr(tmp_path, host)['csr'])
                for host, entry in names]
    return run_module('x509_sign', dict(ca_args(ca_dir), ledger_path=str(ca_dir / 'ledger.jsonl'),
                                        revocation_path=str(ca_dir / 'revoked.json'), requests=requests))


def test_revoke_records_serials_writes_a_crl_and_the_signer_refuses(ca_dir, tmp_path):
    first = sign(ca_dir, tmp_path, [('app1', 'web'), ('app1', 'worker'), ('app2', 'web')])
    serials = dict((name, entry['serial_number']) for name, entry in first['certificates'].items())
    # Revoking needs a rotation of its own.
    refused = ca_call(ca_dir, revoke=['app1:web'])
    assert refused['failed'] and 'needs rotation=start' in refused['msg']
    bad = ca_call(ca_dir, revoke=['app1 web'], rotation='start')
    assert bad['failed'] and 'is not a host or host:entry to revoke' in bad['msg']
    out = ca_call(ca_dir, revoke=['app1:web', 'app9'], revoke_reason='key leaked', rotation='start')
    assert not out.get('failed'), out
    assert out['newly_revoked'] == ['app1:web', 'app9'] and out['revoked'] == ['app1:web', 'app9']
    assert 'ledger holds no certificate of app9' in json.dumps(out), out
    state = json.loads((ca_dir / 'revoked.json').read_text())
    old_fp = pki.certificate_fingerprint(pki.load_certificate((ca_dir / 'ca.crt').read_bytes()))
    assert sorted(state['serials'][old_fp]) == [serials['app1:web']]
    assert state['revoked'][0]['reason'] == 'key leaked'
    # The CRL is signed by the CA that issued the revoked certificate and lists exactly it.
    crls = (ca_dir / 'crl.pem').read_bytes()
    crl = x509.load_pem_x509_crl(crls)
    assert crl.is_signature_valid(pki.load_certificate((ca_dir / 'ca.crt').read_bytes()).public_key())
    assert ['%x' % r.serial_number for r in crl] == [serials['app1:web']]
    # Idempotent: the same call changes nothing, the CRL is not rewritten.
    again = ca_call(ca_dir, revoke=['app1:web', 'app9'], rotation='start')
    assert not again['changed'] and (ca_dir / 'crl.pem').read_bytes() == crls
    # In phase trust only the old CA has signed: another revocation joins this rotation.
    during = ca_call(ca_dir, revoke=['app2'], rotation='start')
    assert not during.get('failed') and during['newly_revoked'] == ['app2'], during
    # A host revoked as a whole need not complete the phase for the rotation to move on.
    ca_call(ca_dir, rotation='record', rotation_phase='trust', rotation_hosts=['app1'])
    moved = ca_call(ca_dir, rotation='advance', rotation_phase='trust', rotation_hosts=['app1', 'app2'])
    assert moved['rotation']['phase'] == 'reissue', moved
    # From reissue on the next CA signs too: a revocation needs a rotation of its own.
    late = ca_call(ca_dir, revoke=['app3'], rotation='start')
    assert late['failed'] and 'a CA rotation is under way in phase reissue' in late['msg']
    # The signer issues nothing to a revoked entry or host; the others go on.
    after = sign(ca_dir, tmp_path, [('app1', 'web'), ('app1', 'worker'), ('app9', 'otlp')])
    assert sorted(after['revoked']) == ['app1:web', 'app9:otlp'] and after['refused'] == {}
    assert list(after['certificates']) == ['app1:worker']
    assert sign(ca_dir, tmp_path, [('app2', 'web')])['revoked'] == ['app2:web']
    assert [r['host'] + ':' + r['entry'] for r in ca_store.read_ledger(str(ca_dir / 'ledger.jsonl'))][-1] == 'app1:worker'
    # Un-revoked, the host may be issued certificates again.
    released = ca_call(ca_dir, unrevoke=['app9'])
    assert released['revoked'] == ['app1:web', 'app2']
    assert list(sign(ca_dir, tmp_path, [('app9', 'otlp')])['certificates']) == ['app9:otlp']


def test_crl_needs_writing_on_change_and_before_it_expires(tmp_path):
    key = pki.generate_private_key('ec-p256')
    cert = pki.build_ca_certificate(key, 'CRL CA')
    fp = pki.certificate_fingerprint(cert)
    pem = revocation.build_crl(key, cert, {'1a': {}, 'ff': {}}).public_bytes(pki.serialization.Encoding.PEM)
    assert not revocation.crl_needs_writing(pem, {fp: set(['1a', 'ff'])}, {fp: cert})
    assert revocation.crl_needs_writing(pem, {fp: set(['1a'])}, {fp: cert})
    assert revocation.crl_needs_writing(None, {fp: set(['1a'])}, {fp: cert})
    soon = revocation.build_crl(key, cert, {'1a': {}}, days=3).public_bytes(pki.serialization.Encoding.PEM)
    assert revocation.crl_needs_writing(soon, {fp: set(['1a'])}, {fp: cert})
    other = pki.build_ca_certificate(pki.generate_private_key('ec-p256'), 'CRL CA')
    assert revocation.crl_needs_writing(pem, {fp: set(['1a', 'ff'])}, {pki.certificate_fingerprint(other): other})
