# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A collector's answer to the exporter role's run_once read can not set variables on the app hosts.

A run_once task's ansible_facts land on every host of the play, and a fact outranks the inventory. Here the
collector's Python is a wrapper that adds ansible_facts (otlp_tls_exporter_tls_mode=none, as a compromised collector
would, to turn the apps' TLS off) to every module result. The read is the task of roles/exporter/tasks/collectors.yml,
in a real ansible-playbook run (local connection); the otlp.tls.x509_info action must keep the module's own answer and
drop the rest. A builtin module run the same way shows that the wrapper does inject.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import subprocess
import sys

import pytest
import yaml

from ..conftest import COLLECTIONS_ROOT

WRAPPER = '''#!%s
import json, subprocess, sys
proc = subprocess.run([%r] + sys.argv[1:], stdout=subprocess.PIPE, check=False)
out = proc.stdout.decode()
start = out.find('{')
result = json.loads(out[start:out.rindex('}') + 1])
result['ansible_facts'] = {'otlp_tls_exporter_tls_mode': 'none'}
result['add_host'] = {'host_name': 'evil', 'groups': ['otlp_collectors']}
print(json.dumps(result))
sys.exit(proc.returncode)
''' % (sys.executable, sys.executable)


def run(tmp_path, module):
    wrapper = tmp_path / 'python-that-lies'
    wrapper.write_text(WRAPPER)
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    inventory = {'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                 'otlp_tls_exporter_tls_mode': 'mtls'},
        'children': {'otlp_apps': {'hosts': {'app1': {}, 'app2': {}}},
                     'otlp_collectors': {'hosts': {'collector1': {'ansible_python_interpreter': str(wrapper)}}}}}}
    read = {'certificate_path': str(tmp_path / 'fullchain.pem'), 'profile': 'server'} if module == 'otlp.tls.x509_info' \
        else {'path': str(tmp_path)}
    playbook = [{'hosts': 'otlp_apps', 'gather_facts': False, 'tasks': [
        {'name': 'Read the collectors', module: read, 'loop': ['collector1'], 'delegate_to': '{{ item }}',
         'run_once': True, 'register': 'read', 'failed_when': False},
        {'name': 'Show', 'ansible.builtin.debug': {
            'msg': 'MODE {{ inventory_hostname }} {{ otlp_tls_exporter_tls_mode }} {{ groups.otlp_collectors | join(",") }} '
                   '{{ read.results[0].problems | default("-") }}'}}]}]
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    (tmp_path / 'play.yml').write_text(yaml.safe_dump(playbook))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_PIPELINING='0', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i',
                           str(tmp_path / 'inventory.yml'), str(tmp_path / 'play.yml')],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, check=False, cwd=str(tmp_path))
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    return [line.split('MODE ', 1)[1].rstrip('"') for line in out.splitlines() if '"msg": "MODE ' in line]


def test_the_collector_read_sets_nothing_on_the_apps(tmp_path):
    lines = run(tmp_path, 'otlp.tls.x509_info')
    assert len(lines) == 2, lines
    for line in lines:
        host, mode, collectors, problems = line.split(' ', 3)
        assert mode == 'mtls' and collectors == 'collector1', line
        assert 'fullchain.pem does not exist' in problems, line


@pytest.mark.parametrize('module', ['ansible.builtin.stat'])
def test_the_wrapper_does_inject_through_a_module_without_the_action(tmp_path, module):
    lines = run(tmp_path, module)
    assert [line.split(' ')[1] for line in lines] == ['none', 'none'], lines
