# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test collector's tls_check stand-in (tests/collector/tlscheck): its Go tests, and the built collector has it.

The Go module proxy of the test machines refuses the contrib tlscheckreceiver, so the test build carries a
receiver of the same type, configuration (file_path targets) and metric; see tests/collector/manifest.yaml.
"""

from __future__ import absolute_import, division, print_function

import os
import shutil
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MODULE = os.path.join(ROOT, 'tests', 'collector', 'tlscheck')


def go():
    return shutil.which('go') or '/usr/local/go/bin/go'


def test_go_tests_pass():
    done = subprocess.run([go(), 'test', '-count=1', './...'], cwd=MODULE, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False, env=dict(os.environ, GOFLAGS='-mod=mod'))
    assert done.returncode == 0, done.stdout.decode()


def test_go_vet_and_gofmt_are_clean():
    vet = subprocess.run([go(), 'vet', './...'], cwd=MODULE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         check=False, env=dict(os.environ, GOFLAGS='-mod=mod'))
    assert vet.returncode == 0, vet.stdout.decode()
    fmt = subprocess.run([os.path.join(os.path.dirname(os.path.realpath(go())), 'gofmt'), '-l', '.'], cwd=MODULE,
                         stdout=subprocess.PIPE, check=True)
    assert fmt.stdout.decode() == '', 'gofmt -w these: %s' % fmt.stdout.decode()


def test_the_built_collector_lists_tls_check_and_resource():
    binary = os.environ.get('OTLP_TLS_COLLECTOR_BIN')
    assert binary, 'no collector: run scripts/setup.sh (step collector)'
    listing = open(os.path.join(os.path.dirname(binary), 'components.yaml')).read()
    assert '- name: tls_check\n' in listing and 'example.invalid/otlp-tls/tlscheckreceiver' in listing
    assert '- name: resource\n' in listing
