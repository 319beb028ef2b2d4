# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The CA signs only what the inventory grants, and a managed host can not steer it.

Real ansible-playbook runs of the certificate role on a local fleet of three inventory hosts
(local connection, each with its own directory). app1 plays a compromised host: a module result
injects facts (as any module's result can) naming itself the CA host, another CA directory and
passphrase, the collector's names, serverAuth and a 3000-day validity, so the CSR it makes asks
for all of that. The CA must refuse app1 alone, sign the others, and never run a task there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.otlp.tls.plugins.module_utils import pki

from ..conftest import COLLECTIONS_ROOT

HERE = os.path.dirname(os.path.abspath(__file__))

FORGED = {
    'otlp_tls_ca_host': 'app1',
    'otlp_tls_ca_dir': '{evil}/ca',
    'otlp_tls_ca_key_passphrase': 'attacker-chosen',
    'otlp_tls_certificate_common_name': 'collector1.example.internal',
    'otlp_tls_certificate_subject_alt_names': ['collector1.example.internal', '*.example.internal', '10.0.0.5'],
    'otlp_tls_certificate_profile': 'server',
    'otlp_tls_certificate_validity_days': 3000,
    'otlp_tls_certificate_renew_before': 2999,
}

PLAYBOOK = [
    {'name': 'A host that lies', 'hosts': 'app1', 'gather_facts': False,
     'tasks': [{'name': 'Inject facts', 'forge_facts': {'facts': '{{ forged }}'}, 'when': 'forge | bool'}]},
    {'name': 'Certificates', 'hosts': 'all', 'gather_facts': False,
     'tasks': [{'name': 'Certificate role', 'ansible.builtin.include_role': {'name': 'otlp.tls.certificate'}}]},
]


def run_fleet(tmp_path, forge=True, cache_dir=None, passphrase='the-real-passphrase', more=None, args=()):
    evil = tmp_path / 'evil'
    forged = dict(FORGED, otlp_tls_ca_dir=str(evil / 'ca'), **(more or {}))
    inventory = {'all': {
        'vars': {
            'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
            'otlp_tls_ca_dir': str(tmp_path / 'ca'), 'otlp_tls_ca_key_passphrase': passphrase,
            'otlp_tls_certificate_dir': str(tmp_path / 'hosts') + '/{{ inventory_hostname }}',
            'otlp_tls_certificate_owner': str(os.getuid()), 'otlp_tls_certificate_group': str(os.getgid()),
            'forged': forged, 'forge': forge,
        },
        'hosts': {
            'collector1': {'otlp_tls_certificate_profile': 'server',
                           'otlp_tls_certificate_subject_alt_names': ['collector1.example.internal']},
            'app1': {}, 'app2': {},
        }}}
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    (tmp_path / 'site.yml').write_text(yaml.safe_dump(PLAYBOOK))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_LIBRARY=os.path.join(HERE, 'library'),
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_HOST_KEY_CHECKING='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    if cache_dir:
        env.update(ANSIBLE_CACHE_PLUGIN='ansible.builtin.jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache_dir),
                   ANSIBLE_CACHE_PLUGIN_TIMEOUT='86400')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i',
                           str(tmp_path / 'inventory.yml'), str(tmp_path / 'site.yml'), '-vvv'] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, check=False, cwd=str(tmp_path))
    return proc.returncode, proc.stdout.decode()


def cert_of(tmp_path, host):
    path = tmp_path / 'hosts' / host / 'cert.pem'
    return pki.load_certificate(path.read_bytes()) if path.exists() else None


def assert_honest_hosts_signed(tmp_path):
    ca = pki.load_certificate((tmp_path / 'ca' / 'ca.crt').read_bytes())
    collector, app2 = cert_of(tmp_path, 'collector1'), cert_of(tmp_path, 'app2')
    assert pki.is_signed_by(collector, ca) and pki.profile_of(collector) == 'server'
    assert pki.sans_of(collector) == (['collector1.example.internal'], [])
    assert pki.is_signed_by(app2, ca) and pki.profile_of(app2) == 'client'
    assert pki.sans_of(app2) == (['app2'], [])
    return ca


@pytest.mark.parametrize('passphrase', ['the-real-passphrase', ''])
def test_a_forging_host_gets_nothing_and_steers_nothing(tmp_path, passphrase):
    rc, out = run_fleet(tmp_path, passphrase=passphrase)
    assert rc == 2, out
    # The refusal names the host, the entry, what was asked and what is granted.
    assert 'The CA refused to sign for app1: host app1, certificate otlp: the CSR asks for' in out, out
    assert 'collector1.example.internal' in out.split('The CA refused to sign for app1')[1][:2000]
    assert 'but the inventory grants subject CN=app1, names app1, clientAuth' in out
    assert cert_of(tmp_path, 'app1') is None
    assert_honest_hosts_signed(tmp_path)
    # No CA task ran on app1, nothing went to the forged CA directory, and the passphrase
    # went nowhere but to the CA host's module.
    assert not (tmp_path / 'evil').exists()
    assert 'ESTABLISH LOCAL CONNECTION FOR USER' in out
    for line in out.splitlines():
        if 'x509_ca' in line or 'x509_sign' in line:
            assert '-> app1' not in line, line
    if passphrase:
        assert passphrase not in out
    assert 'attacker-chosen' in out  # only as the forged fact itself, printed by the forging task


def test_cached_forged_facts_change_nothing(tmp_path):
    cache = tmp_path / 'facts'
    # First run: the forged facts land in a persistent fact cache (the forging host is refused).
    rc, out = run_fleet(tmp_path, cache_dir=cache)
    assert rc == 2, out
    cached = [path for path in cache.iterdir() if path.name.endswith('app1')]
    assert cached and 'otlp_tls_ca_host' in cached[0].read_text()
    # Second run: no module forges anything, the cache still holds the lies: the same refusal,
    # and the honest hosts keep their certificates.
    before = cert_of(tmp_path, 'collector1').serial_number
    rc, out = run_fleet(tmp_path, forge=False, cache_dir=cache)
    assert rc == 2, out
    assert 'The CA refused to sign for app1' in out
    assert cert_of(tmp_path, 'collector1').serial_number == before
    assert not (tmp_path / 'evil').exists()


def test_an_honest_fleet_converges_and_stays(tmp_path):
    rc, out = run_fleet(tmp_path, forge=False)
    assert rc == 0, out
    assert_honest_hosts_signed(tmp_path)
    app1 = cert_of(tmp_path, 'app1')
    assert pki.sans_of(app1) == (['app1'], []) and pki.profile_of(app1) == 'client'
    rc, out = run_fleet(tmp_path, forge=False)
    assert rc == 0, out
    recap = [line for line in out.splitlines() if line.startswith(('collector1 ', 'app1 ', 'app2 '))]
    assert len(recap) == 3 and all('changed=0' in line for line in recap), recap


def test_a_forged_source_names_no_task_file(tmp_path):
    """A fact can not make the role include another task file, even with the argument check skipped."""
    rc, out = run_fleet(tmp_path, more={'otlp_tls_certificate_source': '../../collector/tasks/install'},
                        args=['--skip-tags', 'always'])
    assert rc == 2, out
    assert "otlp_tls_certificate_source must be generated or provided, got '../../collector/tasks/install'" in out
    assert 'collector/tasks/install' not in ''.join(l for l in out.splitlines() if l.startswith('TASK ['))
    assert_honest_hosts_signed(tmp_path)
