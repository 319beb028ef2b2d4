# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""One real converge, with idempotence, per ansible-core version of tests/matrix/ansible-core.txt.

Each version gets a fresh fleet of its own (``otlp-core-<version>``: the collector on Debian 13, an
app host on Debian 11 and one on Debian 12; tests/hosts/fleet.sh) and a fresh CA, two versions at
a time (OTLP_TLS_CORE_JOBS), and runs, with that version's own ansible-playbook (tests/matrix/venv.sh): prepare.yml (stand-in app units), then
playbooks/site.yml, which must change every host, then site.yml again, which must change
nothing, then playbooks/check.yml, which must pass. The newest minor (the test venv's) runs the
same plays in Molecule and the e2e tests. Run by `make matrix`; logs in .tmp/core/<version>/.
"""

from __future__ import absolute_import, division, print_function

import concurrent.futures
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


# Two versions at a time (one per core; each fleet is its own network and containers, each CA its own directory): the
# converges wait on the hosts as much as they compute, so a pair takes much less than two in turn.
JOBS = int(os.environ.get('OTLP_TLS_CORE_JOBS', '2'))


def fleet_of(version):
    return '%s-%s' % (FLEET, version.replace('.', '-'))


def converge(version):
    """prepare, site, site again and check with ``version``'s ansible-playbook on a fleet of its own; the logs."""
    venv = subprocess.run(['bash', os.path.join(HERE, 'venv.sh'), 'ansible-core', version], stdout=subprocess.PIPE,
                          check=True).stdout.decode().strip()
    work = os.path.join(ROOT, '.tmp', 'core', version)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    fleet = fleet_of(version)
    fleet_sh('down', fleet)
    fleet_sh('up', fleet, work, *HOSTS)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(work, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', PATH=os.path.join(venv, 'bin') + os.pathsep + os.environ['PATH'])
    extra = ['-e', json.dumps({'otlp_tls_ca_dir': os.path.join(work, 'ca')}),
             '-e', '@' + os.path.join(HERE, 'converge', 'vars.yml')]
    out = dict(work=work)
    try:
        core = subprocess.run([os.path.join(venv, 'bin', 'ansible-playbook'), '--version'], env=env,
                              stdout=subprocess.PIPE, check=True).stdout.decode()
        out['version'] = core.splitlines()[0]
        for name, playbook in (('prepare', os.path.join(HERE, 'converge', 'prepare.yml')),
                               ('site', os.path.join(ROOT, 'playbooks', 'site.yml')),
                               ('site-again', os.path.join(ROOT, 'playbooks', 'site.yml')),
                               ('check', os.path.join(ROOT, 'playbooks', 'check.yml'))):
            argv = [os.path.join(venv, 'bin', 'ansible-playbook')] + extra + [playbook]
            log = os.path.join(work, name + '.log')
            with open(log, 'w') as handle:
                proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=1200,
                                      check=False)
            with open(log) as handle:
                out[name] = (proc.returncode, handle.read(), log)
            if proc.returncode:
                break
    finally:
        fleet_sh('down', fleet)
    return out


@pytest.fixture(scope='module')
def converged():
    """Every version's converge, JOBS at a time; an exception is kept for its version's test."""
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
        futures = dict((pool.submit(converge, version), version) for version in versions())
        for future in concurrent.futures.as_completed(futures):
            try:
                results[futures[future]] = future.result()
            except Exception as error:  # pylint: disable=broad-except
                results[futures[future]] = error
    return results


@pytest.mark.parametrize('version', versions())
def test_converge_and_idempotence(converged, version):
    found = converged[version]
    if isinstance(found, Exception):
        raise found

    def played(name):
        assert name in found, '%s with ansible-core %s did not run (an earlier play failed; logs in %s)' % (
            name, version, found['work'])
        returncode, out, log = found[name]
        assert returncode == 0, '%s with ansible-core %s: rc %d (log %s)\n%s' % (
            name, version, returncode, log, out[-3000:])
        return out

    assert 'core %s]' % version in found['version'], found['version']
    played('prepare')
    first = recap(played('site'))
    assert set(NAMES) <= set(first), first
    unchanged = [host for host in NAMES if first[host]['changed'] == 0]
    assert not unchanged, 'the first converge changed nothing on %s: %s' % (unchanged, first)
    second = recap(played('site-again'))
    changed = dict((host, counts['changed']) for host, counts in second.items() if counts['changed'])
    assert not changed, 'the second converge with ansible-core %s changed %s (log %s)' % (
        version, changed, found['site-again'][2])
    check = played('check')
    assert all(recap(check)[host]['failed'] == 0 for host in NAMES), check[-3000:]
