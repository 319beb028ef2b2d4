# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults on the e2e fleet: an app host goes away (its container is killed) in the middle of
site.yml: the other hosts complete; once it is back, a re-run converges it and a further run
changes nothing.

(An app host killed in the middle of a CA rotation, and rotate.yml itself killed mid-phase, are
in test_rotation.py, in its one CA rotation; a collector whose new config fails validation is in
test_bad_inputs.py.) The module fixture is the story of steps; the tests assert what each step saw. Logs and summary.txt in .tmp/e2e/faults/.

    pytest tests/e2e/test_faults.py
"""

from __future__ import absolute_import, division, print_function

import os
import re

import pytest

import fleetlib

VICTIM = 'app-tls'
OTHERS = [host for host in fleetlib.HOSTS if host != VICTIM]


def say(out, text):
    with open(os.path.join(out, 'summary.txt'), 'a') as handle:
        handle.write(text + '\n')


@pytest.fixture(scope='module')
def out(default_fleet):
    return default_fleet.out_dir('faults')


@pytest.fixture(scope='module')
def site_fault(default_fleet, out):
    fleet, seen = default_fleet, {}
    fleet.moved('test_faults running (%s killed)' % VICTIM)
    runner = fleet.play_background('playbooks/site.yml', '-e', 'otlp_tls_certificate_force=true',
                                   log=os.path.join(out, 'site-1.log'))
    seen['killed'] = fleetlib.kill_when(fleet, runner, VICTIM, r'PLAY \[Apps\]')
    seen['site'] = fleet.result_of(runner)
    say(out, 'site.yml with %s killed mid-run: exit %d; %s' % (VICTIM, seen['site'].rc, seen['site'].recap(VICTIM)))
    fleetlib.bring_back(fleet, VICTIM)
    seen['rerun'] = fleet.play('playbooks/site.yml', log=os.path.join(out, 'site-2.log'))
    seen['third'] = fleet.play('playbooks/site.yml', log=os.path.join(out, 'site-3.log'))
    say(out, 'the re-run: exit %d; a further run: exit %d' % (seen['rerun'].rc, seen['third'].rc))
    if seen['rerun'].rc == 0 and seen['third'].rc == 0:
        fleet.update_state(moved=None)
    return seen


def test_site_killed_host_fails_the_run(site_fault):
    assert site_fault['killed'], 'site.yml ended before %s could be killed' % VICTIM
    assert site_fault['site'].rc != 0, 'site.yml succeeded although %s went away' % VICTIM


@pytest.mark.parametrize('host', OTHERS)
def test_site_other_hosts_complete(site_fault, host):
    recap = site_fault['site'].recap(host)
    assert re.search(r'unreachable=0 failed=0', recap), '%s did not complete: %s' % (host, recap)


def test_site_rerun_converges_the_host_that_came_back(site_fault):
    assert site_fault['rerun'].rc == 0, site_fault['rerun']


def test_site_further_run_changes_nothing(site_fault):
    third = site_fault['third']
    assert third.rc == 0, third
    changed = [third.recap(host) for host in fleetlib.HOSTS if 'changed=0 ' not in third.recap(host) + ' ']
    assert changed == [], 'a converge after the re-run still changed something: %s' % changed
