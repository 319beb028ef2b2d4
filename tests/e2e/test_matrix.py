# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The language x protocol x TLS matrix: real SDK apps (Python, Go, Java, Node.js) as systemd
units, configured only by the exporter role's drop-ins, send 20 numbered spans each over gRPC
and HTTP/protobuf to the real collector, with mTLS (app-mtls, Debian 12) and with server TLS
(app-tls, Debian 13), and with mTLS from Debian 11 (app-bullseye) in the languages its runtimes
support; clients without a certificate, with another CA's or with an expired one are refused by
the mTLS collector.

One test per cell and per refused client:

    pytest tests/e2e/test_matrix.py -k "java and grpc and mtls"
    pytest tests/e2e/test_matrix.py -k bullseye
    pytest tests/e2e/test_matrix.py -k "refused and expired"

Only the selected cells' apps are started (each a fresh run: its spans are told apart from
earlier runs by e2e.run, systemd's invocation id). The results go to
.tmp/e2e/results/matrix.json; conftest.py prints the matrix and writes it into README.md with
--e2e-readme (tests/e2e/run.sh --readme).
"""

from __future__ import absolute_import, division, print_function

import concurrent.futures
import datetime
import json
import os
import time

import pytest

import fleetlib

EXPECTED = 20
WAIT = 90  # seconds for every app's spans to arrive (verify.yml waited 45 x 2 s)
# language-protocol-host: app-mtls and app-tls give the mtls and tls cells (bookworm and trixie),
# app-bullseye the bullseye cells (mTLS) of the languages that run there.
CELLS = ['%s-%s-%s' % (language, protocol, fleetlib.cell_suffix(host))
         for language in fleetlib.languages() for host in fleetlib.APPS
         if language in fleetlib.host_languages(host) for protocol in fleetlib.PROTOCOLS]
NEG_DIR = '/root/e2e-negative'
NEGATIVES = {
    'no-certificate': {},
    'other-ca': {'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE': NEG_DIR + '/rogue.pem',
                 'OTEL_EXPORTER_OTLP_CLIENT_KEY': NEG_DIR + '/rogue.key'},
    'expired': {'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE': NEG_DIR + '/expired.pem',
                'OTEL_EXPORTER_OTLP_CLIENT_KEY': NEG_DIR + '/expired.key'},
}
NEG_ENV = {'OTEL_EXPORTER_OTLP_ENDPOINT': 'https://collector-mtls:4317', 'OTEL_EXPORTER_OTLP_PROTOCOL': 'grpc',
           'OTEL_EXPORTER_OTLP_CERTIFICATE': '/etc/otlp-tls/e2e-go-grpc/ca.pem', 'OTEL_TRACES_EXPORTER': 'otlp',
           'OTEL_METRICS_EXPORTER': 'none', 'OTEL_LOGS_EXPORTER': 'none', 'E2E_SPANS': '5', 'E2E_RATE': '50'}
ROGUE = r'''set -eu
mkdir -p /root/e2e-negative && cd /root/e2e-negative
[ -e rogue.pem ] && exit 0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj '/CN=otlp.tls e2e CA' \
  -keyout rogue-ca.key -out rogue-ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj '/CN=rogue-client' \
  -keyout rogue.key -out rogue.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > ext
openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial -days 30 \
  -extfile ext -out rogue.pem 2>/dev/null
'''


def expired_certificate(ca_dir):
    """A client key and certificate signed by the fleet's own CA that expired yesterday (PEM
    bytes): the CA signs nothing expired on purpose, so the test makes one with the same library."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    with open(os.path.join(ca_dir, 'ca.key'), 'rb') as handle:
        ca_key = serialization.load_pem_private_key(handle.read(), password=None)
    with open(os.path.join(ca_dir, 'ca.crt'), 'rb') as handle:
        ca_cert = x509.load_pem_x509_certificate(handle.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'expired-client')]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10)).not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()), cert.public_bytes(serialization.Encoding.PEM))


def selected(request, name):
    """The parameters ``name`` of this module's selected tests (-k, node ids)."""
    return sorted(set(item.callspec.params[name] for item in request.session.items
                      if item.module is request.module and hasattr(item, 'callspec') and name in item.callspec.params))


def start_cells(fleet, cells):
    """(Re)start the cells' app units, as configured by the role only (the load drop-ins of other
    modules removed): service -> the run id (systemd's InvocationID) of this start."""
    runs = {}
    for host in fleet.apps:
        mode = host[len('app-'):]
        units = ['e2e-%s-%s' % tuple(cell.split('-')[:2]) for cell in cells if cell.endswith('-' + mode)]
        fleet.sh(host, 'rm -f /etc/systemd/system/e2e-*.service.d/10-e2e-load.conf && systemctl daemon-reload')
        if not units:
            continue
        fleet.exec(host, 'systemctl', 'restart', *units)
        for unit in units:
            run = fleet.exec(host, 'systemctl', 'show', '-p', 'InvocationID', '--value', unit).stdout.strip()
            runs['%s-%s' % (unit[len('e2e-'):], mode)] = run
    return runs


def run_negative(fleet, name):
    """The real Go SDK app on app-mtls as a client the mTLS collector must refuse; its exit code
    (timeout ends it after 8 s: it stays up after sending; 124 is that, anything else a crash)."""
    env = dict(NEG_ENV, OTEL_SERVICE_NAME='neg-' + name, **NEGATIVES[name])
    return fleet.exec('app-mtls', 'timeout', '8', '/opt/e2e/go/run', env=env, check=False).returncode


def received(fleet, runs):
    """service -> (spans, distinct e2e.seq, highest) of this run of each cell, over both collectors."""
    seen = {}
    for host in fleet.collectors:
        for line in fleet.count_spans(host, '--name', 'e2e-span', '--by-run', '/var/lib/otelcol/traces.json'):
            service, run, spans, distinct, highest = line.split()[:5]
            if runs.get(service) == run:
                seen[service] = (int(spans), int(distinct), int(highest))
    return seen


@pytest.fixture(scope='module')
def matrix(request, default_fleet):
    fleet = default_fleet
    out = fleet.out_dir('matrix')
    cells, negatives = selected(request, 'cell'), selected(request, 'negative')
    request.config._e2e_matrix_ran = True  # pylint: disable=protected-access
    key, cert = expired_certificate(fleet.ca_dir)
    fleet.sh('app-mtls', ROGUE)
    fleet.exec('app-mtls', 'sh', '-c', 'umask 077 && cat > %s/expired.key' % NEG_DIR, input=key)
    fleet.exec('app-mtls', 'sh', '-c', 'cat > %s/expired.pem' % NEG_DIR, input=cert)
    began = time.time()
    runs = start_cells(fleet, cells)
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(run_negative, fleet, name) for name in negatives}
        deadline = time.time() + WAIT
        seen = received(fleet, runs)
        while time.time() < deadline and not all(seen.get(cell, (0, 0, 0))[1] >= EXPECTED for cell in cells):
            time.sleep(2)
            seen = received(fleet, runs)
        codes = {name: future.result() for name, future in futures.items()}
    refused = {}
    for host in fleet.collectors:
        for line in fleet.count_spans(host, '/var/lib/otelcol/traces.json', *['neg-' + n for n in negatives]):
            service, spans = line.split()[:2]
            refused[service] = refused.get(service, 0) + int(spans)
    results = dict((cell, list(seen.get(cell, (0, 0, 0)))) for cell in cells)
    results.update(('neg-' + name, [refused.get('neg-' + name, 0), 0, 0]) for name in negatives)
    with open(os.path.join(fleet.work, 'results', 'matrix.json'), 'w') as handle:
        json.dump(results, handle, indent=1, sort_keys=True)
    with open(os.path.join(out, 'runs.json'), 'w') as handle:
        json.dump({'runs': runs, 'negative_rc': codes, 'seconds': round(time.time() - began)}, handle, indent=1)
    return {'seen': seen, 'codes': codes, 'refused': refused, 'runs': runs}


@pytest.mark.parametrize('cell', CELLS)
def test_cell(matrix, cell):
    """language-protocol-mode: all 20 numbered spans of the app's run arrived."""
    assert cell in matrix['runs'], 'the unit of %s was not started' % cell
    spans, distinct, highest = matrix['seen'].get(cell, (0, 0, 0))
    assert distinct == EXPECTED, '%s: %d of %d distinct spans arrived (%d in all, highest seq %d; run %s)' % (
        cell, distinct, EXPECTED, spans, highest, matrix['runs'][cell])


@pytest.mark.parametrize('negative', sorted(NEGATIVES))
def test_refused(matrix, negative):
    """The mTLS collector refuses the real Go SDK client: it ran (no crash) and 0 spans arrived."""
    code = matrix['codes'][negative]
    assert code in (0, 124), 'the %s client crashed: rc %d' % (negative, code)
    assert matrix['refused'].get('neg-' + negative, 0) == 0, 'spans of the %s client were recorded' % negative
