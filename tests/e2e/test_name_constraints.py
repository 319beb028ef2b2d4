# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Name constraints, end to end: the real collector and real SDKs refuse a certificate of a
constrained CA for a name outside its constraints, even though the CA key signed it.

    cd /work/main && source scripts/env.sh
    pytest -q -p no:cacheprovider tests/e2e/test_name_constraints.py       # ~25 s warm
    E2E_NC_LANGUAGES="python go node java" E2E_NC_PARALLEL=2 E2E_NC_RUN_TIMEOUT=60 pytest ...

Languages: Python and Go are required (built or waited for via their build.sh); Node runs
by default and Java on request (E2E_NC_LANGUAGES), each only when its app build is cached.
Everything runs on this machine, on loopback, as plain processes; work files go to
.tmp/e2e-nc/ (pki/, collector configs and logs, each app run's stdout/stderr under runs/,
results.md with the table the run prints).

Certificates (name_constraints/certs.py, made with the collection's pki.py): a CA with
critical nameConstraints (DNS ``otlp.test``, IP ``127.0.0.0/8``) and leaves signed directly
with its key (pki.sign_csr signs whatever a CSR asks for, as a stolen CA key or a buggy
signer would): inside, servers ``collector.otlp.test`` + IP 127.0.0.1 and
``collector.otlp.test`` alone, client ``app.otlp.test``; outside, servers
``collector.evil.example`` and ``localhost``, client ``app.evil.example``. A second CA,
constrained to ``127.0.0.1/32``, signs a server whose only SAN is IP 127.0.0.2 (its CN is
inside, so only the IP can be at fault). Each CA has a "twin": the same key and subject
without the extension, under which every one of these leaves verifies.

Two collectors ($OTLP_TLS_COLLECTOR_BIN), each with OTLP receivers (gRPC and HTTP, TLS, free
ports) feeding one file exporter:

- "honest", 127.0.0.1: ``mtls`` (client_ca_file = the constrained CA) and ``mtlstwin``
  (client_ca_file = its twin), both serving ``collector.otlp.test`` without an IP SAN (so
  that every client stack can reach them, see grpcio below); ``tls`` serving
  ``collector.otlp.test`` + IP 127.0.0.1, reached by IP and by name.
- "rogue", the outside servers: ``evil`` and ``localhost`` on 127.0.0.1, ``ipout`` on
  127.0.0.2 (all of 127.0.0.0/8 is loopback on Linux).

Clients are the e2e apps (tests/e2e/apps), configured only by OTEL_EXPORTER_OTLP_* (endpoint,
PROTOCOL, CERTIFICATE, CLIENT_KEY/CLIENT_CERTIFICATE, TIMEOUT), each sending 10 spans under
its own service.name over gRPC and over HTTP/protobuf, stopped by PID after at most
RUN_TIMEOUT (30 s). Spans are counted per service.name in both collectors' output.

Names: the endpoints use the names the certificates carry, so a verifier has nothing to
object to but the constraint. ``collector.otlp.test`` and ``collector.evil.example`` are in
no DNS, and no SDK lets the environment override name resolution, so each app runs in a
private mount namespace (``unshare --mount``; ``--map-root-user`` when not root) in which
/etc/hosts is bind-mounted to a copy that maps both names to 127.0.0.1. The machine's
/etc/hosts is never touched. ``localhost`` resolves as usual, and the IP cases
(https://127.0.0.1, https://127.0.0.2) use no name at all. Without a usable mount namespace
the module is skipped and says why.

What must hold, for every SDK and both protocols:

- the collector refuses the mTLS client ``app.evil.example`` (0 spans; its log names the
  constraint, for the HTTP and the gRPC server) and accepts ``app.otlp.test`` (10 spans);
- an SDK refuses a server outside the constraints (``collector.evil.example``,
  ``localhost``, 127.0.0.2 under 127.0.0.1/32): 0 spans and an export error in its log; the
  inside servers get 10 spans;
- controls: the same outside certificates are accepted when the verifier trusts the twin,
  so every refusal above is the nameConstraints extension's doing, and not the name, port,
  key, chain or app. A refusal only counts when the app printed "e2e: sent 10 spans" (its
  SDK was configured and tried) and logged an export error.

Known limitations, asserted as such so that a change makes the test fail (then update this
docstring, LIMITATION_NOTES and the docs), and printed as FINDING lines under the table:

- Python gRPC (grpcio, BoringSSL) has no IP nameConstraints support: it refuses EVERY
  certificate with an IP SAN under a CA with IP constraints, inside them or not ("unsupported
  name constraint type"; fails closed). DNS constraints work.
- Java (the agent's exporters, JSSE/PKIX) ignores nameConstraints in the trusted root CA and
  accepts outside servers (fails open); it enforces them only in an intermediate CA.
"""

from __future__ import absolute_import, division, print_function

import collections
import concurrent.futures
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
WORK = os.path.join(ROOT, '.tmp', 'e2e-nc')
SPANS = 10
RUN_TIMEOUT = int(os.environ.get('E2E_NC_RUN_TIMEOUT', '30'))  # seconds, per app run
EXPORT_TIMEOUT_MS = 3000  # the SDKs' OTEL_EXPORTER_OTLP_TIMEOUT: bounds a refused export
PARALLEL = int(os.environ.get('E2E_NC_PARALLEL', '4'))
REQUIRED_LANGUAGES = ('python', 'go')
LANGUAGES = os.environ.get('E2E_NC_LANGUAGES', 'python go node').split()
LABELS = {'python': 'Python', 'go': 'Go', 'node': 'Node.js', 'java': 'Java agent'}
PROTOCOLS = (('grpc', 'grpc'), ('http', 'http/protobuf'))
NAMES_IN_HOSTS = ('collector.otlp.test', 'collector.evil.example')


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


certs_mod = _load('nc_certs', os.path.join(HERE, 'name_constraints', 'certs.py'))
count_spans = _load('nc_count_spans', os.path.join(ROOT, 'tests', 'files', 'count_spans.py'))

# What is tried. receiver = (collector, receiver name); host = the name or address in the
# endpoint; ca = the file the SDK trusts (OTEL_EXPORTER_OTLP_CERTIFICATE); client = the client
# certificate for mTLS; verifier = who must refuse ("-": both sides must accept); control = the
# row proves that a refusal elsewhere is the constraint's doing.
Case = collections.namedtuple('Case', 'key what receiver host ca client expect verifier control')
CASES = [
    Case('mtls-inside', 'mTLS: client app.otlp.test -> server collector.otlp.test (both inside)',
         ('honest', 'mtls'), 'collector.otlp.test', 'ca', 'client-in', 'pass', '-', False),
    Case('client-outside', 'mTLS: client app.evil.example (outside) -> collector.otlp.test',
         ('honest', 'mtls'), 'collector.otlp.test', 'ca', 'client-evil', 'refused', 'collector', False),
    Case('client-outside-twin', 'control: same client, collector trusts the unconstrained twin',
         ('honest', 'mtlstwin'), 'collector.otlp.test', 'ca', 'client-evil', 'pass', '-', True),
    Case('server-inside-ip', 'TLS: server https://127.0.0.1 (cert collector.otlp.test + IP 127.0.0.1)',
         ('honest', 'tls'), '127.0.0.1', 'ca', None, 'pass', '-', False),
    Case('server-inside-name-ip', 'TLS: same server by name https://collector.otlp.test',
         ('honest', 'tls'), 'collector.otlp.test', 'ca', None, 'pass', '-', False),
    Case('server-outside-dns', 'TLS: server https://collector.evil.example (outside otlp.test)',
         ('rogue', 'evil'), 'collector.evil.example', 'ca', None, 'refused', 'SDK', False),
    Case('server-outside-dns-twin', 'control: same server, SDK trusts the unconstrained twin',
         ('rogue', 'evil'), 'collector.evil.example', 'ca-twin', None, 'pass', '-', True),
    Case('server-outside-localhost', 'TLS: server https://localhost (outside otlp.test)',
         ('rogue', 'localhost'), 'localhost', 'ca', None, 'refused', 'SDK', False),
    Case('server-outside-localhost-twin', 'control: same server, SDK trusts the unconstrained twin',
         ('rogue', 'localhost'), 'localhost', 'ca-twin', None, 'pass', '-', True),
    Case('server-outside-ip', 'TLS: server https://127.0.0.2, CA permits 127.0.0.1/32 only',
         ('rogue', 'ipout'), '127.0.0.2', 'ca-ip', None, 'refused', 'SDK', False),
    Case('server-outside-ip-twin', 'control: same server, SDK trusts the unconstrained twin',
         ('rogue', 'ipout'), '127.0.0.2', 'ca-ip-twin', None, 'pass', '-', True),
]
# The server certificate each receiver serves, its address, and the client CA it trusts.
RECEIVERS = {
    'honest': {'mtls': ('127.0.0.1', 'server-in-dns', 'ca'), 'mtlstwin': ('127.0.0.1', 'server-in-dns', 'ca-twin'),
               'tls': ('127.0.0.1', 'server-in', None)},
    'rogue': {'evil': ('127.0.0.1', 'server-evil', None), 'localhost': ('127.0.0.1', 'server-localhost', None),
              'ipout': ('127.0.0.2', 'server-ip-out', None)},
}

# Known SDK limitations, pinned so that a change shows (the row fails and this table, the
# docstring and the docs need an update):
# - gRPC C-core (grpcio, the Python gRPC exporter) verifies with BoringSSL's X509 code, whose
#   name-constraint matching has no case for IP addresses (google/boringssl
#   crypto/x509/v3_ncons.cc, nc_match_single: GEN_IPADD -> X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE).
#   It refuses EVERY certificate carrying an IP SAN under a CA with IP constraints, inside them
#   or not: it fails closed.
# - Java (JSSE/PKIX, used by the Java agent's exporters) ignores nameConstraints in a trust
#   anchor: OTEL_EXPORTER_OTLP_CERTIFICATE's self-signed CA becomes a TrustAnchor without
#   constraints (PKIX refuses anchor constraints outright: "name constraints in trust anchor
#   not supported"). It enforces them only in intermediate CAs, so it accepts every server the
#   CA key signed: it fails open.
NO_IP_CONSTRAINTS = {('python', 'grpc'): 'unsupported name constraint type'}
IGNORES_ANCHOR_CONSTRAINTS = ('java',)
LIMITATION_NOTES = {
    'refused (limitation)': 'grpcio (BoringSSL) does not implement IP nameConstraints: it refuses any '
                            'certificate with an IP SAN under a CA with IP constraints, even inside them '
                            '(fails closed)',
    'ACCEPTED (limitation)': 'Java ignores nameConstraints in the trusted (root) CA certificate and accepts '
                             'servers outside them (fails open); it enforces them only in intermediate CAs',
}

# An app's line that says its export failed, and the most telling part of it for the table.
EXPORT_ERROR = re.compile(r'(?i)(fail|error|exception|unavailable|refused|broken pipe|connection reset|'
                          r'bad.certificate)')
DETAIL = [re.compile(p) for p in (
    r'(?i)unsupported name constraint type',
    r'(DNS name|IP address) "[^"]+" is not permitted by any constraint',
    r'(?i)not authorized to sign for this name[^"\n]*',
    r'(?i)is not permitted by any constraint',
    r'(?i)permitted subtree violation',
    r'(?i)name ?constraints?[^"\n]{0,60}',
    r'(?i)x509:[^"\n]{0,80}',
    r'(?i)(remote error: )?tls: [^"\n]{0,60}',
    r'(?i)CERTIFICATE_VERIFY_FAILED[^"\n]{0,40}',
    r'(?i)certificate verify failed[^"\n)]{0,60}',
    r'(?i)SSLHandshakeException[^\n]{0,80}',
    r'(?i)CertPathValidatorException[^\n]{0,80}',
    r'(?i)(bad|unknown|unsupported) certificate',
    r'(?i)handshake[^"\n]{0,60}',
    r'(?i)StatusCode\.[A-Z_]+',
    r'(?i)(broken pipe|connection reset[^"\n]{0,40})',
)]

STARTED = []  # every process this module started: (Popen, what) - stopped by PID on teardown


# ---------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------

def stop(proc, grace=10):
    """SIGTERM by PID, SIGKILL after ``grace`` seconds; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def start(argv, log, env=None, what='', stdout=None):
    out = open(stdout or log, 'wb')
    err = out if stdout is None else open(log, 'wb')
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=WORK)
    finally:
        out.close()
        if err is not out:
            err.close()
    STARTED.append((proc, what))
    return proc


def free_ports(host, count):
    """``count`` distinct ports free on ``host`` right now (all held at once, then released)."""
    socks = []
    try:
        for _index in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def tail(path, lines=30):
    try:
        with open(path, 'rb') as handle:
            return b''.join(handle.readlines()[-lines:]).decode('utf-8', 'replace')
    except OSError:
        return ''


# ---------------------------------------------------------------------------
# collectors
# ---------------------------------------------------------------------------

class Collector(object):
    """One otelcol process with TLS OTLP receivers (name -> host, server cert/key, client CA)."""

    def __init__(self, binary, name, receivers, log_level='info'):
        self.binary, self.name = binary, name
        self.dir = os.path.join(WORK, 'collector-' + name)
        os.makedirs(self.dir)
        self.traces = os.path.join(self.dir, 'traces.json')
        self.log = os.path.join(self.dir, 'collector.log')
        self.config = os.path.join(self.dir, 'config.yaml')
        self.endpoints = {}
        self.health = free_ports('127.0.0.1', 1)[0]
        config_receivers = {}
        for rname, (host, cert, key, client_ca) in sorted(receivers.items()):
            grpc_port, http_port = free_ports(host, 2)
            tls = {'cert_file': cert, 'key_file': key, 'min_version': '1.2'}
            if client_ca:
                tls['client_ca_file'] = client_ca
            self.endpoints[rname] = {'grpc': (host, grpc_port), 'http': (host, http_port)}
            config_receivers['otlp/' + rname] = {'protocols': {
                'grpc': {'endpoint': '%s:%d' % (host, grpc_port), 'tls': dict(tls)},
                'http': {'endpoint': '%s:%d' % (host, http_port), 'tls': dict(tls)}}}
        config = {
            'receivers': config_receivers,
            'exporters': {'file': {'path': self.traces, 'flush_interval': '100ms'}},
            'extensions': {'health_check': {'endpoint': '127.0.0.1:%d' % self.health}},
            'service': {
                'extensions': ['health_check'],
                # No internal metrics server: it would take a fixed port (8888) on this shared machine.
                'telemetry': {'metrics': {'level': 'none'}, 'logs': {'level': log_level}},
                'pipelines': {'traces': {'receivers': sorted(config_receivers), 'exporters': ['file']}},
            },
        }
        # JSON is YAML.
        with open(self.config, 'w') as handle:
            json.dump(config, handle, indent=2)
        self.proc = None

    def start(self, timeout=30):
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': os.environ.get('HOME', '/root')}
        self.proc = start([self.binary, '--config', self.config], self.log, env=env, what='collector ' + self.name)
        deadline = time.monotonic() + timeout
        url = 'http://127.0.0.1:%d/' % self.health
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError('collector %s exited with %s:\n%s'
                                     % (self.name, self.proc.returncode, tail(self.log)))
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise AssertionError('collector %s not healthy after %d s:\n%s' % (self.name, timeout, tail(self.log)))

    def spans(self):
        if not os.path.exists(self.traces):
            return collections.Counter()
        return count_spans.count(self.traces)[0]

    def handshake_errors(self):
        """(receiver id, reason) of every TLS handshake error the collector logged."""
        out = []
        with open(self.log, 'rb') as handle:
            for line in handle.read().decode('utf-8', 'replace').splitlines():
                if 'handshake' not in line.lower():
                    continue
                line = line.replace('\\"', '"')
                receiver = re.search(r'"otelcol\.component\.id": "([^"]+)"', line)
                receiver = receiver.group(1) if receiver else ('gRPC server' if '"grpc_log": true' in line else '?')
                reason = re.search(r'(failed to verify certificate: [^\t{]*|x509: [^\t{]*)', line)
                out.append((receiver, (reason.group(1) if reason else line).strip().rstrip('"')))
        return out


# ---------------------------------------------------------------------------
# apps
# ---------------------------------------------------------------------------

def app_dir(language, required):
    """The built app's directory, or None. Required apps are built (or waited for) when not cached."""
    script = os.path.join(HERE, 'apps', language, 'build.sh')
    argv = ['bash', script] + ([] if required else ['--cached'])
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800, check=False)
    except subprocess.TimeoutExpired:
        return None, 'build.sh timed out'
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines or not os.path.isfile(os.path.join(lines[-1], 'run')):
        return None, 'build.sh exited %d: %s' % (proc.returncode, proc.stderr.decode('utf-8', 'replace')[-500:])
    return lines[-1], None


def namespace_wrapper(hosts_file):
    """argv prefix that runs a command with ``hosts_file`` as its /etc/hosts, or None when impossible."""
    if not shutil.which('unshare'):
        return None
    script = 'mount --bind "$0" /etc/hosts && exec "$@"'
    for flags in (['--mount'], ['--mount', '--map-root-user']):
        prefix = ['unshare'] + flags + ['--propagation', 'private', 'sh', '-c', script, hosts_file]
        try:
            proc = subprocess.run(prefix + ['getent', 'hosts', 'collector.evil.example'], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            continue
        if proc.returncode == 0 and proc.stdout.split()[:1] == [b'127.0.0.1']:
            return prefix
    return None


def detail(text):
    text = text.replace('\\"', '"')
    for pattern in DETAIL:
        match = pattern.search(text)
        if match:
            return match.group(0).strip()
    return ''


def run_app(language, directory, wrapper, case, host, endpoint, protocol, certs, service):
    """Run one app until it says it sent its spans (or RUN_TIMEOUT), stop it; return what it did."""
    env = {
        'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
        'HOME': os.environ.get('HOME', '/root'),
        'LANG': 'C.UTF-8',
        'OTEL_SERVICE_NAME': service,
        'OTEL_TRACES_EXPORTER': 'otlp',
        'OTEL_METRICS_EXPORTER': 'none',
        'OTEL_LOGS_EXPORTER': 'none',
        'OTEL_EXPORTER_OTLP_PROTOCOL': protocol,
        'OTEL_EXPORTER_OTLP_ENDPOINT': 'https://%s:%d' % (host, endpoint[1]),
        'OTEL_EXPORTER_OTLP_CERTIFICATE': certs[case.ca]['cert'],
        # Python reads seconds, the others milliseconds (see plugins/filter/exporter_env.py).
        'OTEL_EXPORTER_OTLP_TIMEOUT': (str(EXPORT_TIMEOUT_MS // 1000) if language == 'python'
                                       else str(EXPORT_TIMEOUT_MS)),
        'E2E_SPANS': str(SPANS),
        'E2E_RATE': '50',
    }
    if language == 'java':
        # The Java app cannot force a flush: it waits for the batch processor's next export.
        env['OTEL_BSP_SCHEDULE_DELAY'] = '200'
    if language == 'node':
        # A failed scheduled export goes to the diag logger, silent unless a level is set.
        env['OTEL_LOG_LEVEL'] = 'warn'
    if case.client:
        env['OTEL_EXPORTER_OTLP_CLIENT_KEY'] = certs[case.client]['key']
        env['OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'] = certs[case.client]['cert']
    base = os.path.join(WORK, 'runs', service)
    argv = (wrapper or []) + [os.path.join(directory, 'run')]
    began = time.monotonic()
    proc = start(argv, base + '.err', env=env, what=service, stdout=base + '.out')
    sent = None
    try:
        while time.monotonic() - began < RUN_TIMEOUT:
            with open(base + '.out', 'rb') as handle:
                match = re.search(br'e2e: sent (\d+) spans', handle.read())
            if match:
                sent = int(match.group(1))
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        rc = stop(proc)
    elapsed = time.monotonic() - began
    with open(base + '.err', 'rb') as handle:
        err = handle.read().decode('utf-8', 'replace')
    with open(base + '.out', 'rb') as handle:
        out = handle.read().decode('utf-8', 'replace')
    error_lines = [line for line in (err + '\n' + out).splitlines()
                   if EXPORT_ERROR.search(line) and not line.startswith('e2e: sent')]
    return {'sent': sent, 'rc': rc, 'elapsed': elapsed, 'errors': error_lines,
            'detail': detail(err + '\n' + out), 'endpoint': env['OTEL_EXPORTER_OTLP_ENDPOINT']}


# ---------------------------------------------------------------------------
# the matrix
# ---------------------------------------------------------------------------

def expectation(language, protocol, case, certs):
    """(expected outcome, text the app log must contain or None, label) for one run."""
    server = certs[RECEIVERS[case.receiver[0]][case.receiver[1]][1]]
    must_say = NO_IP_CONSTRAINTS.get((language, protocol))
    if must_say and server['ips'] and certs[case.ca]['permitted_ips']:
        return 'refused', must_say, 'refused (limitation)'
    if language in IGNORES_ANCHOR_CONSTRAINTS and case.verifier == 'SDK':
        return 'pass', None, 'ACCEPTED (limitation)'
    return case.expect, None, case.expect


def judge(row):
    """'ok' when the row met its expectation, else what was wrong."""
    problems = []
    if row['sent'] != SPANS:
        problems.append('the app did not report sending (sent=%s, rc=%s)' % (row['sent'], row['rc']))
    if row['expect'] == 'pass':
        if row['spans_target'] != SPANS or row['spans_total'] != SPANS:
            problems.append('%d spans arrived (%d at the target), wanted %d'
                            % (row['spans_total'], row['spans_target'], SPANS))
    else:
        if row['spans_total'] != 0:
            problems.append('%d spans arrived, wanted 0' % row['spans_total'])
        if not row['errors']:
            problems.append('the app logged no export error')
        if row['must_say'] and not any(row['must_say'] in line for line in row['errors']):
            problems.append('the app log does not say %r' % row['must_say'])
    return 'ok' if not problems else '; '.join(problems)


def table(rows):
    head = ['SDK', 'protocol', 'case', 'expected', 'refused by', 'spans', 'result', 'evidence (app log)']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for row in rows:
        case = row['case']
        refuser = case.verifier
        if row['expect'] != case.expect:
            refuser = 'SDK' if row['expect'] == 'refused' else 'nobody (SDK should)'
        result = 'PASS' if row['verdict'] == 'ok' else 'FAIL: ' + row['verdict']
        evidence = row['detail'] if row['expect'] == 'refused' or row['verdict'] != 'ok' else ''
        lines.append('| %s | %s | %s | %s | %s | %d/%d | %s | %s |' % (
            LABELS[row['language']], row['protocol'], case.what, row['label'],
            refuser, row['spans_total'], SPANS, result,
            evidence.replace('|', '/')[:100]))
    return '\n'.join(lines)


@pytest.fixture(scope='module')
def matrix(request):
    binary = os.environ.get('OTLP_TLS_COLLECTOR_BIN', '')
    if not binary or not os.access(binary, os.X_OK):
        pytest.skip('no collector binary: OTLP_TLS_COLLECTOR_BIN=%r (source scripts/env.sh after '
                    'scripts/setup.sh)' % binary)
    apps, unavailable = {}, {}
    for language in LANGUAGES:
        directory, why = app_dir(language, language in REQUIRED_LANGUAGES)
        if directory:
            apps[language] = directory
        elif language in REQUIRED_LANGUAGES:
            pytest.skip('the %s e2e app is not available: %s' % (language, why))
        else:
            unavailable[language] = why

    began = time.monotonic()
    if os.path.isdir(WORK):
        shutil.rmtree(WORK)
    os.makedirs(os.path.join(WORK, 'runs'))
    hosts_file = os.path.join(WORK, 'hosts')
    with open('/etc/hosts') as handle:
        system_hosts = handle.read()
    with open(hosts_file, 'w') as handle:
        handle.write(system_hosts.rstrip('\n') + '\n# tests/e2e/test_name_constraints.py\n')
        for name in NAMES_IN_HOSTS:
            handle.write('127.0.0.1 %s\n' % name)
    wrapper = namespace_wrapper(hosts_file)
    if wrapper is None:
        pytest.skip('needs a private mount namespace (unshare --mount, as root or with user namespaces) to '
                    'resolve %s to 127.0.0.1: no SDK lets the environment override name resolution'
                    % ' and '.join(NAMES_IN_HOSTS))
    certs = certs_mod.make(os.path.join(WORK, 'pki'))

    def receivers(collector):
        out = {}
        for name, (host, leaf, client_ca) in RECEIVERS[collector].items():
            out[name] = (host, certs[leaf]['cert'], certs[leaf]['key'], certs[client_ca]['cert'] if client_ca else None)
        return out

    # The honest collector logs at debug level: that is where its gRPC server reports handshake errors.
    collectors = {'honest': Collector(binary, 'honest', receivers('honest'), log_level='debug'),
                  'rogue': Collector(binary, 'rogue', receivers('rogue'))}

    def teardown():
        for proc, _what in reversed(STARTED):
            stop(proc)
    request.addfinalizer(teardown)
    for collector in collectors.values():
        collector.start()

    rows = []
    for language in LANGUAGES:
        if language not in apps:
            continue
        for short, protocol in PROTOCOLS:
            for case in CASES:
                expect, must_say, label = expectation(language, short, case, certs)
                rows.append({'language': language, 'protocol': short, 'case': case, 'expect': expect,
                             'must_say': must_say, 'label': label,
                             'service': 'nc-%s-%s-%s' % (language, short, case.key),
                             'args': (language, apps[language], wrapper, case, case.host,
                                      collectors[case.receiver[0]].endpoints[case.receiver[1]][short], protocol,
                                      certs, 'nc-%s-%s-%s' % (language, short, case.key))})
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {pool.submit(run_app, *row.pop('args')): row for row in rows}
        for future in concurrent.futures.as_completed(futures):
            futures[future].update(future.result())

    # Every app has exited: what it exported is in the collectors' buffers; the file exporter
    # flushes every 100 ms. Wait until every expected span is there (or 10 s), then 1 s more
    # so that a stray span of a refused run would show too.
    def counts():
        return {name: collector.spans() for name, collector in collectors.items()}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = counts()
        if all(sum(c.get(row['service'], 0) for c in got.values()) >= SPANS
               for row in rows if row['expect'] == 'pass'):
            break
        time.sleep(0.3)
    time.sleep(1)
    got = counts()
    for row in rows:
        row['spans_total'] = sum(c.get(row['service'], 0) for c in got.values())
        row['spans_target'] = got[row['case'].receiver[0]].get(row['service'], 0)
        row['verdict'] = judge(row)
    for name, collector in collectors.items():
        assert collector.proc.poll() is None, 'collector %s died:\n%s' % (name, tail(collector.log))

    handshakes = collections.Counter(collectors['honest'].handshake_errors())
    elapsed = time.monotonic() - began
    text = table(rows)
    notes = ['']
    for label, note in sorted(LIMITATION_NOTES.items()):
        if any(row['label'] == label and row['verdict'] == 'ok' for row in rows):
            notes.append('FINDING, %s: %s.' % (label, note))
    notes.append('TLS handshake errors the honest collector logged (receiver, reason, count):')
    notes += ['  %s: %s (x%d)' % (receiver, reason[:220], n) for (receiver, reason), n in sorted(handshakes.items())]
    notes.append('names resolved through a private mount namespace with %s as /etc/hosts' % hosts_file)
    for language, why in sorted(unavailable.items()):
        notes.append('%s: not run (%s)' % (language, why.strip()[-200:]))
    notes.append('%d app runs, %d at a time, %.0f s' % (len(rows), PARALLEL, elapsed))
    with open(os.path.join(WORK, 'results.md'), 'w') as handle:
        handle.write(text + '\n' + '\n'.join(notes) + '\n')
    # Shown even under -q and output capture (the table is the point of the run).
    reporter = request.config.pluginmanager.get_plugin('terminalreporter')
    capture = request.config.pluginmanager.get_plugin('capturemanager')
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line('')
            for line in text.splitlines() + notes:
                reporter.write_line(line)
    else:
        print(text + '\n' + '\n'.join(notes))
    return {'rows': rows, 'certs': certs, 'collectors': collectors, 'handshakes': handshakes}


def _failures(rows):
    return ['%s %s %s: %s (app log: .tmp/e2e-nc/runs/%s.err)' % (row['language'], row['protocol'], row['case'].key,
                                                                 row['verdict'], row['service'])
            for row in rows if row['verdict'] != 'ok']


def test_every_required_sdk_ran_every_case(matrix):
    for language in REQUIRED_LANGUAGES:
        ran = {(row['protocol'], row['case'].key) for row in matrix['rows'] if row['language'] == language}
        assert ran == {(short, case.key) for short, _protocol in PROTOCOLS for case in CASES}, (
            '%s did not run every case (E2E_NC_LANGUAGES must include %s)'
            % (language, ' and '.join(REQUIRED_LANGUAGES)))


def test_collector_refuses_a_client_outside_the_constraints(matrix):
    rows = [row for row in matrix['rows'] if row['case'].key in ('mtls-inside', 'client-outside')]
    assert not _failures(rows), '\n'.join(_failures(rows))
    # The collector says why, on the constrained receiver only (its HTTP server logs every
    # handshake error; the twin receiver accepted the same certificate).
    reasons = matrix['handshakes']
    for server in ('otlp/mtls', 'gRPC server'):
        refused = [n for (receiver, reason), n in reasons.items()
                   if receiver == server and '"app.evil.example" is not permitted by any constraint' in reason]
        assert refused, (server, reasons)
    assert not [key for key in reasons if key[0] == 'otlp/mtlstwin'], reasons


def test_sdks_refuse_a_server_outside_the_constraints(matrix):
    rows = [row for row in matrix['rows'] if row['case'].key.startswith('server-') and not row['case'].control]
    assert not _failures(rows), '\n'.join(_failures(rows))


def test_controls_accept_the_same_certificates_without_the_constraints(matrix):
    rows = [row for row in matrix['rows'] if row['case'].control]
    assert rows
    assert not _failures(rows), '\n'.join(_failures(rows))


def test_every_row_met_its_expectation(matrix):
    assert not _failures(matrix['rows']), '\n'.join(_failures(matrix['rows']))
