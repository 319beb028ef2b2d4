# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.otlp.tls.plugins.filter.sign_requests import sign_requests


def test_requests_skip_hosts_without_a_csr():
    hostvars = {
        'c1': {'csr_result': {'csr': 'CSR1', 'existing_certificate': 'CERT1'}, 'req': {'profile': 'server', 'renew_before': 40, 'force': None}},
        'a1': {'csr_result': {'csr': 'CSR2', 'existing_certificate': ''}},
        'a2': {'csr_result': {'skipped': True}},
        'a3': {'csr_result': {'failed': True, 'csr': 'X'}},
        'a4': {},
    }
    requests = sign_requests(['c1', 'a1', 'a2', 'a3', 'a4'], hostvars, 'csr_result', 'req')
    assert requests == [
        {'name': 'c1', 'csr': 'CSR1', 'existing_certificate': 'CERT1', 'profile': 'server', 'renew_before': 40},
        {'name': 'a1', 'csr': 'CSR2', 'existing_certificate': ''},
    ]


def test_loop_results_give_one_request_per_item():
    hostvars = {
        'app1': {'csr_result': {'results': [
            {'item': {'name': 'web'}, 'csr': 'CSR-W', 'existing_certificate': 'CERT-W'},
            {'item': {'name': 'worker'}, 'csr': 'CSR-K', 'existing_certificate': ''},
            {'item': {'name': 'off'}, 'skipped': True},
        ]}, 'req': {'validity_days': 90}},
    }
    assert sign_requests(['app1'], hostvars, 'csr_result', 'req') == [
        {'name': 'app1:web', 'csr': 'CSR-W', 'existing_certificate': 'CERT-W', 'validity_days': 90},
        {'name': 'app1:worker', 'csr': 'CSR-K', 'existing_certificate': '', 'validity_days': 90},
    ]
