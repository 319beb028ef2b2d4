# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the module tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from .test_modules import run_module


@pytest.fixture
def ca_dir(tmp_path):
    """A fresh CA made by x509_ca in tmp_path."""
    result = run_module('x509_ca', dict(certificate_path=str(tmp_path / 'ca.crt'),
                                        private_key_path=str(tmp_path / 'ca.key'), common_name='Unit CA'))
    assert not result.get('failed'), result
    return tmp_path
