# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The issuance ledger and the CA directory's lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os


from ansible_collections.otlp.tls.plugins.module_utils import ca_store, pki

from .test_modules import ca_args, grant, make_csr, run_module


def test_every_issued_certificate_is_recorded_once(ca_dir, tmp_path):
    ledger = str(ca_dir / 'ledger.jsonl')
    csrs = dict((name, make_csr(tmp_path, name)['csr']) for name in ('collector1', 'app1'))
    requests = [dict(grant('collector1', 'server', ['collector1', '10.0.0.5']), name='collector1:collector',
                     csr=csrs['collector1']),
                dict(grant('app1'), name='app1:web', host='app1', entry='web', csr=csrs['app1']),
                dict(grant('app1', names=['app9']), name='app1:lies', csr=make_csr(tmp_path, 'app1')['csr'])]
    preview = run_module('x509_sign', dict(ca_args(ca_dir), ledger_path=ledger, requests=requests), check=True)
    assert preview['recorded'] == 0 and not os.path.exists(ledger)
    first = run_module('x509_sign', dict(ca_args(ca_dir), ledger_path=ledger, requests=requests))
    assert first['recorded'] == 2 and list(first['refused']) == ['app1:lies']
    records = ca_store.read_ledger(ledger)
    assert [(r['host'], r['entry']) for r in records] == [('collector1', 'collector'), ('app1', 'web')]
    collector = records[0]
    cert = pki.load_certificate(first['certificates']['collector1:collector']['certificate'])
    ca_cert = pki.load_certificate((ca_dir / 'ca.crt').read_bytes())
    assert collector['serial'] == '%x' % cert.serial_number
    assert collector['dns_names'] == ['collector1'] and collector['ip_addresses'] == ['10.0.0.5']
    assert collector['profile'] == 'server' and collector['subject'] == 'CN=collector1'
    assert collector['public_key_sha256'] == pki.public_key_fingerprint(cert.public_key())
    assert collector['issuer_sha256'] == pki.certificate_fingerprint(ca_cert)
    assert collector['reasons'] == ['no certificate yet'] and collector['not_after'] > collector['not_before']
    assert oct(os.stat(ledger).st_mode & 0o777) == '0o600'
    # Kept certificates are not recorded again; a forced re-issue is.
    for request in requests[:2]:
        request['existing_certificate'] = first['certificates'][request['name']]['certificate']
    again = run_module('x509_sign', dict(ca_args(ca_dir), ledger_path=ledger, requests=requests[:2]))
    assert again['recorded'] == 0 and len(ca_store.read_ledger(ledger)) == 2
    forced = run_module('x509_sign', dict(ca_args(ca_dir), ledger_path=ledger, requests=requests[:1], force=True))
    assert forced['recorded'] == 1 and len(ca_store.read_ledger(ledger)) == 3


def test_a_line_cut_short_by_a_crash_is_dropped_and_the_rest_kept(tmp_path):
    ledger = str(tmp_path / 'ledger.jsonl')
    ca_store.append_ledger(ledger, [dict(serial='1')])
    with open(ledger, 'ab') as handle:
        handle.write(b'{"serial": "2", "ho')
    assert [r['serial'] for r in ca_store.read_ledger(ledger)] == ['1']
    ca_store.append_ledger(ledger, [dict(serial='3')])
    assert [r['serial'] for r in ca_store.read_ledger(ledger)] == ['1', '3']
    with open(ledger) as handle:
        assert [json.loads(line)['serial'] for line in handle] == ['1', '3']


def test_a_held_lock_names_its_holder(ca_dir, tmp_path):
    with ca_store.CALock(str(ca_dir), 5, 'a test that holds it'):
        out = run_module('x509_sign', dict(ca_args(ca_dir), ledger_path=str(ca_dir / 'ledger.jsonl'), lock_timeout=1,
                                           requests=[dict(grant('app1'), name='app1', csr=make_csr(tmp_path, 'app1')['csr'])]))
    assert out['failed']
    assert 'is locked by another run (a test that holds it, pid %d on ' % os.getpid() in out['msg']
    assert 'was not free within 1 s' in out['msg']
    # Once released, the same call goes through, and the lock file names nobody.
    out = run_module('x509_sign', dict(ca_args(ca_dir), ledger_path=str(ca_dir / 'ledger.jsonl'),
                                       requests=[dict(grant('app1'), name='app1', csr=make_csr(tmp_path, 'app1')['csr'])]))
    assert out['recorded'] == 1
    assert (ca_dir / '.lock').read_text() == ''
    with open(str(ca_dir / '.lock')) as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(body)]) + body


def _tlv(tag, body):
    return bytes([tag]) + _der_len(len(body)) + body


def duplicate_san_csr():
    """A CSR, properly signed, with two subjectAltName extensions (parsed lazily, it raises late)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key = pki.generate_private_key('ec-p256')
    csr = (x509.CertificateSigningRequestBuilder().subject_name(pki.build_name('app1'))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName('app1')]), critical=False)
           .add_extension(x509.IssuerAlternativeName([x509.DNSName('app1')]), critical=False)
           .sign(key, hashes.SHA256()))
    tbs = csr.tbs_certrequest_bytes.replace(b'\x06\x03\x55\x1d\x12', b'\x06\x03\x55\x1d\x11')
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    der = _tlv(0x30, tbs + _tlv(0x30, bytes.fromhex('06082a8648ce3d040302')) + _tlv(0x03, b'\x00' + signature))
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM).decode()


def test_a_request_that_breaks_the_parser_is_refused_alone(ca_dir, tmp_path):
    good = make_csr(tmp_path, 'app2')['csr']
    out = run_module('x509_sign', dict(ca_args(ca_dir), requests=[
        dict(grant('app2'), name='app2:otlp', csr=good, existing_certificate='-----BEGIN CERTIFICATE-----\nAAAA\n'),
        dict(grant('app1'), name='app1:otlp', csr=duplicate_san_csr()),
        dict(grant('app3'), name='app3:otlp', csr='x' * (70 * 1024))]))
    assert not out.get('failed'), out
    assert out['issued'] == ['app2:otlp'] and sorted(out['refused']) == ['app1:otlp', 'app3:otlp']
    assert 'can not be parsed (DuplicateExtension' in out['refused']['app1:otlp']
    assert 'larger than 65536 bytes' in out['refused']['app3:otlp']
