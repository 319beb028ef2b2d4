# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A check run (site.yml --check --diff) on the fresh fleet succeeds and writes nothing, anywhere.

The fleet fixture runs it once, when it brings a fleet up (before site.yml), and records what it
found in .tmp/e2e/fleet.json; on a reused fleet these tests read that record (E2E_FRESH=1 runs
it again on a new fleet).
"""

from __future__ import absolute_import, division, print_function

import pytest

import fleetlib


@pytest.fixture(scope='module')
def check_run(fleet):
    return fleet.state()['check_run']


def test_check_run_succeeds(check_run):
    assert check_run['rc'] == 0, 'site.yml --check --diff failed on the fresh fleet (log: %s)' % check_run['log']


@pytest.mark.parametrize('host', fleetlib.HOSTS)
def test_check_run_wrote_nothing_on(check_run, host):
    assert check_run['wrote'][host] == [], 'the check run wrote files on %s: %s' % (host, check_run['wrote'][host])


def test_check_run_made_no_ca(check_run):
    assert check_run['wrote']['ca'] == [], 'the check run made a CA'
