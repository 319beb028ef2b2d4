# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filters that read otlp.tls.host_state's answer for the collector role, and the exporter's collector read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.otlp.tls.plugins.filter.plan import (collector_coverage, collectors_to_read, file_is,
                                                              installed_paths_changed, unit_is, user_is)

DIR = dict(exists=True, kind='directory', owner='root', group='otelcol', mode='0750')


@pytest.mark.parametrize('found, expected', [
    (DIR, True),
    (dict(DIR, mode='0755'), False),
    (dict(DIR, group='root'), False),
    (dict(DIR, kind='file'), False),
    (dict(exists=False), False),
    (None, False),
    ('junk', False),
])
def test_file_is(found, expected):
    assert file_is(found, 'directory', 'root', 'otelcol', '0750') is expected


UNIT = dict(exists=True, kind='file', owner='root', group='root', mode='0644', sha256='ab' * 32)


@pytest.mark.parametrize('found, expected', [
    (UNIT, True),
    (dict(UNIT, sha256='cd' * 32), False),
    (dict(UNIT, mode='0664'), False),
    (dict(UNIT, kind='link'), False),
    (dict(exists=False), False),
])
def test_file_is_with_its_content(found, expected):
    assert file_is(found, 'file', 'root', 'root', '0644', 'ab' * 32) is expected


@pytest.mark.parametrize('found, expected', [
    (dict(load_state='loaded', active_state='active', unit_file_state='enabled'), True),
    (dict(load_state='loaded', active_state='active', unit_file_state='disabled'), False),
    (dict(load_state='loaded', active_state='failed', unit_file_state='enabled'), False),
    (dict(load_state='not-found', active_state='active', unit_file_state='enabled'), False),
    (dict(load_state='loaded', active_state='active'), False),
    ({}, False),
])
def test_unit_is(found, expected):
    assert unit_is(found, 'active', 'enabled') is expected


USER = dict(exists=True, uid=998, group='otelcol', home='/var/lib/otelcol', shell='/usr/sbin/nologin')


@pytest.mark.parametrize('found, expected', [
    (USER, True),
    (dict(USER, group='nogroup'), False),
    (dict(USER, home='/home/otelcol'), False),
    (dict(USER, shell='/bin/bash'), False),
    (dict(exists=False), False),
    (None, False),
])
def test_user_is(found, expected):
    assert user_is(found, 'otelcol', '/var/lib/otelcol', '/usr/sbin/nologin') is expected


class Hostvars(dict):
    def __getitem__(self, host):
        self.asked.append(host)
        return dict.__getitem__(self, host)


def hostvars(**hosts):
    out = Hostvars(hosts)
    out.asked = []
    return out


COLLECTORS = {'hosts': {'c1': {'endpoint_names': ['otlp.example']}, 'c2': {'endpoint_names': []}}}
SERVED = {'path': '/p', 'names': ['otlp.example', '10.0.0.1']}


def test_collectors_to_read_reads_the_collectors_that_said_nothing():
    hv = hostvars(c1={'__otlp_tls_collector_covers': SERVED}, c2={'__otlp_tls_collector_covers': SERVED},
                  app1={'otlp_tls_exporter_collector': 'c2'})
    assert collectors_to_read(COLLECTORS, hv, '/p') == []
    assert 'app1' not in hv.asked
    hv = hostvars(c1={'__otlp_tls_collector_covers': SERVED}, c2={})
    assert collectors_to_read(COLLECTORS, hv, '/p') == ['c2']
    assert collectors_to_read(COLLECTORS, hv, '/elsewhere') == ['c1', 'c2']


def test_collector_coverage_off_when_the_check_is():
    assert collector_coverage(COLLECTORS, [], hostvars(), {'check_collector_certificate': False}) == dict(check=False)
    # The string from an INI inventory or -e: false, not a true non-empty string.
    for off in ('false', 'no', '0', '', None):
        assert collector_coverage(COLLECTORS, [], hostvars(), {'check_collector_certificate': off}) == dict(check=False)
    assert collector_coverage({'skipped': True}, [], hostvars(), {'check_collector_certificate': True}) == dict(check=False)
    hv = hostvars(c1={'__otlp_tls_collector_covers': SERVED}, c2={})
    out = collector_coverage(COLLECTORS, [], hv, {'check_collector_certificate': True, 'collector_certificate': '/p',
                                                  'collector_group': 'g'})
    assert out['check'] and out['group'] == 'g' and out['names']['otlp.example'] == 'c1'
    assert out['certificates']['c1']['ip_addresses'] == ['10.0.0.1'] and 'c2' not in out['certificates']


def test_installed_paths_changed_counts_this_runs_work_only():
    installed = {'results': [
        {'item': {'name': 'collector'}, 'changed': True, 'changed_files': ['/d/ca.pem', '/d/cert.pem']},
        {'item': {'name': 'old'}, 'changed': True, 'changed_files': ['/o/ca.pem']},
        {'item': {'name': 'same'}, 'changed': False, 'changed_files': []},
        {'skipped': True}]}
    assert installed_paths_changed(installed, {'todo': ['collector', 'same']}) == ['/d/ca.pem', '/d/cert.pem']
    assert installed_paths_changed(installed, {'todo': []}) == []
    assert installed_paths_changed({}, {}) == []
