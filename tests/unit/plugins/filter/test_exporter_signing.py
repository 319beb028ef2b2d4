# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The exporter role's own signing (roles/exporter/tasks/sign.yml): who signs, what the inventory grants, the requests,
the refusals and what the drop-in task installs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.otlp.tls.plugins.filter.plan import (
    exporter_grants, exporter_installs, exporter_unsigned, prepared_signers,
)
from ansible_collections.otlp.tls.plugins.filter.sign_requests import prepared_sign_requests
from ansible_collections.otlp.tls.plugins.module_utils.csr import csr_params
from ansible_collections.otlp.tls.plugins.plugin_utils.host_plan import signs_prepared

SETTINGS = dict(source='generated', key_location='host', validity_days='90', renew_before_days='30', force=False,
                rotate_key=False, key_type='ec-p256', organization='')
CERT = dict(name='web', dir='/etc/otlp-tls/web', profile='client', key_mode='0600', owner='web', group='web',
            common_name='web@app1', subject_alt_names=['app1'])


def prepared_for(cert, settings=None, **changes):
    return dict(csr='CSR-' + cert['name'], existing_certificate='', prepared_params=dict(
        csr_params(cert, settings or SETTINGS), **changes))


def plan_result(**changes):
    result = dict(sign_prepared=True, certificates_todo=['web'], certificates=[CERT],
                  prepared_csrs={'web': prepared_for(CERT)},
                  plan=[dict(unit='web.service', certificate=dict(name='web')),
                        dict(unit='web-worker.service', certificate=dict(name='web')),
                        dict(unit='db.service', certificate=dict(name='db'))])
    result.update(changes)
    return result


def test_signs_prepared_only_when_every_csr_was_made_as_the_certificate_role_would():
    prepared = {'web': prepared_for(CERT)}
    assert signs_prepared([CERT], ['web'], prepared, SETTINGS)
    # Nothing to sign, keys made on the CA host, provided files: the certificate role's path.
    assert not signs_prepared([CERT], [], prepared, SETTINGS)
    assert not signs_prepared([CERT], ['web'], prepared, dict(SETTINGS, key_location='ca_host'))
    assert not signs_prepared([CERT], ['web'], prepared, dict(SETTINGS, source='provided'))
    # A CSR missing, or made with another owner, key type or names: not signed here.
    db = dict(CERT, name='db', dir='/etc/otlp-tls/db')
    assert not signs_prepared([CERT, db], ['web', 'db'], prepared, SETTINGS)
    assert not signs_prepared([CERT], ['web'], {'web': prepared_for(CERT, owner='root')}, SETTINGS)
    assert not signs_prepared([CERT], ['web'], prepared, dict(SETTINGS, key_type='rsa-3072'))
    assert not signs_prepared([dict(CERT, subject_alt_names=['app1', 'evil'])], ['web'], prepared, SETTINGS)
    assert not signs_prepared([CERT], ['web'], {'web': dict(prepared['web'], csr='')}, SETTINGS)


def test_grants_come_from_the_inventory_view_and_need_mtls_with_keys_on_the_host():
    view = dict(otlp_tls_exporter_tls_mode='mtls', otlp_tls_exporter_certificates=[CERT],
                __otlp_tls_exporter_certificate_settings=SETTINGS)
    grants = exporter_grants({
        'app1': view,
        'app2': dict(view, otlp_tls_exporter_tls_mode='tls'),
        'app3': dict(view, __otlp_tls_exporter_certificate_settings=dict(SETTINGS, key_location='ca_host')),
        'app4': dict(view, __otlp_tls_exporter_certificate_settings=dict(SETTINGS, source='provided')),
        'app5': dict(view, __otlp_tls_exporter_certificate_settings='not a dict'),
        'app6': 'not a dict',
    })
    assert grants == {'app1': dict(wanted=[CERT], organization='', validity_days='90', renew_before='30', force=False,
                                   key_location='host', key_type='ec-p256')}


def test_signers_are_the_hosts_whose_registered_plan_says_so():
    hostvars = {'app1': {'p': plan_result()}, 'app2': {'p': plan_result(sign_prepared=False)},
                'app3': {'p': plan_result(certificates_todo=[])}, 'app4': {'p': 'injected'},
                'app5': {'p': plan_result(sign_prepared='yes')}, 'app6': {}}
    assert prepared_signers(['app1', 'app2', 'app3', 'app4', 'app5', 'app6', 'gone'], hostvars, 'p') == ['app1']


def test_requests_take_names_from_the_grant_and_only_the_csr_from_the_plan():
    grant = exporter_grants({'app1': dict(otlp_tls_exporter_tls_mode='mtls', otlp_tls_exporter_certificates=[CERT],
                                          __otlp_tls_exporter_certificate_settings=SETTINGS)})['app1']
    hostvars = {
        # The CSR's entry says other names: the request takes the grant's.
        'app1': {'p': plan_result(prepared_csrs={'web': dict(prepared_for(CERT), common_name='evil')})},
        # Not signing its own CSRs, or no grant, or a CSR for an entry not in its todo: no request.
        'app2': {'p': plan_result(sign_prepared=False)},
        'app3': {'p': plan_result()},
        'app4': {'p': plan_result(certificates_todo=['db'], prepared_csrs={'web': prepared_for(CERT)})},
        'app5': {'p': plan_result(prepared_csrs='junk')},
    }
    grants = {'app1': grant, 'app2': grant, 'app4': grant, 'app5': grant}
    assert prepared_sign_requests(['app1', 'app2', 'app3', 'app4', 'app5'], hostvars, 'p', grants) == [
        {'name': 'app1:web', 'host': 'app1', 'entry': 'web', 'csr': 'CSR-web', 'existing_certificate': '',
         'common_name': 'web@app1', 'subject_alt_names': ['app1'], 'profile': 'client', 'validity_days': 90,
         'renew_before': 30, 'force': False},
    ]


def test_a_refused_or_ungranted_certificate_stops_its_host_and_a_revoked_one_does_not():
    signed = dict(certificates={'app1:web': dict(certificate='C')}, refused={'app2:web': 'host app2, certificate web: no',
                                                                             'app20:web': 'other host'},
                  revoked=['app3:web'])
    plan = plan_result()
    assert exporter_unsigned(signed, 'app1', plan) == []
    assert exporter_unsigned(signed, 'app2', plan) == ['host app2, certificate web: no']
    assert exporter_unsigned(signed, 'app3', plan) == []
    missing = exporter_unsigned(signed, 'app4', plan)
    assert len(missing) == 1 and 'host app4, certificate web: the inventory grants no such' in missing[0]
    # No request made (the sign task skipped) or a malformed result: every entry is reported.
    assert len(exporter_unsigned(dict(skipped=True), 'app4', plan)) == 1
    assert len(exporter_unsigned(None, 'app4', plan)) == 1
    # A check run against a CA not made yet signs nothing and stops nobody.
    assert exporter_unsigned(dict(skipped=True), 'app4', plan, True) == []


def test_installs_are_the_signed_certificates_of_the_todo_with_their_units():
    signed = dict(certificates={'app1:web': dict(certificate='CERT'), 'app1:db': dict(certificate='DB')}, chain='CHAIN')
    db = dict(CERT, name='db', dir='/etc/otlp-tls/db')
    installs = exporter_installs(signed, plan_result(certificates=[CERT, db]), 'app1', 'BUNDLE')
    assert installs == [dict(name='web', certificate='CERT', certificate_path='/etc/otlp-tls/web/cert.pem',
                             chain='CHAIN', fullchain_path='/etc/otlp-tls/web/fullchain.pem', trust_bundle='BUNDLE',
                             trust_bundle_path='/etc/otlp-tls/web/ca.pem', private_key_path='/etc/otlp-tls/web/key.pem',
                             private_key_mode='0600', owner='web', group='web', profile='client',
                             units=['web.service', 'web-worker.service'])]
    assert exporter_installs(dict(skipped=True), plan_result(), 'app1', 'BUNDLE') == []


def test_the_drop_in_task_stops_a_refused_host_before_its_module_runs():
    from ansible_collections.otlp.tls.plugins.action.systemd_dropin import refusal
    assert refusal('app1', []) is None and refusal('app1', None) is None and refusal('app1', ['']) is None
    stop = refusal('app1', ['host app1, certificate web: the CSR asks for CN=evil', 'second'])
    assert stop['failed'] and not stop['changed']
    assert stop['msg'] == ('The CA refused to sign for app1: host app1, certificate web: the CSR asks for CN=evil | '
                           'second. No drop-in or certificate was written.')
