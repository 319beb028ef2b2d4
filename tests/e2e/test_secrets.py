# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secrets on the e2e fleet (it moves the fleet to a new, passphrase-protected CA of its own;
the next module that needs the fleet's own CA converges it back, see fleetlib.ensure_default):

1. site.yml at -vvv against a CA whose key is encrypted (all certificates re-issued), then
   rotate.yml leaf at -vvv with keys made on the CA host and copied (the mode in which keys
   pass through task arguments): no line of any output holds a line of any private key (host
   keys, copied keys, the CA key encrypted or not) or the passphrase;
2. every private key is 0600 (apps: owned by the unit's user) or 0640 root:otelcol (collector)
   and its directory is 0750;
3. the CA key never left the CA host: no file on any test host holds it;
4. the mTLS collector refuses its own server certificate presented as a client certificate
   (extended key usage), and refuses TLS 1.1 and 1.0;
5. header values (an app's API key) and the collectors' backend token (tests/e2e/vars.yml), and
   new ones, appear in none of those outputs nor in site.yml --check --diff -vvv and site.yml
   -vvv runs that change them; on the hosts they are only in EnvironmentFile=s 0640 root:<the
   unit's group> (and the collector's 0640 config), in /etc/otlp-tls/env 0711.

    pytest tests/e2e/test_secrets.py
"""

from __future__ import absolute_import, division, print_function

import glob
import os
import re
import secrets as random
import socket
import ssl

import pytest
import yaml

import fleetlib


def say(out, text):
    with open(os.path.join(out, 'summary.txt'), 'a') as handle:
        handle.write(text + '\n')


def decrypted_ca_key(path, passphrase):
    """The CA key as unencrypted PKCS#8 PEM (a leak could print it in either form)."""
    from cryptography.hazmat.primitives import serialization
    with open(path, 'rb') as handle:
        key = serialization.load_pem_private_key(handle.read(), passphrase.encode())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def collect_keys(fleet, ca, passphrase):
    """Every private key on the fleet and in the CA directory, the CA key decrypted too (text)."""
    text = ''.join(fleet.sh(host, 'cat /etc/otlp-tls/*/key.pem 2>/dev/null; true') for host in fleet.hosts)
    for path in sorted(glob.glob(os.path.join(ca, '**', '*.key'), recursive=True)):
        with open(path, errors='replace') as handle:
            text += handle.read()
    if os.path.isfile(os.path.join(ca, 'ca.key')):
        text += decrypted_ca_key(os.path.join(ca, 'ca.key'), passphrase)
    return text


def reported_changed(text, task):
    """Whether the output reports ``changed:`` for the collector role's task ``task``."""
    name = re.escape('TASK [otlp.tls.collector : %s]' % task)
    return re.search(name + r'[^\n]*\n(?:(?!TASK \[).*\n)*?changed: ', text) is not None


def key_needles(key_texts, logs):
    """Every base64 line of every key (16+ characters), except the parts that are public: an EC
    key's last line is the tail of its public key, which CSRs and certificates carry too (as
    they appear in the logs). The lines with the private scalar stay."""
    lines = set()
    for text in key_texts:
        for line in text.splitlines():
            line = line.strip()
            if re.match(r'^[A-Za-z0-9+/=]{16,}$', line):
                lines.add(line)
    public, inside = [], False
    for text in logs:
        for line in text.splitlines():
            line = line.strip().strip('"').strip("'")
            if re.search(r'-----BEGIN (CERTIFICATE|CERTIFICATE REQUEST|PUBLIC KEY)-----', line):
                inside = True
            elif '-----END' in line:
                inside = False
            elif inside:
                public.append(line)
    public_text = '\n'.join(public)
    return sorted(line for line in lines if line not in public_text)


def ca_key_lines(path, passphrase):
    """The CA key's lines (16+ characters), encrypted as stored and decrypted."""
    with open(path) as handle:
        stored = handle.read()
    return [line for pem in (stored, decrypted_ca_key(path, passphrase)) for line in pem.splitlines()
            if len(line) >= 16 and not line.startswith('-----')]


def files_holding(fleet, host, needles):
    """'path mode owner group' of every file on ``host`` (/etc /root /opt /var/lib /tmp) that holds one
    of ``needles``."""
    script = r'''cat > /tmp/.needles; grep -rlF -f /tmp/.needles /etc /root /opt /var/lib /tmp --exclude=.needles \
        2>/dev/null | while read -r f; do echo "$f $(stat -c "%a %U %G" "$f")"; done; rm -f /tmp/.needles'''
    return fleet.exec(host, 'sh', '-c', script, input=('\n'.join(needles) + '\n').encode(),
                      check=False).stdout.splitlines()


def server_cert_as_client(fleet, out):
    """A TLS handshake (and an HTTP/2 preface) to the mTLS collector with its own server certificate
    as the client certificate, from the controller; what happened (text)."""
    directory = os.path.join(out, 'eku')
    os.makedirs(directory, exist_ok=True)
    for name in ('ca.pem', 'cert.pem', 'key.pem'):
        with open(os.path.join(directory, name), 'w') as handle:
            handle.write(fleet.read('collector-mtls', '/etc/otlp-tls/collector/' + name))
    os.chmod(os.path.join(directory, 'key.pem'), 0o600)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(directory, 'ca.pem'))
    ctx.load_cert_chain(os.path.join(directory, 'cert.pem'), os.path.join(directory, 'key.pem'))
    ctx.set_alpn_protocols(['h2'])
    try:
        with socket.create_connection((fleet.address('collector-mtls'), 4317), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname='collector-mtls') as tls:
                tls.sendall(b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00')
                return 'answer %d' % len(tls.recv(64))
    except (ssl.SSLError, OSError) as exc:
        return '%s: %s' % (type(exc).__name__, exc)


@pytest.fixture(scope='module')
def run(default_fleet):
    fleet = default_fleet
    out = fleet.out_dir('secrets')
    passphrase = 'e2e-' + random.token_hex(12)
    ca = os.path.join(out, 'ca')
    fleet.moved('test_secrets: the fleet is on the CA %s' % ca)
    seen = {'out': out, 'ca': ca, 'passphrase': passphrase}

    def play(name, playbook, *args):
        result = fleet.play(playbook, *args, log=os.path.join(out, name + '.log'), ca_dir=ca, passphrase=passphrase,
                            verbose='-vvv')
        assert result.rc == 0, result
        return result

    keys = [collect_keys(fleet, ca, passphrase)]
    play('site-vvv', 'playbooks/site.yml')
    keys.append(collect_keys(fleet, ca, passphrase))
    # Header values and the collectors' backend token (tests/e2e/vars.yml), then new ones: a check
    # run with --diff at -vvv that would change them, and a real run at -vvv that does (rotate.yml
    # below puts the old ones back).
    with open(os.path.join(fleetlib.HERE, 'vars.yml')) as handle:
        defaults = yaml.safe_load(handle)
    new_header = 'e2e-header-s3cret-' + random.token_hex(8)
    new_token = 'e2e-backend-t0ken-' + random.token_hex(8)
    secret_extra = ['-e', '{"e2e_header_secret": "%s", "e2e_backend_token": "%s"}' % (new_header, new_token)]
    seen['check_diff'] = play('check-diff-vvv', 'playbooks/site.yml', *(secret_extra + ['--check', '--diff']))
    play('secrets-vvv', 'playbooks/site.yml', *secret_extra)
    play('rotate-vvv', 'playbooks/rotate.yml', '-e', 'otlp_tls_rotate=leaf', '-e', 'otlp_tls_rotate_new_keys=true',
         '-e', 'otlp_tls_certificate_key_location=ca_host')
    keys.append(collect_keys(fleet, ca, passphrase))
    logs = {}
    for path in sorted(glob.glob(os.path.join(out, '*-vvv.log'))):
        with open(path, errors='replace') as handle:
            logs[os.path.basename(path)] = handle.read()
    seen['logs'] = logs
    # Header values are percent-encoded in OTEL_EXPORTER_OTLP_HEADERS; these need no encoding, so
    # one form covers both.
    seen['secret_needles'] = [defaults['e2e_header_secret'], defaults['e2e_backend_token'], new_header, new_token]
    seen['keys'] = sum(text.count('PRIVATE KEY-----') // 2 for text in keys)
    seen['key_needles'] = key_needles(keys, logs.values()) + [passphrase]
    seen['secret_files'] = [('%s %s' % (host, line)).split()
                            for host in fleet.hosts for line in files_holding(fleet, host, seen['secret_needles'])]
    seen['env_dirs'] = {host: fleet.sh(host, 'stat -c "%a %U %G" /etc/otlp-tls/env 2>/dev/null || echo none').strip()
                        for host in fleet.hosts}
    script = r'''for d in /etc/otlp-tls/*/; do [ -e "$d/key.pem" ] || continue
        echo "$d $(stat -c "%a %U %G" "$d/key.pem") $(stat -c "%a" "$d")"; done'''
    seen['modes'] = [('%s %s' % (host, line)).split() for host in fleet.hosts for line in fleet.sh(host, script).splitlines()]
    ca_lines = ca_key_lines(os.path.join(ca, 'ca.key'), passphrase)
    seen['ca_found'] = {host: files_holding(fleet, host, ca_lines) for host in fleet.hosts}
    seen['eku'] = server_cert_as_client(fleet, out)
    seen['old_tls'] = {}
    for version in ('tls1_1', 'tls1'):
        seen['old_tls'][version] = fleet.sh(
            'app-mtls', 'echo | openssl s_client -$1 -cipher DEFAULT@SECLEVEL=0 -connect collector-mtls:4317 '
            '-cert /etc/otlp-tls/e2e-go-grpc/cert.pem -key /etc/otlp-tls/e2e-go-grpc/key.pem 2>&1; true', version)
    return seen


def test_check_run_shows_the_header_change_masked(run):
    assert re.search(r'OTEL_EXPORTER_OTLP_HEADERS=\*{8} \(new value\)', run['check_diff'].out), \
        'the check run did not show the header change (masked) in its diff'


@pytest.mark.parametrize('task', ["Write the collector's secret environment file",
                                  'Write the config only if the new collector binary validates it'])
def test_check_run_reports_the_change(run, task):
    assert reported_changed(run['check_diff'].out, task), 'the check run did not report a change for: %s' % task


def test_no_header_value_or_token_in_the_output(run):
    leaks = ['%s: %s' % (name, line[:200]) for name, text in run['logs'].items() for line in text.splitlines()
             if any(needle in line for needle in run['secret_needles'])]
    assert leaks == [], 'a header value or backend token appears in the output: %s' % leaks[:5]


def test_collector_token_in_its_env_file_only_for_otelcol(run):
    assert [f for f in run['secret_files'] if f[1:] == ['/etc/otlp-tls/env/otelcol.service.env', '640', 'root', 'otelcol']], \
        'no collector holds its token in /etc/otlp-tls/env/otelcol.service.env, 0640 root:otelcol: %s' % run['secret_files']


def test_app_header_in_its_unit_env_file_only_for_the_unit(run):
    pattern = re.compile(r'/etc/otlp-tls/env/(e2e-[a-z]+-grpc)[.]service[.]env$')
    assert [f for f in run['secret_files'] if pattern.match(f[1]) and f[2:] == ['640', 'root', pattern.match(f[1]).group(1)]], \
        'no app unit holds its header in /etc/otlp-tls/env/<unit>.service.env, 0640 root:<unit>: %s' % run['secret_files']


def test_secrets_only_in_env_files_and_the_collector_config(run):
    wrong = [f for f in run['secret_files']
             if not (re.match(r'/etc/otlp-tls/env/.*[.]env$', f[1]) or f[1] == '/etc/otelcol/config.yaml')]
    assert wrong == [], 'files that hold a secret (only the env files and the collector config may): %s' % wrong


def test_no_file_with_a_secret_is_readable_by_others(run):
    wrong = [f for f in run['secret_files'] if int(f[2], 8) & 0o004]
    assert wrong == [], 'files that hold a secret and are readable by others: %s' % wrong


@pytest.mark.parametrize('host', fleetlib.HOSTS)
def test_env_directory_is_not_listable(run, host):
    assert run['env_dirs'][host] == '711 root root', \
        '%s:/etc/otlp-tls/env is %s, want 711 root root (not listable by others)' % (host, run['env_dirs'][host])


def test_key_search_is_meaningful(run):
    needles = len(run['key_needles'])
    assert needles > run['keys'], 'only %d private key lines for %d keys: the test would prove nothing' % (
        needles, run['keys'])


def test_no_private_key_line_or_passphrase_in_the_output(run):
    leaks = ['%s: %s' % (name, line[:120]) for name, text in run['logs'].items() for line in text.splitlines()
             if any(needle in line for needle in run['key_needles'])]
    assert leaks == [], 'key material or the passphrase appears in the -vvv output: %s' % leaks[:5]


def test_ca_key_is_encrypted_at_rest(run):
    with open(os.path.join(run['ca'], 'ca.key')) as handle:
        assert 'ENCRYPTED PRIVATE KEY' in handle.read(), 'the CA key is not encrypted at rest'


def test_private_key_modes_and_owners(run):
    assert run['modes'], 'no private keys found'
    wrong = []
    for host, directory, mode, owner, group, dirmode in run['modes']:
        name = os.path.basename(directory.rstrip('/'))
        want = '640 root otelcol' if name == 'collector' else '600 %s %s' % (name, name)
        if '%s %s %s' % (mode, owner, group) != want:
            wrong.append('%s:%skey.pem is %s %s:%s, want %s' % (host, directory, mode, owner, group, want))
        if dirmode != '750':
            wrong.append('%s:%s is %s, want 750' % (host, directory, dirmode))
    assert wrong == [], wrong


@pytest.mark.parametrize('host', fleetlib.HOSTS)
def test_ca_key_is_not_on(run, host):
    assert run['ca_found'][host] == [], 'the CA key is on %s: %s' % (host, run['ca_found'][host])


def test_server_certificate_refused_as_client_certificate(run):
    assert re.search(r'bad certificate|unsupported certificate|certificate unknown|alert', run['eku'], re.I), \
        'the collector accepted its own server certificate as a client certificate: %s' % run['eku']


@pytest.mark.parametrize('version', ['tls1_1', 'tls1'])
def test_old_tls_version_refused(run, version):
    assert 'tlsv1 alert protocol version' in run['old_tls'][version], \
        '%s was not refused for its protocol version: %s' % (version, run['old_tls'][version][:300])
