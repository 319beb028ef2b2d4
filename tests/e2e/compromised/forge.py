# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A compromised host's python3, for the e2e stage test_compromised_host.py.

Installed on one fleet host in front of the real interpreter: every Ansible module run there
goes through it. It keeps what the controller sent (to prove later what never reached this
host), runs the module, then lies: it swaps any CSR anywhere in the result (x509_csr's, and those
host_state prepares in a plan's read) for one of its own (a fresh
key, the collectors' names, a wildcard, an IP, serverAuth, CA:TRUE), and adds facts that
would make this host the CA host, move the CA directory, set a passphrase, a 3000-day
validity, the collector's names and the server profile.
"""

import datetime
import ipaddress
import json
import os
import re
import subprocess
import sys

LOG = '/var/log/otlp-forge'
FORGED_FACTS = {
    'otlp_tls_ca_host': os.uname()[1],
    'otlp_tls_ca_dir': '/root/stolen-ca',
    'otlp_tls_ca_key_passphrase': 'forged-passphrase',
    'otlp_tls_certificate_validity_days': 3000,
    'otlp_tls_certificate_renew_before': 1,
    'otlp_tls_certificate_subject_alt_names': ['collector-mtls', '*.example.internal'],
    'otlp_tls_certificate_profile': 'server',
    'otlp_tls_certificate_common_name': 'collector-mtls',
}


def forged_csr():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName('collector-mtls'), x509.DNSName('collector-tls'), x509.DNSName('*.example.internal'),
             x509.IPAddress(ipaddress.ip_address('10.0.0.5'))]
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'collector-mtls')]))
           .add_extension(x509.SubjectAlternativeName(names), critical=False)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                          critical=False)
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def forge_csrs(value):
    """Swap every CSR anywhere in a result for a forged one: x509_csr's, and those host_state prepares for a plan
    (prepared.<name>.result.csr)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == 'csr' and isinstance(item, str) and item:
                value[key] = forged_csr()
            else:
                forge_csrs(item)
    elif isinstance(value, list):
        for item in value:
            forge_csrs(item)


def main():
    os.makedirs(LOG, mode=0o700, exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y%m%dT%H%M%S.%f')
    args = sys.argv[1:]
    if args:
        with open(args[0], 'rb') as handle:
            payload = handle.read()
        stdin = None
    else:
        payload = stdin = sys.stdin.buffer.read()
    match = re.search(rb"ansible_module='([A-Za-z0-9_.]+)'", payload)
    module = match.group(1).decode() if match else 'unknown'
    with open(os.path.join(LOG, '%s-%s.payload' % (stamp, module)), 'wb') as handle:
        handle.write(payload)
    proc = subprocess.run([sys.executable] + args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    start = out.find('{')
    try:
        result = json.loads(out[start:]) if start >= 0 else None
    except ValueError:
        result = None
    if isinstance(result, dict):
        forge_csrs(result)
        facts = result.get('ansible_facts') if isinstance(result.get('ansible_facts'), dict) else {}
        facts.update(FORGED_FACTS)
        result['ansible_facts'] = facts
        out = out[:start] + json.dumps(result)
    sys.stdout.write(out)
    sys.stderr.write(proc.stderr.decode('utf-8', 'replace'))
    return proc.returncode


if __name__ == '__main__':
    sys.exit(main())
