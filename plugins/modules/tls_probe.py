#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: tls_probe
short_description: Open a TLS or mTLS connection to an OTLP endpoint and report what happened
description:
  - Connects from the host that runs the module to O(host):O(port), does the TLS handshake with the given trust bundle
    and (for mTLS) client certificate and key, and reports the certificate the server presented, whether it verified
    against the bundle and O(server_name), and whether the server accepted the client.
  - In TLS 1.3 a server rejects a client certificate only after the handshake, so the module then speaks first
    (the HTTP/2 preface, or an HTTP/1.1 request) and reads the answer; an alert there means the client was refused.
  - It never fails because the connection failed; the outcome is in RV(ok) and RV(error), to feed reports. Set
    O(fail_on_error) to fail instead.
  - The handshake uses Python's C(ssl); the presented certificate is read and verified with C(cryptography). The key
    never leaves the host and is never returned.
version_added: 0.2.0
extends_documentation_fragment:
  - otlp.tls.common
attributes:
  check_mode:
    support: full
    details: The module changes nothing, and connects in check mode too.
  diff_mode:
    support: none
options:
  host:
    description: Address or name to connect to.
    type: str
    required: true
  port:
    description: TCP port.
    type: int
    required: true
  server_name:
    description: Name sent as SNI and checked against the server certificate. Default O(host).
    type: str
  trust_bundle_path:
    description:
      - Trust bundle to verify the server with. Without it the server certificate is read but not verified.
      - Named C(trust_bundle_path) in every otlp.tls module; C(ca_path) and C(ca_file) are other names for it.
    type: path
    aliases: [ca_path, ca_file]
  client_certificate_path:
    description: Client certificate (mTLS).
    type: path
  client_private_key_path:
    description: Key of the client certificate.
    type: path
  timeout:
    description: Seconds for the connection, the handshake and the answer.
    type: float
    default: 5
  fail_on_error:
    description: Fail the task when the connection, the verification or the client's acceptance failed.
    type: bool
    default: false
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Handshake from an app host to its collector with the app's own certificate
  otlp.tls.tls_probe:
    host: collector1
    port: 4317
    trust_bundle_path: /etc/otlp-tls/checkout/ca.pem
    client_certificate_path: /etc/otlp-tls/checkout/cert.pem
    client_private_key_path: /etc/otlp-tls/checkout/key.pem
  register: probe

- name: Wait until the collector serves its new certificate
  otlp.tls.tls_probe:
    host: 127.0.0.1
    port: 4317
    server_name: collector1
  register: served
  until: served.peer.fingerprint_sha256 == new_fingerprint
  retries: 30
  delay: 2
'''

RETURN = r'''
ok:
  description: The connection, the verification (with O(trust_bundle_path)) and the server's acceptance of the client all succeeded.
  returned: always
  type: bool
stage:
  description: Where it stopped, when it failed; C(connect), C(handshake), C(verify) or C(accept).
  returned: always
  type: str
error:
  description: What went wrong, empty when RV(ok).
  returned: always
  type: str
tls_version:
  description: The negotiated protocol, for example TLSv1.3.
  returned: when the handshake completed
  type: str
alpn:
  description: The negotiated application protocol (h2 for gRPC).
  returned: when the handshake completed
  type: str
verified:
  description: Whether the server certificate verified against O(trust_bundle_path) for O(server_name).
  returned: always
  type: bool
peer:
  description: The certificate the server presented (subject, issuer, subject_alt_names, not_after, days_left,
    fingerprint_sha256, serial_number), as M(otlp.tls.x509_info) reports it.
  returned: when the server presented one
  type: dict
'''

import socket
import ssl

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.common import ModuleFailure, run_module

HTTP2_PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + b'\x00\x00\x00\x04\x00\x00\x00\x00\x00'


def describe(der):
    if not der or not pki.HAS_CRYPTOGRAPHY:
        return None
    return pki.certificate_info(pki.load_certificate(der, 'server certificate'))


def probe(params):
    result = dict(ok=False, stage='connect', error='', verified=False)
    name = params['server_name'] or params['host']
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Verified by hand below, so that the certificate is reported even when it does not verify.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(['h2', 'http/1.1'])
    if params['client_certificate_path']:
        try:
            context.load_cert_chain(params['client_certificate_path'], params['client_private_key_path'])
        except (ssl.SSLError, IOError, OSError) as exc:
            result.update(stage='connect', error='cannot load the client certificate %s and key %s: %s'
                          % (params['client_certificate_path'], params['client_private_key_path'], exc))
            return result
    try:
        raw = socket.create_connection((params['host'], params['port']), timeout=params['timeout'])
    except (socket.error, OSError) as exc:
        result['error'] = 'cannot connect to %s:%d: %s' % (params['host'], params['port'], exc)
        return result
    try:
        result['stage'] = 'handshake'
        try:
            conn = context.wrap_socket(raw, server_hostname=name)
        except (ssl.SSLError, socket.error, OSError) as exc:
            result['error'] = 'TLS handshake with %s:%d failed: %s' % (params['host'], params['port'], exc)
            return result
        result['tls_version'] = conn.version()
        result['alpn'] = conn.selected_alpn_protocol() or ''
        der = conn.getpeercert(binary_form=True)
        result['peer'] = describe(der)
        result['stage'] = 'verify'
        if params['trust_bundle_path']:
            problem = verify(der, params['trust_bundle_path'], name)
            if problem:
                result['error'] = problem
                conn.close()
                return result
            result['verified'] = True
        result['stage'] = 'accept'
        try:
            if result['alpn'] == 'h2':
                conn.sendall(HTTP2_PREFACE)
            else:
                conn.sendall(b'GET / HTTP/1.1\r\nHost: ' + name.encode('idna') + b'\r\nConnection: close\r\n\r\n')
            answer = conn.recv(64)
        except (ssl.SSLError, socket.error, OSError) as exc:
            result['error'] = 'the server refused this client after the handshake: %s' % exc
            return result
        finally:
            conn.close()
        if not answer:
            result['error'] = 'the server closed the connection without an answer (client refused?)'
            return result
        result.update(ok=True, stage='', error='')
        return result
    finally:
        raw.close()


def verify(der, ca_path, name):
    """Check the presented certificate against the bundle and the name with the ssl module's own rules."""
    if pki.HAS_CRYPTOGRAPHY:
        try:
            with open(ca_path, 'rb') as handle:
                roots = pki.load_certificates(handle.read(), ca_path)
            cert = pki.load_certificate(der, 'server certificate')
        except (pki.PKIError, IOError, OSError) as exc:
            return 'cannot read the trust bundle %s: %s' % (ca_path, exc)
        problems = pki.check_certificate(cert, trust_roots=roots, required_names=[name], profile='server')
        if problems:
            return 'the server certificate does not verify: %s' % '; '.join(problems)
        return ''
    return 'cryptography is missing on this host: cannot verify'


def run(module):
    result = probe(module.params)
    if module.params['fail_on_error'] and not result['ok']:
        raise ModuleFailure('%s:%d: %s' % (module.params['host'], module.params['port'], to_text(result['error'])),
                            **dict((k, v) for k, v in result.items() if k != 'error'))
    return dict(result, changed=False)


def main():
    # Without cryptography the handshake still runs; the certificate is then neither read nor verified.
    run_module(dict(
        host=dict(type='str', required=True),
        port=dict(type='int', required=True),
        server_name=dict(type='str'),
        trust_bundle_path=dict(type='path', aliases=['ca_path', 'ca_file']),
        client_certificate_path=dict(type='path'),
        client_private_key_path=dict(type='path', no_log=False),
        timeout=dict(type='float', default=5),
        fail_on_error=dict(type='bool', default=False),
    ), run, needs_cryptography=False, required_together=[('client_certificate_path', 'client_private_key_path')])


if __name__ == '__main__':
    main()
