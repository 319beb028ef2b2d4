# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.otlp.tls.plugins.filter.sign_requests import sign_requests

ENTRY = {'name': 'otlp', 'common_name': 'c1', 'subject_alt_names': ['c1', '10.0.0.5'], 'profile': 'server'}


def test_requests_take_names_from_the_grant_and_only_the_csr_from_the_host():
    hostvars = {
        # The host's registered result says other names and a profile: none of it is used.
        'c1': {'csr_result': {'results': [{'item': {'name': 'otlp', 'common_name': 'evil', 'profile': 'both'},
                                           'csr': 'CSR1', 'existing_certificate': 'CERT1', 'profile': 'both'}]}},
        'a1': {'csr_result': {'results': [{'item': {'name': 'otlp'}, 'skipped': True}]}},
        'a2': {'csr_result': {'results': [{'item': {'name': 'otlp'}, 'failed': True, 'csr': 'X'}]}},
        'a3': {},
        'a4': {'csr_result': {'results': [{'item': {'name': 'otlp'}, 'csr': 'CSR4'}]}},
    }
    grants = {'c1': {'wanted': [ENTRY], 'organization': 'Org', 'validity_days': '90', 'renew_before': 30,
                     'force': 'false'},
              'a1': {'wanted': [ENTRY]}, 'a2': {'wanted': [ENTRY]}, 'a3': {'wanted': [ENTRY]}}
    requests = sign_requests(['c1', 'a1', 'a2', 'a3', 'a4'], hostvars, 'csr_result', grants)
    # a4 is granted nothing: its CSR is not even a request.
    assert requests == [
        {'name': 'c1:otlp', 'host': 'c1', 'entry': 'otlp', 'csr': 'CSR1', 'existing_certificate': 'CERT1',
         'common_name': 'c1', 'subject_alt_names': ['c1', '10.0.0.5'], 'profile': 'server', 'organization': 'Org',
         'validity_days': 90, 'renew_before': 30, 'force': False},
    ]


def test_entries_the_inventory_does_not_grant_are_ignored():
    hostvars = {'app1': {'csr_result': {'results': [
        {'item': {'name': 'web'}, 'csr': 'CSR-W', 'existing_certificate': 'CERT-W'},
        {'item': {'name': 'extra'}, 'csr': 'CSR-X'},
    ]}}}
    web = dict(ENTRY, name='web', common_name='web@app1', subject_alt_names=['app1'], profile='client')
    assert sign_requests(['app1'], hostvars, 'csr_result', {'app1': {'wanted': [web]}}) == [
        {'name': 'app1:web', 'host': 'app1', 'entry': 'web', 'csr': 'CSR-W', 'existing_certificate': 'CERT-W',
         'common_name': 'web@app1', 'subject_alt_names': ['app1'], 'profile': 'client'},
    ]
