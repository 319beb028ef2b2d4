# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The exporter's copy of the certificate role's settings has that role's defaults."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


def test_the_exporter_uses_the_certificate_roles_defaults():
    defaults = load('roles', 'certificate', 'defaults', 'main.yml')
    defaults.update(load('roles', 'ca', 'defaults', 'main.yml'))
    settings = load('roles', 'exporter', 'vars', 'main.yml')['__otlp_tls_exporter_certificate_settings']
    assert settings
    for key, template in settings.items():
        # The CA's source as the CA role read it from the inventory in this play, else the variable.
        trusted = re.match(r'^\{\{ otlp_tls_ca_trusted\.resolved\.source \| default\((otlp_tls_\w+) \| default\((.*)\)\) \}\}$',
                           template)
        assert not trusted or key == 'ca_source', (key, template)
        match = trusted or re.match(r'^\{\{ (otlp_tls_\w+) \| default\((.*)\) \}\}$', template)
        assert match, (key, template)
        name, default = match.groups()
        assert name in defaults, (key, name)
        assert yaml.safe_load(default) == defaults[name], (key, name, default, defaults[name])
