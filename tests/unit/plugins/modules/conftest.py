# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the module tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from .test_modules import run_module


@pytest.fixture
def ca_dir(tmp_path):
    """A fresh CA made by x509_ca in tmp_path."""
    result = run_module('x509_ca', dict(certificate_path=str(tmp_path / 'ca.crt'),
                                        private_key_path=str(tmp_path / 'ca.key'), common_name='Unit CA'))
    assert not result.get('failed'), result
    return tmp_path


def fake_systemctl(tmp_path, monkeypatch, script):
    """Put ``script`` first on PATH as systemctl, for the modules that call it (systemd_dropin, host_state)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'systemctl'
    fake.write_text(script)
    fake.chmod(0o755)
    monkeypatch.setenv('PATH', str(bin_dir) + os.pathsep + os.environ['PATH'])
