# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The x509_info action keeps only the module's own return values: a collector's answer to a run_once read must not
set variables on the app hosts (tests/unit/playbooks/test_trust_boundary.py runs it in a play)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.otlp.tls.plugins.action.x509_info import kept


def test_kept_drops_facts_add_host_and_unknown_keys():
    result = dict(changed=False, exists=True, problems=['expired', {'x': 1}], info=dict(dns_names=['c1']),
                  certificates_in_file=2, key_matches=None, chain_verified=True,
                  ansible_facts=dict(otlp_tls_exporter_tls_mode='none'), add_host=dict(host_name='evil'),
                  add_group='g', _ansible_no_log=False, ansible_stats={}, invocation={})
    out = kept(result)
    assert out == dict(changed=False, exists=True, problems=['expired'], info=dict(dns_names=['c1']),
                       certificates_in_file=2, key_matches=None, chain_verified=True)


def test_kept_checks_types():
    out = kept(dict(changed='yes', failed=True, msg=['x'], exists=1, certificates_in_file=True, info='text'))
    assert out == dict(failed=True)
