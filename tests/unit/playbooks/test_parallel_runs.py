# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Four runs at once against one CA (AWX job slices, two operators): one CA, no lost ledger entry.

Four ansible-playbook processes start together, each a slice of the fleet (three hosts each,
local connection), against one CA directory that does not exist yet. Every CA-side write
takes the CA directory's lock: exactly one run creates the CA, every host is signed by it,
the ledger holds exactly one line per host, and every line is whole.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import yaml

from ansible_collections.otlp.tls.plugins.module_utils import ca_store, pki

from ..conftest import COLLECTIONS_ROOT

SLICES = 4
PER_SLICE = 3
PLAYBOOK = [{'name': 'Certificates', 'hosts': 'all', 'gather_facts': False,
             'tasks': [{'name': 'Certificate role', 'ansible.builtin.include_role': {'name': 'otlp.tls.certificate'}}]}]


def test_four_parallel_runs_share_one_ca_and_lose_no_ledger_entry(tmp_path):
    (tmp_path / 'site.yml').write_text(yaml.safe_dump(PLAYBOOK))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_LOCALHOST_WARNING='0')
    procs, hosts = [], []
    for index in range(SLICES):
        names = ['s%d-host%d' % (index, n) for n in range(PER_SLICE)]
        hosts += names
        inventory = {'all': {
            'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                     'otlp_tls_ca_dir': str(tmp_path / 'ca'),
                     'otlp_tls_certificate_dir': str(tmp_path / 'hosts') + '/{{ inventory_hostname }}',
                     'otlp_tls_certificate_owner': str(os.getuid()), 'otlp_tls_certificate_group': str(os.getgid())},
            'hosts': dict((name, {}) for name in names)}}
        path = tmp_path / ('slice%d.yml' % index)
        path.write_text(yaml.safe_dump(inventory))
        log = open(str(tmp_path / ('slice%d.log' % index)), 'w')
        procs.append((subprocess.Popen([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i',
                                        str(path), str(tmp_path / 'site.yml')], stdout=log, stderr=subprocess.STDOUT,
                                       env=env, cwd=str(tmp_path)), log))
    for proc, log in procs:
        proc.wait(timeout=600)
        log.close()
    logs = [(tmp_path / ('slice%d.log' % i)).read_text() for i in range(SLICES)]
    assert [proc.returncode for proc, _log in procs] == [0] * SLICES, '\n'.join(logs)
    ca = pki.load_certificate((tmp_path / 'ca' / 'ca.crt').read_bytes())
    # One CA: every host's certificate and trust bundle is that CA's.
    for host in hosts:
        cert = pki.load_certificate((tmp_path / 'hosts' / host / 'cert.pem').read_bytes())
        assert pki.is_signed_by(cert, ca), host
        bundle = pki.load_certificates((tmp_path / 'hosts' / host / 'ca.pem').read_bytes())
        assert [pki.certificate_fingerprint(c) for c in bundle] == [pki.certificate_fingerprint(ca)], host
    created = sum(log.count('"private_key_created": true') + log.count('private_key_created: true') for log in logs)
    assert created <= 1
    # The ledger: one whole line per host, none lost.
    records = ca_store.read_ledger(str(tmp_path / 'ca' / 'ledger.jsonl'))
    assert sorted(r['host'] for r in records) == sorted(hosts)
    with open(str(tmp_path / 'ca' / 'ledger.jsonl')) as handle:
        assert len(handle.read().splitlines()) == len(hosts)
    assert len(set(r['serial'] for r in records)) == len(hosts)
