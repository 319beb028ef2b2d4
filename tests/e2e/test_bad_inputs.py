# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs on the converged e2e fleet: each case runs playbooks/site.yml (or rotate.yml) with
one wrong setting and must

- fail,
- say what is wrong and how to fix it: every pattern of the case matches the output (whitespace
  squeezed, case ignored). The patterns are the stable core of the message (the value or
  variable at fault and the fix), not whole sentences, so rewording a role's message keeps them,
- leave every managed file on every host, and the CA directory, byte for byte and mode for mode
  as it was (sha256 + mode + owner of /etc/otlp-tls, /etc/otelcol, /opt/otlp-tls and the systemd
  units and drop-ins),
- leave every collector and app running with the same PID.

The apps send while the bad runs happen; a port on collector-mtls is taken by another program.

    pytest tests/e2e/test_bad_inputs.py -k port-in-use
"""

from __future__ import absolute_import, division, print_function

import collections
import datetime
import json
import os
import re
import time

import pytest

# id, playbook, extra ansible-playbook arguments ({bad} is the directory of broken CAs), the
# patterns the output must match. lim_app / lim_col: --limit to the mTLS pair / collector.
Case = collections.namedtuple('Case', 'id playbook args patterns')
LIM_APP = ['--limit', 'collector-mtls,app-mtls']
LIM_COL = ['--limit', 'collector-mtls']


def apps_with(app):
    """The e2e apps of app-mtls with one app changed."""
    return ['-e', json.dumps({'otlp_tls_exporter_apps': [app]})]


CASES = [
    Case('unknown-language', 'playbooks/site.yml', LIM_APP + apps_with({'unit': 'e2e-go-grpc', 'language': 'cobol'}),
         # Refused by the role's argument_specs (options of otlp_tls_exporter_apps) before any task runs.
         [r'language must be one of: python, go, java, nodejs, dotnet', r'cobol', r'otlp_tls_exporter_apps']),
    Case('unknown-protocol', 'playbooks/site.yml',
         LIM_APP + apps_with({'unit': 'e2e-go-grpc', 'language': 'go', 'protocol': 'grpcx'}),
         [r'protocol must be one of: grpc, http/protobuf', r'grpcx', r'otlp_tls_exporter_apps']),
    Case('http-scheme-with-tls', 'playbooks/site.yml', LIM_APP + ['-e', 'otlp_tls_exporter_collector=http://collector-mtls'],
         [r'http://collector-mtls', r'without scheme or path']),
    Case('grpc-endpoint-with-path', 'playbooks/site.yml',
         LIM_APP + ['-e', 'otlp_tls_exporter_collector=collector-mtls/v1/traces'],
         [r'collector-mtls/v1/traces', r'without scheme or path']),
    Case('collector-endpoint-without-port', 'playbooks/site.yml', LIM_COL + ['-e', 'otlp_tls_collector_grpc_endpoint=0.0.0.0'],
         [r'endpoints? must be host:port']),
    # The app hosts name the collector collector-alias and the inventory says the collector answers
    # to it, but its certificate was never re-issued with that name (only app-mtls runs).
    Case('san-does-not-cover-endpoint', 'playbooks/site.yml',
         ['--limit', 'app-mtls', '-e', json.dumps({'otlp_tls_exporter_collector': 'collector-alias',
                                                   'otlp_tls_collector_endpoint_names': ['collector-mtls',
                                                                                         'collector-alias']})],
         [r'do not cover collector-alias', r'otlp_tls_collector_endpoint_names']),
    Case('collector-name-unknown', 'playbooks/site.yml',
         ['--limit', 'app-mtls', '-e', 'otlp_tls_exporter_collector=collector-nowhere'],
         [r'collector-nowhere', r'otlp_collectors', r'otlp_tls_collector_endpoint_names']),
    Case('unit-does-not-exist', 'playbooks/site.yml', LIM_APP + apps_with({'unit': 'e2e-nope', 'language': 'go'}),
         [r'e2e-nope[.]service', r'install the apps first']),
    Case('dotnet-http-with-tls', 'playbooks/site.yml',
         LIM_APP + apps_with({'unit': 'e2e-go-grpc', 'language': 'dotnet', 'protocol': 'http/protobuf'}),
         [r'ignores OTEL_EXPORTER_OTLP_CERTIFICATE', r'use protocol grpc for [.]NET']),
    Case('ca-key-wrong-passphrase', 'playbooks/site.yml',
         LIM_COL + ['-e', json.dumps({'otlp_tls_ca_dir': '{bad}/encrypted', 'otlp_tls_ca_key_passphrase': 'not-the-right-one'})],
         [r'could not be decrypted', r'passphrase is wrong']),
    Case('ca-expired', 'playbooks/site.yml', LIM_COL + ['-e', json.dumps({'otlp_tls_ca_dir': '{bad}/expired'})],
         [r'expired on', r'rotate the CA']),
    Case('ca-key-and-certificate-do-not-match', 'playbooks/site.yml',
         LIM_COL + ['-e', json.dumps({'otlp_tls_ca_dir': '{bad}/mismatch'})],
         [r'do not belong together', r'restore the matching pair']),
    Case('ca-certificate-path-is-a-directory', 'playbooks/site.yml',
         LIM_COL + ['-e', json.dumps({'otlp_tls_ca_dir': '{bad}/directory'})],
         [r'{bad}/directory/ca.crt is a directory', r'point it at a file']),
    Case('ca-key-unreadable', 'playbooks/site.yml', LIM_COL + ['-e', json.dumps({'otlp_tls_ca_dir': '{bad}/garbage'})],
         [r'{bad}/garbage/ca.key', r'not a readable PEM or DER private key']),
    Case('collector-config-fails-validation', 'playbooks/site.yml',
         LIM_COL + ['-e', json.dumps({'otlp_tls_collector_extra_config': {
             'exporters': {'file/traces': {'compression': 'nonsense'}}}})],
         [r'otelcol validate', r'/etc/otelcol/config.yaml was not replaced']),
    Case('collector-binary-missing', 'playbooks/site.yml',
         LIM_COL + ['-e', 'otlp_tls_collector_file=/nonexistent/otelcol_0.165.0_linux_amd64.tar.gz', '-e',
                    'otlp_tls_collector_checksum='],
         [r'otlp_tls_collector_file', r'/nonexistent/otelcol_0.165.0_linux_amd64.tar.gz is not a file on the controller',
          r'point it at']),
    Case('collector-checksum-wrong', 'playbooks/site.yml',
         LIM_COL + ['-e', 'otlp_tls_collector_checksum=sha256:' + '0' * 64],
         [r'sha256 [0-9a-f]{64}', r'0{64}', r'otlp_tls_collector_checksum', r'replace the file or fix the checksum']),
    Case('port-in-use', 'playbooks/site.yml', LIM_COL + ['-e', 'otlp_tls_collector_http_endpoint=0.0.0.0:4399'],
         [r'4399', r'taken by another program', r'python3', r'choose a free port']),
    Case('renew-before-invalid', 'playbooks/site.yml', LIM_COL + ['-e', 'otlp_tls_certificate_renew_before=400'],
         [r'renew_before .400.', r'below validity_days']),
    Case('tls-min-version-too-old', 'playbooks/site.yml', LIM_COL + ['-e', 'otlp_tls_collector_tls_min_version=1.1'],
         [r'tls_min_version', r'1[.]2(,| or) 1[.]3', r'1[.]1']),
    Case('rotate-what-unknown', 'playbooks/rotate.yml', ['-e', 'otlp_tls_rotate=everything'],
         [r'Say what to rotate', r'otlp_tls_rotate=leaf']),
]


def make_bad_cas(out):
    """Broken CA directories, each with ca.crt and ca.key: expired/ (a CA certificate that
    expired yesterday), mismatch/ (a key that does not belong to the certificate), encrypted/ (a
    key encrypted with the passphrase "right"), directory/ (ca.crt is a directory), garbage/
    (ca.key is not a key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def ca_cert(key, days_from, days_to):
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'otlp.tls e2e CA')])
        return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now + datetime.timedelta(days=days_from))
                .not_valid_after(now + datetime.timedelta(days=days_to))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .sign(key, hashes.SHA256()))

    def write(directory, key, cert, passphrase=None):
        os.makedirs(directory, 0o700)
        encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                      else serialization.NoEncryption())
        with open(os.path.join(directory, 'ca.key'), 'wb') as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
        os.chmod(os.path.join(directory, 'ca.key'), 0o600)
        if cert is not None:
            with open(os.path.join(directory, 'ca.crt'), 'wb') as handle:
                handle.write(cert.public_bytes(serialization.Encoding.PEM))

    key = ec.generate_private_key(ec.SECP256R1())
    write(os.path.join(out, 'expired'), key, ca_cert(key, -30, -1))
    write(os.path.join(out, 'mismatch'), ec.generate_private_key(ec.SECP256R1()), ca_cert(key, -1, 300))
    write(os.path.join(out, 'encrypted'), key, ca_cert(key, -1, 300), passphrase=b'right')
    write(os.path.join(out, 'directory'), key, None)
    os.makedirs(os.path.join(out, 'directory', 'ca.crt'))
    write(os.path.join(out, 'garbage'), key, ca_cert(key, -1, 300))
    with open(os.path.join(out, 'garbage', 'ca.key'), 'wb') as handle:
        handle.write(b'-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n')


def split(snapshot):
    """(managed files and CA files, processes) of a Fleet.snapshot()."""
    files = [line for line in snapshot if ' pid ' not in line]
    procs = [line for line in snapshot if ' pid ' in line]
    return files, procs


def squeeze(text):
    return re.sub(r'\s+', ' ', '\n'.join(line for line in text.splitlines() if line.strip()))


@pytest.fixture(scope='module')
def bad(default_fleet):
    fleet = default_fleet
    out = fleet.out_dir('bad')
    make_bad_cas(os.path.join(out, 'cas'))
    fleet.new_runs(load=True)
    fleet.exec('collector-mtls', 'systemd-run', '--unit', 'e2e-squatter', 'python3', '-m', 'http.server', '4399')
    fleet.sh('app-mtls', 'grep -q collector-alias /etc/hosts || '
                         'echo "$(getent hosts collector-mtls | cut -d" " -f1) collector-alias" >> /etc/hosts')
    time.sleep(2)
    files, _procs = split(fleet.snapshot())
    yield {'fleet': fleet, 'out': out, 'cas': os.path.join(out, 'cas')}
    fleet.exec('collector-mtls', 'systemctl', 'stop', 'e2e-squatter', check=False)
    if split(fleet.snapshot())[0] != files:
        # A case changed the fleet after all (its test failed): the next module converges it back.
        fleet.moved('test_bad_inputs: a bad run changed managed files')


def test_snapshot_sees_a_mode_change(bad):
    """The control: the snapshot must see a change, or the cases would prove nothing."""
    fleet = bad['fleet']
    base = fleet.snapshot()
    mode = fleet.exec('collector-tls', 'stat', '-c', '%a', '/etc/otelcol/config.yaml').stdout.strip()
    fleet.exec('collector-tls', 'chmod', '0604', '/etc/otelcol/config.yaml')
    try:
        changed = fleet.snapshot()
    finally:
        fleet.exec('collector-tls', 'chmod', mode, '/etc/otelcol/config.yaml')
    assert changed != base, 'the snapshot does not see a mode change'
    files, procs = split(base)
    with open(os.path.join(bad['out'], 'summary.txt'), 'a') as handle:
        handle.write('snapshot: %d managed files and %d processes on %d hosts, %d CA files; a mode change is seen\n'
                     % (len([f for f in files if not f.startswith('ca ')]), len(procs), len(fleet.hosts),
                        len([f for f in files if f.startswith('ca ')])))


@pytest.mark.parametrize('case', CASES, ids=[case.id for case in CASES])
def test_bad_input(bad, case):
    fleet, cas = bad['fleet'], bad['cas']
    args = [arg.replace('{bad}', cas) for arg in case.args]
    before = fleet.snapshot()
    result = fleet.play(case.playbook, *args, log=os.path.join(bad['out'], case.id + '.log'))
    after = fleet.snapshot()
    problems = []
    if result.rc == 0:
        problems.append('the run succeeded')
    text = squeeze(result.out)
    missing = [pattern for pattern in case.patterns
               if not re.search(pattern.replace('{bad}', re.escape(cas)), text, re.I)]
    if missing:
        problems.append('the message does not match %s' % missing)
    (files_before, procs_before), (files_after, procs_after) = split(before), split(after)
    if files_before != files_after:
        problems.append('files changed: %s' % sorted(set(files_before) ^ set(files_after))[:6])
    if procs_before != procs_after:
        problems.append('processes changed: %s' % sorted(set(procs_before) ^ set(procs_after))[:6])
    found = [re.search(r'.{0,80}%s.{0,80}' % pattern.replace('{bad}', re.escape(cas)), text, re.I)
             for pattern in case.patterns[:1]]
    with open(os.path.join(bad['out'], 'summary.txt'), 'a') as handle:
        handle.write('%s %s: %s\n' % ('FAIL' if problems else 'ok  ', case.id,
                                      '; '.join(problems) if problems else (found[0].group(0) if found[0] else '')))
    assert not problems, '%s (log: %s)' % ('; '.join(problems), result.path)
