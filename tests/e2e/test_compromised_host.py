# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""E2e: a compromised host, on the fleet of conftest.py (it moves the fleet to a new,
passphrase-protected CA of its own; the next module that needs the fleet's own CA converges it
back, see fleetlib.ensure_default).

app-mtls, the first host of the apps play (so run_once tasks are templated with its variables),
gets a /usr/bin/python3 that runs every Ansible module through compromised/forge.py: the CSRs it
returns ask for the collectors' names, a wildcard, an IP, serverAuth and CA:TRUE with a key of its
own, and every result injects facts naming it the CA host, another CA directory and passphrase,
a 3000-day validity and the collector's names. Through site.yml, a leaf rotation and the start of
a CA rotation: the CA issues it nothing, no CA task runs there and the passphrase never reaches
it, the CA is unchanged, every honest host converges in the same runs, and the failure says what
the host asked for.

    pytest tests/e2e/test_compromised_host.py
"""

from __future__ import absolute_import, division, print_function

import hashlib
import json
import os
import re
import secrets
import subprocess

import pytest

import fleetlib

ROOT = fleetlib.ROOT
FLEET = fleetlib.FLEET
OUT = os.path.join(fleetlib.WORK, 'compromised')
HOST = 'app-mtls'
HONEST = [host for host in fleetlib.HOSTS if host != HOST]
PASSPHRASE = 'e2e-' + secrets.token_hex(12)
CA_DIR = os.path.join(OUT, 'ca')
FORGE = os.path.join(os.path.dirname(__file__), 'compromised')
# rotate.yml stops at the first failed host by default; with a host known to be bad the operator
# lets the others go on (the CA rotation's phase gate still waits for every host).
GO_ON = ['-e', 'otlp_tls_rotate_app_serial=100%', '-e', 'otlp_tls_rotate_max_fail_percentage=100']

FLEET_HANDLE = []  # the fleet fixture, set by the module fixture


def podman(host, *argv, **kwargs):
    proc = FLEET_HANDLE[0].exec(host, *argv, check=kwargs.get('check', True))
    proc.stdout = proc.stdout.encode()
    return proc


def play(name, *argv):
    """Run a playbook with the json callback; return (rc, the callback's document)."""
    env = FLEET_HANDLE[0].env(ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json')
    extra = ['-e', json.dumps({'otlp_tls_ca_dir': CA_DIR, 'otlp_tls_ca_key_passphrase': PASSPHRASE}),
             '-e', '@tests/e2e/vars.yml']
    proc = subprocess.run(['ansible-playbook'] + extra + list(argv), cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    out, err = proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')
    with open(os.path.join(OUT, name + '.json'), 'w') as handle:
        handle.write(out)
    with open(os.path.join(OUT, name + '.stderr'), 'w') as handle:
        handle.write(err)
    assert out.strip().startswith('{'), err[-3000:]
    assert PASSPHRASE not in out + err
    return proc.returncode, json.loads(out)


def results(doc, task_prefix):
    """(host, result) of every task whose name starts with ``task_prefix``, in every play."""
    for play_doc in doc['plays']:
        for task in play_doc['tasks']:
            # A role's task is named "<role> : <name>".
            if task['task']['name'].split(' : ')[-1].startswith(task_prefix):
                for host, result in task['hosts'].items():
                    yield host, result


def ca_digest():
    digest = {}
    for name in ('ca.crt', 'ca.key'):
        with open(os.path.join(CA_DIR, name), 'rb') as handle:
            digest[name] = hashlib.sha256(handle.read()).hexdigest()
    return digest


def signed_names(doc):
    """Request names the x509_sign calls of a run issued and refused."""
    issued, refused = set(), set()
    for _host, result in results(doc, "Sign every host's CSRs"):
        issued.update(result.get('issued') or [])
        refused.update(result.get('refused') or {})
    return issued, refused


def certificates_from_ca(host):
    """The certificate files on ``host`` that the stage's CA signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    with open(os.path.join(CA_DIR, 'ca.crt'), 'rb') as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    paths = podman(host, 'sh', '-c', 'ls /etc/otlp-tls/*/cert.pem 2>/dev/null; true').stdout.decode().split()
    out = []
    for path in paths:
        cert = x509.load_pem_x509_certificate(podman(host, 'cat', path).stdout)
        try:
            ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        except Exception:  # noqa: BLE001 - any failure means "not signed by this CA"
            continue
        out.append(path)
    return out


def held_at_the_liar(result):
    """The CA rotation's "move on" step refusing to leave the phase while the liar has not completed it."""
    return 'the CA rotation stays in phase' in str(result.get('msg', '')) and HOST in str(result.get('msg', ''))


def assert_refused_and_honest(doc, hold=False):
    stats = doc['stats']
    assert stats[HOST]['failures'] == 1, stats
    holds = []
    for play_doc in doc['plays']:
        for task in play_doc['tasks']:
            for host, result in task['hosts'].items():
                if host in HONEST and result.get('failed'):
                    assert hold and held_at_the_liar(result), (host, task['task']['name'], result.get('msg'))
                    holds.append(host)
    # A CA rotation holds in its phase (one failed run_once step, reported on the batch's first
    # host) until the liar completes it; nothing else failed on an honest host.
    assert len(holds) == (1 if hold else 0), holds
    for host in HONEST:
        if host in stats:
            assert stats[host]['failures'] == holds.count(host) and stats[host]['unreachable'] == 0, (host, stats)
    # The certificate role stops a refused host in a task of its own; the exporter role's own signing at its drop-in
    # task, before the module runs there.
    messages = [result.get('msg', '') for prefix in ('Stop this host when the CA refused',
                                                     "Write each unit's exporter environment")
                for host, result in results(doc, prefix) if host == HOST and result.get('failed')]
    assert len(messages) == 1, messages
    message = messages[0]
    assert message.startswith('The CA refused to sign for %s: host %s, certificate' % (HOST, HOST)), message
    for asked in ('the CSR asks for subject CN=collector-mtls', '*.example.internal', '10.0.0.5',
                  'extended key usage serverAuth', 'CA:TRUE (a CA certificate)', 'but the inventory grants subject CN='):
        assert asked in message, (asked, message)
    issued, refused = signed_names(doc)
    assert not [name for name in issued if name.startswith(HOST + ':')], issued
    assert [name for name in refused if name.startswith(HOST + ':')], refused
    return issued


@pytest.fixture(scope='module')
def compromised(fleet):
    FLEET_HANDLE[:] = [fleet]
    fleet.out_dir('compromised')
    fleet.moved('test_compromised_host: the fleet is on the CA %s' % CA_DIR)
    real = podman(HOST, 'readlink', '-f', '/usr/bin/python3').stdout.decode().strip()
    podman(HOST, 'mkdir', '-p', '/usr/local/lib/otlp-forge')
    for name in ('forge.py', 'python3-wrapper.sh'):
        subprocess.run(['podman', 'cp', os.path.join(FORGE, name), '%s:/usr/local/lib/otlp-forge/%s'
                        % (fleet.container(HOST), name)], check=True)
    podman(HOST, 'sh', '-c', 'ln -sf "$1" /usr/local/lib/otlp-forge/python3.real && chmod 0755 '
                             '/usr/local/lib/otlp-forge/python3-wrapper.sh && rm -rf /var/log/otlp-forge && '
                             'ln -sf /usr/local/lib/otlp-forge/python3-wrapper.sh /usr/bin/python3', 'sh', real)
    yield
    podman(HOST, 'ln', '-sf', real, '/usr/bin/python3', check=False)


@pytest.fixture(scope='module')
def site(compromised):
    rc, doc = play('site', 'playbooks/site.yml')
    return rc, doc, ca_digest()


def test_site_signs_the_honest_hosts_and_refuses_the_liar(site):
    rc, doc, _digest = site
    assert rc != 0
    issued = assert_refused_and_honest(doc)
    assert 'collector-mtls:collector' in issued and 'collector-tls:collector' in issued, issued
    # The liar holds no certificate from this CA; the honest collector does.
    assert certificates_from_ca(HOST) == []
    assert certificates_from_ca('collector-mtls') == ['/etc/otlp-tls/collector/cert.pem']


def test_leaf_rotation_signs_the_honest_hosts_and_refuses_the_liar(site):
    _rc, _doc, digest = site
    rc, doc = play('rotate-leaf', 'playbooks/rotate.yml', '-e', 'otlp_tls_rotate=leaf', *GO_ON)
    assert rc != 0
    issued = assert_refused_and_honest(doc)
    assert 'collector-mtls:collector' in issued, issued
    assert ca_digest() == digest


def test_ca_rotation_holds_at_the_liar_and_moves_nothing_there(site):
    _rc, _doc, digest = site
    rc, doc = play('rotate-ca', 'playbooks/rotate.yml', '-e', 'otlp_tls_rotate=ca', *GO_ON)
    assert rc != 0
    assert_refused_and_honest(doc, hold=True)
    assert ca_digest() == digest
    with open(os.path.join(CA_DIR, 'rotation.json')) as handle:
        state = json.load(handle)
    # The honest hosts completed the phase; the rotation waits for the liar, on the CA host.
    assert state['phase'] == 'trust'
    assert sorted(state['done'].get('trust', [])) == sorted(HONEST), state
    assert os.path.exists(os.path.join(CA_DIR, 'next', 'ca.crt'))


def test_no_ca_task_and_no_passphrase_ever_reached_the_liar(site):
    listing = podman(HOST, 'sh', '-c', 'ls /var/log/otlp-forge').stdout.decode().split()
    modules = sorted(set(re.sub(r'^[0-9T.]+-(.*)[.]payload$', r'\1', name).split('.')[-1] for name in listing))
    # It ran modules (the stage is real: host_state is the read that also makes its CSRs, whose
    # results forge.py swapped), but never the CA's.
    assert 'host_state' in modules, modules
    assert not set(modules) & set(['x509_ca', 'x509_sign']), modules
    leaked = podman(HOST, 'grep', '-rlF', PASSPHRASE, '/var/log/otlp-forge', '/root', '/tmp', check=False)
    assert leaked.returncode == 1 and leaked.stdout == b'', leaked.stdout
    assert podman(HOST, 'test', '-e', '/root/stolen-ca', check=False).returncode == 1
    assert not os.path.exists('/root/stolen-ca')
