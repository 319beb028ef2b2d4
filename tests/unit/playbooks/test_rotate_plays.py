# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which plays of the playbooks get hosts, per mode and group, from ansible-playbook --list-hosts.

rotate.yml starts only the plays of the mode asked for (the others' hosts: is empty); the
collector and app groups are variables given with -e. No host is contacted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import sys

import pytest
import yaml

from ..conftest import COLLECTIONS_ROOT, REPO

PLAYBOOKS = os.path.join(REPO, 'playbooks')
INVENTORY = {'all': {'children': {
    'otlp_collectors': {'hosts': {'collector1': {}}},
    'otlp_apps': {'hosts': {'app1': {}, 'app2': {}}},
    'edge_collectors': {'hosts': {'edge1': {}}},
    'edge_apps': {'hosts': {'edge-app1': {}}},
    # Set in the inventory, so not seen by hosts: (documented: give the groups with -e).
    'ignored': {'hosts': {'other': {}}, 'vars': {'otlp_tls_apps_group': 'edge_apps'}},
}}}
PLAY = re.compile(r'^\s+play #\d+ \([^)]*\): (.*?)\tTAGS')
HOSTS = re.compile(r'^\s+hosts \((\d+)\):')

LEAF = ['What to rotate', 'Leaf rotation, collectors', 'Leaf rotation, apps']
CA_PLAYS = ['CA rotation, %s, phase %s' % (who, phase) for phase in ('trust', 'reissue', 'retire')
            for who in ('collectors', 'agents', 'apps', 'move on')]
# Without an agents group, the agents' plays have no host.
CA_PHASES = [name for name in CA_PLAYS if ', agents,' not in name]
# The last play (the agents' copies of the apps' new certificates) has hosts only when there is an agents group.
AGENTS_COPIES = 'Agents, their copies of the apps\' new certificates'
ROTATE_ALL = LEAF[:2] + ['Leaf rotation, agents'] + LEAF[2:] + ['CA rotation, start or resume'] + CA_PLAYS + [
    AGENTS_COPIES]


@pytest.fixture(scope='module')
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp('inventory') / 'inventory.yml'
    path.write_text(yaml.safe_dump(INVENTORY))
    return str(path)


def plays(inventory, playbook, *extra):
    """[(play name, sorted hosts)] of every play, as --list-hosts prints them."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    args = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
            os.path.join(PLAYBOOKS, playbook), '--list-hosts']
    for item in extra:
        args += ['-e', item]
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, check=False)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    result, lines = [], out.splitlines()
    for i, line in enumerate(lines):
        match = PLAY.match(line)
        if match:
            count = int(HOSTS.match(lines[i + 2]).group(1))
            result.append((match.group(1), sorted(h.strip() for h in lines[i + 3:i + 3 + count])))
    return result


def started(result):
    return [name for name, hosts in result if hosts]


@pytest.mark.parametrize('mode, expected', [
    ('leaf', LEAF),
    ('ca', ['What to rotate', 'CA rotation, start or resume'] + CA_PHASES),
    ('status', ['What to rotate', 'CA rotation, start or resume']),
    # Anything else: only the first play has hosts, and it refuses the mode.
    ('bogus', ['What to rotate']),
])
def test_rotate_starts_only_the_plays_of_its_mode(inventory, mode, expected):
    result = plays(inventory, 'rotate.yml', 'otlp_tls_rotate=' + mode)
    assert [name for name, hosts in result] == ROTATE_ALL
    assert started(result) == expected


def test_rotate_leaf_hosts_and_limit_to_a_group(inventory):
    result = dict(plays(inventory, 'rotate.yml', 'otlp_tls_rotate=leaf'))
    assert result['Leaf rotation, collectors'] == ['collector1']
    assert result['Leaf rotation, apps'] == ['app1', 'app2']
    result = dict(plays(inventory, 'rotate.yml', 'otlp_tls_rotate=leaf', 'otlp_tls_rotate_hosts=app1'))
    assert result['Leaf rotation, collectors'] == [] and result['Leaf rotation, apps'] == ['app1']


def test_two_tiers_put_the_agents_between_the_gateways_and_the_apps(tmp_path):
    """With an otlp_agents group: site.yml's agents play between the collectors' and the apps', and a leaf
    rotation's agents play likewise, limited like the others; without one, those plays have no host."""
    two_tier = dict(INVENTORY['all']['children'], otlp_agents={'hosts': {'app1': {}}})
    path = tmp_path / 'inventory.yml'
    path.write_text(yaml.safe_dump({'all': {'children': two_tier}}))
    site = plays(str(path), 'site.yml')
    assert [(name.split(' ')[0], hosts) for name, hosts in site] == [
        ('Collectors', ['collector1']), ('Agents', ['app1']), ('Apps', ['app1', 'app2']), ('Agents,', ['app1'])]
    leaf = plays(str(path), 'rotate.yml', 'otlp_tls_rotate=leaf')
    assert started(leaf) == ROTATE_ALL[:4] + [AGENTS_COPIES] and dict(leaf)['Leaf rotation, agents'] == ['app1']
    assert dict(leaf)[AGENTS_COPIES] == ['app1']
    limited = dict(plays(str(path), 'rotate.yml', 'otlp_tls_rotate=leaf', 'otlp_tls_rotate_hosts=app2'))
    assert limited['Leaf rotation, agents'] == [] and limited['Leaf rotation, apps'] == ['app2']
    check = plays(str(path), 'check.yml')
    assert [hosts for name, hosts in check if name.startswith('Agents')] == [['app1']]
    ca = dict(plays(str(path), 'rotate.yml', 'otlp_tls_rotate=ca'))
    assert ca['CA rotation, agents, phase trust'] == ['app1'] and ca['CA rotation, apps, phase trust'] == ['app1', 'app2']
    assert ca['CA rotation, move on, phase retire'] == ['app1', 'app2', 'collector1']
    assert ca[AGENTS_COPIES] == ['app1']


def test_rotate_ca_covers_both_groups(inventory):
    result = dict(plays(inventory, 'rotate.yml', 'otlp_tls_rotate=ca'))
    assert result['CA rotation, start or resume'] == ['app1', 'app2', 'collector1']
    assert result['CA rotation, collectors, phase reissue'] == ['collector1']
    assert result['CA rotation, apps, phase retire'] == ['app1', 'app2']
    assert result['CA rotation, move on, phase trust'] == ['app1', 'app2', 'collector1']


@pytest.mark.parametrize('playbook, extra', [
    ('rotate.yml', ['otlp_tls_rotate=ca']), ('site.yml', []), ('check.yml', []), ('revoke.yml', ['otlp_tls_revoke=x']),
])
def test_groups_are_variables_given_with_extra_vars(inventory, playbook, extra):
    default = plays(inventory, playbook, *extra)
    moved = plays(inventory, playbook, 'otlp_tls_collectors_group=edge_collectors', 'otlp_tls_apps_group=edge_apps',
                  *extra)
    hosts = set(h for name, hs in default for h in hs) - {'localhost'}
    assert hosts == {'collector1', 'app1', 'app2'}
    assert set(h for name, hs in moved for h in hs) - {'localhost'} == {'edge1', 'edge-app1'}
    assert [name for name, hosts in moved] == [name for name, hosts in default]


def test_revoke_runs_the_ca_rotation_or_only_the_status(inventory):
    revoke = plays(inventory, 'revoke.yml', 'otlp_tls_revoke=app1')
    assert started(revoke) == ['Record the revocation and start the CA rotation that enforces it', 'What to rotate',
                               'CA rotation, start or resume'] + CA_PHASES
    unrevoke = plays(inventory, 'revoke.yml', 'otlp_tls_unrevoke=app1')
    assert started(unrevoke) == ['Record the revocation and start the CA rotation that enforces it', 'What to rotate',
                                 'CA rotation, start or resume']


LOGIC = re.compile(r'\{%|\b(map|select|reject|selectattr|rejectattr|combine|dict2items|items2dict|zip|product|flatten|'
                   r'unique|difference|intersect)\b')


@pytest.mark.parametrize('playbook', sorted(name for name in os.listdir(PLAYBOOKS) if name.endswith('.yml')))
def test_playbooks_leave_logic_to_filters(playbook):
    with open(os.path.join(PLAYBOOKS, playbook)) as handle:
        logic = [line.rstrip() for line in handle if LOGIC.search(line)]
    assert len(logic) <= 10, logic
