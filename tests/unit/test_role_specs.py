# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every role variable is prefixed otlp_tls_<role>_, documented in argument_specs, and has the same default there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ROLES = sorted(name for name in os.listdir(os.path.join(REPO, 'roles'))
               if os.path.isdir(os.path.join(REPO, 'roles', name)))


def load(role, *parts):
    with open(os.path.join(REPO, 'roles', role, *parts)) as handle:
        return yaml.safe_load(handle) or {}


def test_there_are_roles():
    assert {'ca', 'certificate'} <= set(ROLES)


@pytest.mark.parametrize('role', ROLES)
def test_defaults_and_argument_specs_agree(role):
    defaults = load(role, 'defaults', 'main.yml')
    spec = load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    prefix = 'otlp_tls_%s_' % role
    assert [name for name in defaults if not name.startswith(prefix)] == []
    assert [name for name in spec if not name.startswith(prefix)] == []
    assert sorted(defaults) == sorted(spec), 'defaults/main.yml and meta/argument_specs.yml list different variables'
    for name, value in defaults.items():
        option = spec[name]
        assert option.get('description'), '%s has no description' % name
        assert option.get('default') == value, '%s: default %r in defaults/main.yml, %r in argument_specs' % (
            name, value, option.get('default'))
