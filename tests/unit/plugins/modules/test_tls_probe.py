# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""tls_probe against a real TLS server on loopback (Python's ssl, TLS 1.3, client certificates required)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl
import threading

import pytest

from ansible_collections.otlp.tls.plugins.module_utils import pki

from .test_modules import run_module


def write(path, data):
    path.write_bytes(data)
    return str(path)


def issue(tmp_path, name, ca_key, ca_cert, profile, common_name, dns):
    key = pki.generate_private_key('ec-p256')
    csr = pki.build_csr(key, common_name, dns_names=dns)
    cert = pki.sign_csr(csr, ca_key, ca_cert, profile, 30)
    return (write(tmp_path / (name + '.key'), pki.private_key_to_pkcs8(key)),
            write(tmp_path / (name + '.pem'), pki.certificate_pem(cert)))


@pytest.fixture
def pki_files(tmp_path):
    ca_key = pki.generate_private_key('ec-p256')
    ca_cert = pki.build_ca_certificate(ca_key, 'Probe CA')
    files = dict(ca=write(tmp_path / 'ca.pem', pki.certificate_pem(ca_cert)))
    files['server_key'], files['server'] = issue(tmp_path, 'server', ca_key, ca_cert, 'server', 'collector', ['collector'])
    files['client_key'], files['client'] = issue(tmp_path, 'client', ca_key, ca_cert, 'client', 'app', ['app'])
    other_key = pki.generate_private_key('ec-p256')
    other_ca = pki.build_ca_certificate(other_key, 'Probe CA')
    files['rogue_key'], files['rogue'] = issue(tmp_path, 'rogue', other_key, other_ca, 'client', 'app', ['app'])
    return files


@pytest.fixture
def server(pki_files):
    """A TLS 1.3 server that requires a client certificate from the CA and answers b'hello'."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(pki_files['server'], pki_files['server_key'])
    context.load_verify_locations(pki_files['ca'])
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(8)
    listener.settimeout(10)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except (socket.timeout, OSError):
                continue
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(64)
                    tls.sendall(b'hello')
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve)
    thread.daemon = True
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def probe(port, files, **extra):
    args = dict(host='127.0.0.1', port=port, server_name='collector', ca_path=files['ca'])
    args.update(extra)
    return run_module('tls_probe', args)


def test_mtls_with_the_right_client(server, pki_files):
    result = probe(server, pki_files, client_certificate_path=pki_files['client'],
                   client_private_key_path=pki_files['client_key'])
    assert result['ok'] and result['verified'] and result['tls_version'] == 'TLSv1.3', result
    assert result['peer']['subject'] == 'CN=collector'
    assert not result['changed']
    with open(pki_files['client_key']) as handle:
        assert handle.read() not in result['_stdout']


def test_no_client_certificate_is_refused_after_the_handshake(server, pki_files):
    result = probe(server, pki_files)
    assert not result['ok'] and result['stage'] == 'accept', result
    assert result['verified']


def test_client_from_another_ca_is_refused(server, pki_files):
    result = probe(server, pki_files, client_certificate_path=pki_files['rogue'],
                   client_private_key_path=pki_files['rogue_key'])
    assert not result['ok'] and result['stage'] == 'accept', result


def test_a_name_the_server_certificate_lacks(server, pki_files):
    result = probe(server, pki_files, server_name='collector-alias')
    assert not result['ok'] and result['stage'] == 'verify'
    assert 'do not cover collector-alias' in result['error']
    assert result['peer']['subject'] == 'CN=collector'


def test_nothing_listening(pki_files):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    result = probe(port, pki_files)
    assert not result['ok'] and result['stage'] == 'connect'
    failed = probe(port, pki_files, fail_on_error=True)
    assert failed['failed'] and 'cannot connect' in failed['msg']
