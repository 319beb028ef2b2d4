# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults on the e2e fleet:

1. an app host goes away (its container is killed) in the middle of site.yml: the other hosts
   complete; once it is back, a re-run converges it and a further run changes nothing;
2. an app host goes away in the middle of a CA rotation: the rotation stays in its phase and
   names the host; once it is back, re-running rotate.yml completes it, and check.yml passes
   (every client trusts its collector, every handshake works).

(A collector whose new config fails validation, and rotate.yml killed mid-phase, are in
test_bad_inputs.py and test_rotation.py.) Each part is one module fixture (a story of steps);
the tests assert what each step saw. Logs and summary.txt in .tmp/e2e/faults/.

    pytest tests/e2e/test_faults.py
"""

from __future__ import absolute_import, division, print_function

import os
import re
import subprocess
import time

import pytest

import fleetlib

VICTIM = 'app-tls'
OTHERS = [host for host in fleetlib.HOSTS if host != VICTIM]


def say(out, text):
    with open(os.path.join(out, 'summary.txt'), 'a') as handle:
        handle.write(text + '\n')


def kill_when(fleet, runner, pattern, seconds=300):
    """Kill the victim's container once ``pattern`` shows up in the runner's log; False when the
    run ended (or the time passed) first."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        with open(runner.log, errors='replace') as handle:
            if re.search(pattern, handle.read()):
                subprocess.run(['podman', 'kill', fleet.container(VICTIM)], stdout=subprocess.DEVNULL, check=True)
                return True
        if runner.poll() is not None:
            return False
        time.sleep(0.25)
    return False


def bring_back(fleet):
    subprocess.run(['podman', 'start', fleet.container(VICTIM)], stdout=subprocess.DEVNULL, check=True)
    fleetlib.wait_booted(fleet, VICTIM)


@pytest.fixture(scope='module')
def out(default_fleet):
    return default_fleet.out_dir('faults')


@pytest.fixture(scope='module')
def site_fault(default_fleet, out):
    fleet, seen = default_fleet, {}
    fleet.moved('test_faults running (%s killed)' % VICTIM)
    runner = fleet.play_background('playbooks/site.yml', '-e', 'otlp_tls_certificate_force=true',
                                   log=os.path.join(out, 'site-1.log'))
    seen['killed'] = kill_when(fleet, runner, r'PLAY \[Apps\]')
    seen['site'] = fleet.result_of(runner)
    say(out, 'site.yml with %s killed mid-run: exit %d; %s' % (VICTIM, seen['site'].rc, seen['site'].recap(VICTIM)))
    bring_back(fleet)
    seen['rerun'] = fleet.play('playbooks/site.yml', log=os.path.join(out, 'site-2.log'))
    seen['third'] = fleet.play('playbooks/site.yml', log=os.path.join(out, 'site-3.log'))
    say(out, 'the re-run: exit %d; a further run: exit %d' % (seen['rerun'].rc, seen['third'].rc))
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


@pytest.fixture(scope='module')
def ca_fault(default_fleet, out, site_fault):  # pylint: disable=unused-argument
    """After site_fault (both kill the same host; one after the other)."""
    fleet, seen = default_fleet, {}
    fleet.moved('test_faults running (%s killed in a CA rotation)' % VICTIM)
    # One batch of apps and max_fail_percentage 100: the other app host goes on, so the phase
    # gate is what holds the rotation (Ansible ends a play by itself when a whole batch fails).
    runner = fleet.play_background('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=ca', '-e',
                                   'otlp_tls_rotate_max_fail_percentage=100', '-e', 'otlp_tls_rotate_app_serial=100%',
                                   log=os.path.join(out, 'ca-1.log'))
    seen['killed'] = kill_when(fleet, runner, r'PLAY \[CA rotation, apps, phase trust\]')
    seen['rotate'] = fleet.result_of(runner)
    seen['phase'] = (fleet.rotation_phase() or {}).get('phase')
    held = re.search(r'stays in phase trust[^.]*', seen['rotate'].out)
    say(out, 'CA rotation with %s killed in phase trust: exit %d, held: %s' % (
        VICTIM, seen['rotate'].rc, held.group(0) if held else None))
    seen['status'] = fleet.play('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=status', log=os.path.join(out, 'status.log'))
    bring_back(fleet)
    seen['resume'] = fleet.play('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=ca', log=os.path.join(out, 'ca-2.log'))
    seen['phase_after'] = (fleet.rotation_phase() or {}).get('phase')
    fleet.play_ok('tests/e2e/rotation_load.yml', log=os.path.join(out, 'load.log'))
    time.sleep(3)
    seen['check'] = fleet.play('playbooks/check.yml', '-e', 'otlp_tls_check_report=%s/check.json' % out,
                               log=os.path.join(out, 'check.log'))
    if seen['resume'].rc == 0 and seen['check'].rc == 0:
        fleet.update_state(moved=None)
    say(out, 'once %s was back: rotate.yml exit %d (phase %s), check.yml exit %d'
        % (VICTIM, seen['resume'].rc, seen['phase_after'], seen['check'].rc))
    return seen


def test_ca_rotation_killed_host_fails_the_run(ca_fault):
    assert ca_fault['killed'], 'rotate.yml ended before %s could be killed' % VICTIM
    assert ca_fault['rotate'].rc != 0, 'rotate.yml succeeded although %s went away' % VICTIM


def test_ca_rotation_holds_the_phase_and_names_the_host(ca_fault):
    out = re.sub(r'\s+', ' ', ca_fault['rotate'].out)
    assert 'stays in phase trust: 1 host(s) have not completed it: %s' % VICTIM in out, \
        'rotate.yml did not hold the phase for %s' % VICTIM


def test_ca_rotation_state_stays_in_phase_trust(ca_fault):
    assert ca_fault['phase'] == 'trust', 'the rotation moved on to %s without %s' % (ca_fault['phase'], VICTIM)


def test_rotation_status_shows_the_host_pending(ca_fault):
    assert ca_fault['status'].rc == 0, ca_fault['status']
    # The host alone: the list of pending hosts ends with it.
    assert re.search(r'pending in trust: %s(?![\w,-])' % VICTIM, ca_fault['status'].out), \
        'rotate.yml status does not show %s pending: %r' % (VICTIM, ca_fault['status'])


def test_resumed_rotation_completes(ca_fault):
    assert ca_fault['resume'].rc == 0, ca_fault['resume']
    assert ca_fault['phase_after'] == 'done', 'the resumed rotation ended in phase %s' % ca_fault['phase_after']


def test_check_yml_passes_after_the_resumed_rotation(ca_fault):
    assert ca_fault['check'].rc == 0, ca_fault['check']
