# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the e2e tests: one fleet per session (tests/e2e/fleetlib.py).

    source scripts/env.sh
    pytest tests/e2e                                   # everything (tests/e2e/run.sh does this)
    E2E_KEEP=1 pytest tests/e2e/test_faults.py         # one module; keep the fleet for the next one
    E2E_KEEP=1 pytest tests/e2e -k "java and grpc and mtls"      # one matrix cell
    pytest tests/e2e --e2e-readme                      # also write the matrix into README.md

The fleet is reused when .tmp/e2e/fleet.json says it is up and converged with the same
containers, languages (E2E_LANGUAGES) and app builds; E2E_FRESH=1 makes a new one. It is
removed at the end of the session unless E2E_KEEP=1 (or --e2e-keep).
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleetlib  # noqa: E402 pylint: disable=wrong-import-position
import matrix as matrix_table  # noqa: E402 pylint: disable=wrong-import-position


def pytest_addoption(parser):
    group = parser.getgroup('otlp.tls e2e')
    group.addoption('--e2e-readme', action='store_true', default=False,
                    help='write the language x protocol x TLS matrix into README.md at the end')
    group.addoption('--e2e-keep', action='store_true', default=False,
                    help='keep the fleet at the end (same as E2E_KEEP=1)')


def pytest_configure(config):
    def write(line):
        reporter = config.pluginmanager.get_plugin('terminalreporter')
        capture = config.pluginmanager.get_plugin('capturemanager')
        if reporter is None or capture is None:
            sys.stderr.write(line + '\n')
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)
    fleetlib.LOGGERS.append(write)


# The order that moves the fleet least: the matrix on the freshly converged fleet, the modules
# that keep the fleet on its own CA, then the two that move it to a CA of their own. Each module
# also runs alone, or in another order (fleetlib.ensure_default converges the fleet back).
ORDER = ['test_check_run', 'test_runtimes', 'test_matrix', 'test_name_constraints', 'test_rotation',
         'test_revocation', 'test_bad_inputs', 'test_faults', 'test_secrets', 'test_compromised_host', 'test_two_tier']


def pytest_collection_modifyitems(session, config, items):  # pylint: disable=unused-argument
    def rank(item):
        name = os.path.splitext(os.path.basename(str(item.fspath)))[0]
        return ORDER.index(name) if name in ORDER else len(ORDER)
    items.sort(key=rank)  # stable: the tests of a module keep their order


def keep(config):
    return config.getoption('--e2e-keep') or os.environ.get('E2E_KEEP', '') not in ('', '0')


@pytest.fixture(scope='session')
def fleet(request):
    """The converged e2e fleet (brought up, or reused), removed at the end unless kept."""
    handle = fleetlib.Fleet()
    fleetlib.ensure_up(handle)
    yield handle
    if keep(request.config):
        fleetlib.log('keeping the fleet %s (podman exec -it %s bash)' % (handle.name, handle.container('app-mtls')))
    else:
        fleetlib.down(handle)


@pytest.fixture(scope='module')
def default_fleet(fleet):
    """The fleet converged on its own CA (.tmp/e2e/ca): a module that needs it asks for this."""
    fleet.ensure_default()
    return fleet


@pytest.fixture(scope='module')
def site_fleet(fleet):
    """The fleet for a module whose first step is site.yml on the fleet's own CA: as
    default_fleet, but the converge back is that site.yml (a minute saved after a module that
    moved the fleet). The module must call fleet.moved() before anything else."""
    fleet.ensure_default(site=False)
    return fleet


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # pylint: disable=unused-argument
    results = os.path.join(fleetlib.WORK, 'results', 'matrix.json')
    if not getattr(config, '_e2e_matrix_ran', False) or not os.path.exists(results):
        return
    with open(results) as handle:
        seen = json.load(handle)
    table, _ok = matrix_table.render(seen, fleetlib.languages(), fleetlib.unsupported())
    complete = matrix_table.complete(seen, fleetlib.languages(), fleetlib.unsupported())
    terminalreporter.write_sep('=', 'e2e matrix (real SDK apps)' + ('' if complete else ', the selected cells only'))
    if complete:
        for line in table.splitlines():
            terminalreporter.write_line(line)
    else:
        for service, (spans, distinct, _highest) in sorted(seen.items()):
            if service.startswith('neg-'):
                terminalreporter.write_line('%s: %d spans recorded' % (service, spans))
            else:
                terminalreporter.write_line('%s: %d/%d spans' % (service, distinct, matrix_table.EXPECTED))
    if config.getoption('--e2e-readme') and not complete:
        terminalreporter.write_line('README.md: not written, the matrix ran only in part (-k)')
    elif config.getoption('--e2e-readme'):
        matrix_table.write_readme(table, os.path.join(fleetlib.ROOT, 'README.md'))
        terminalreporter.write_line('README.md: matrix written')
