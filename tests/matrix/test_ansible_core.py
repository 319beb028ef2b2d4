# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""One real converge, with idempotence, per ansible-core version of tests/matrix/ansible-core.txt.

Each version gets a fresh fleet (``otlp-core``: the collector on Debian 13, an app host on
Debian 11 and one on Debian 12; tests/hosts/fleet.sh) and a fresh CA, and runs, with that
version's own ansible-playbook (tests/matrix/venv.sh): prepare.yml (stand-in app units), then
playbooks/site.yml, which must change every host, then site.yml again, which must change
nothing, then playbooks/check.yml, which must pass. The newest minor (the test venv's) runs the
same plays in Molecule and the e2e tests. Run by `make matrix`; logs in .tmp/core/<version>/.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
FLEET = 'otlp-core'
# The collector on Debian 13 (Molecule and the e2e fleet run it on 12), apps on 11 and 12.
HOSTS = ['collector-trixie:otlp_collectors@trixie', 'app-bullseye:otlp_apps@bullseye', 'app-bookworm:otlp_apps']
NAMES = [spec.split(':', maxsplit=1)[0] for spec in HOSTS]


def versions():
    with open(os.path.join(HERE, 'ansible-core.txt')) as handle:
        return [line.split()[0] for line in handle if line.strip() and not line.startswith('#')]


def fleet_sh(*args):
    subprocess.run(['bash', os.path.join(ROOT, 'tests', 'hosts', 'fleet.sh')] + list(args), check=True,
                   stdout=subprocess.DEVNULL)


def recap(out):
    """host -> {ok, changed, failed, ...} from the PLAY RECAP of ansible-playbook's output."""
    found = {}
    text = out[out.rfind('PLAY RECAP'):]
    for line in text.splitlines()[1:]:
        match = re.match(r'(\S+)\s+:\s+(.*)$', line.strip())
        if match:
            found[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r'(\w+)=(\d+)', match.group(2)))
    return found


@pytest.fixture(scope='module', autouse=True)
def no_fleet_left():
    yield
    fleet_sh('down', FLEET)


@pytest.mark.parametrize('version', versions())
def test_converge_and_idempotence(version):
    venv = subprocess.run(['bash', os.path.join(HERE, 'venv.sh'), 'ansible-core', version], stdout=subprocess.PIPE,
                          check=True).stdout.decode().strip()
    work = os.path.join(ROOT, '.tmp', 'core', version)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    fleet_sh('down', FLEET)
    fleet_sh('up', FLEET, work, *HOSTS)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(work, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', PATH=os.path.join(venv, 'bin') + os.pathsep + os.environ['PATH'])
    extra = ['-e', json.dumps({'otlp_tls_ca_dir': os.path.join(work, 'ca')}),
             '-e', '@' + os.path.join(HERE, 'converge', 'vars.yml')]

    def play(name, playbook):
        argv = [os.path.join(venv, 'bin', 'ansible-playbook')] + extra + [playbook]
        with open(os.path.join(work, name + '.log'), 'w') as handle:
            proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=1200,
                                  check=False)
        with open(os.path.join(work, name + '.log')) as handle:
            out = handle.read()
        assert proc.returncode == 0, '%s with ansible-core %s: rc %d (log %s)\n%s' % (
            name, version, proc.returncode, handle.name, out[-3000:])
        return out

    core = subprocess.run([os.path.join(venv, 'bin', 'ansible-playbook'), '--version'], env=env,
                          stdout=subprocess.PIPE, check=True).stdout.decode()
    assert 'core %s]' % version in core.splitlines()[0], core

    play('prepare', os.path.join(HERE, 'converge', 'prepare.yml'))
    first = recap(play('site', os.path.join(ROOT, 'playbooks', 'site.yml')))
    assert set(NAMES) <= set(first), first
    unchanged = [host for host in NAMES if first[host]['changed'] == 0]
    assert not unchanged, 'the first converge changed nothing on %s: %s' % (unchanged, first)
    second = recap(play('site-again', os.path.join(ROOT, 'playbooks', 'site.yml')))
    changed = dict((host, counts['changed']) for host, counts in second.items() if counts['changed'])
    assert not changed, 'the second converge with ansible-core %s changed %s (log %s)' % (
        version, changed, os.path.join(work, 'site-again.log'))
    check = play('check', os.path.join(ROOT, 'playbooks', 'check.yml'))
    assert all(recap(check)[host]['failed'] == 0 for host in NAMES), check[-3000:]
