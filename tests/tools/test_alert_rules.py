# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped alert rules (prometheus/otlp-tls-alerts.yml): valid, and they fire as their unit tests say.

promtool comes from the Debian prometheus package (tests/prometheus/promtool.sh, run by scripts/setup.sh).
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RULES = os.path.join(ROOT, 'prometheus')


@pytest.fixture(scope='module')
def promtool():
    path = os.environ.get('OTLP_TLS_PROMTOOL') or subprocess.run(
        ['bash', os.path.join(ROOT, 'tests', 'prometheus', 'promtool.sh'), '--cached'],
        stdout=subprocess.PIPE, check=False).stdout.decode().strip()
    assert path and os.access(path, os.X_OK), 'no promtool: run scripts/setup.sh (step promtool)'
    return path


def run(promtool, *args):
    done = subprocess.run([promtool] + list(args), cwd=RULES, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False)
    return done.returncode, done.stdout.decode()


def test_the_rules_are_valid(promtool):
    rc, out = run(promtool, 'check', 'rules', 'otlp-tls-alerts.yml')
    assert rc == 0, out
    assert 'SUCCESS' in out


def test_promtool_test_rules_passes(promtool):
    rc, out = run(promtool, 'test', 'rules', 'otlp-tls-alerts.test.yml')
    assert rc == 0, out


def test_a_wrong_expectation_fails(promtool, tmp_path):
    """The rule tests can fail: expecting the 30-day renewal alert for a host with 40 days left does."""
    with open(os.path.join(RULES, 'otlp-tls-alerts.test.yml')) as handle:
        text = handle.read()
    broken = text.replace('rule_files: [otlp-tls-alerts.yml]',
                          'rule_files: [%s]' % os.path.join(RULES, 'otlp-tls-alerts.yml'))
    assert broken.count('otlp_tls_host: app2\n') == 1
    broken = broken.replace('otlp_tls_host: app2\n', 'otlp_tls_host: app1\n')
    path = tmp_path / 'broken.test.yml'
    path.write_text(broken)
    rc, out = run(promtool, 'test', 'rules', str(path))
    assert rc != 0 and 'FAILED' in out and 'app2' in out, out
