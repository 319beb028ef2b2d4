# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared main helper, systemd quoting, the renewal decision, the rotation transitions and the signer seam."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.otlp.tls.plugins.module_utils import ca_checks, ca_rotation, common, pki, renewal, signer
from ansible_collections.otlp.tls.plugins.module_utils import systemd_env
from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem

NOW = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


# --- run_module -------------------------------------------------------------

class FakeModule(object):
    def __init__(self, argument_spec, **kwargs):
        self.argument_spec, self.kwargs, self.params = argument_spec, kwargs, {}
        self.exited = self.failed = None

    def exit_json(self, **result):
        self.exited = result

    def fail_json(self, **result):
        self.failed = result


def run_with(run, **kwargs):
    made = []

    def factory(**spec):
        made.append(FakeModule(**spec))
        return made[0]
    common.run_module(dict(a=dict(type='str')), run, module_class=factory, **kwargs)
    return made[0]


def test_run_module_exits_with_the_result_and_supports_check_mode():
    module = run_with(lambda m: dict(changed=True, x=1), required_together=[('a', 'b')])
    assert module.exited == dict(changed=True, x=1) and module.failed is None
    assert module.kwargs == dict(supports_check_mode=True, required_together=[('a', 'b')])


@pytest.mark.parametrize('error', [pki.PKIError('bad key'), FileProblem('bad key'), common.ca_store.LockTimeout('bad key')])
def test_user_errors_become_fail_json_with_the_message_only(error):
    def run(module):
        raise error
    module = run_with(run)
    assert module.failed == dict(msg='bad key') and module.exited is None


def test_module_failure_carries_result_keys():
    def run(module):
        raise common.ModuleFailure('nope', stage='verify')
    assert run_with(run).failed == dict(msg='nope', stage='verify')


def test_a_bug_is_not_swallowed():
    def run(module):
        raise KeyError('bug')
    with pytest.raises(KeyError):
        run_with(run)


def test_argument_spec_groups_are_copies():
    one = common.argument_spec(('files', 'checks'), x=dict(type='int'))
    assert sorted(one) == ['group', 'min_days_left', 'owner', 'profile', 'required_names', 'x']
    one['required_names']['default'].append('mutated')
    assert common.argument_spec(('checks',))['required_names']['default'] == []


# --- systemd quoting ----------------------------------------------------------

@pytest.mark.parametrize('value', ['plain', 'a "quoted" $HOME `x` \\ back', "single ' quote", '  spaced  ', '%h 100%'])
def test_environment_file_values_read_back_unchanged(value):
    text = systemd_env.environment_file_content({'V': value, 'W': 'x'})
    assert systemd_env.parse_environment_file(text) == [('V', value), ('W', 'x')]


def test_environment_line_escapes_specifiers_and_quotes():
    assert systemd_env.environment_line('A', 'x"y\\z%h') == 'Environment="A=x\\"y\\\\z%%h"'


def test_environment_problems_name_the_variable_never_the_value():
    problems = systemd_env.environment_problems({'1BAD': 'v', 'NEST': {}, 'NL': 'secret\nvalue', 'OK': 'x'})
    assert len(problems) == 3 and not any('secret' in p for p in problems)


def test_parser_trims_unquoted_values_and_keeps_comments_out():
    text = '# c\nA = one two  \n; x\nB="q\\"r" tail\nC\\\nD=\n'
    assert dict(systemd_env.parse_environment_file(text))['A'] == 'one two'
    assert dict(systemd_env.parse_environment_file(text))['B'] == 'q"rtail'


def test_filter_and_module_write_the_same_environment_file():
    from ansible_collections.otlp.tls.plugins.filter.exporter_env import systemd_environment_file
    env = {'OTEL_EXPORTER_OTLP_HEADERS': 'x-api-key=a"b$c'}
    assert systemd_environment_file(env) == systemd_env.environment_file_content(env)


# --- renewal decision -----------------------------------------------------------

GRANT = dict(subject='CN=app1', dns_names=['app1.example.internal'], ip_addresses=['10.0.0.5'], profile='client')
GOOD = dict(GRANT, not_after='2027-06-01T00:00:00Z', public_key_sha256='k1', issuer_sha256='ca1')


@pytest.mark.parametrize('facts, kwargs, expected', [
    (GOOD, {}, (False, '')),
    (None, {}, (True, 'no certificate yet')),
    (GOOD, dict(force=True), (True, 'force requested')),
    (dict(GOOD, issuer_sha256=None), {}, (True, 'not issued by the current CA')),
    (dict(GOOD, issuer_sha256='old'), {}, (True, 'not issued by the current CA')),
    (dict(GOOD, public_key_sha256='k0'), {}, (True, 'the host key changed')),
    (dict(GOOD, subject='CN=app2'), {}, (True, 'subject changed (CN=app2 -> CN=app1)')),
    (dict(GOOD, dns_names=[]), {}, (True, 'subjectAltNames changed (10.0.0.5 -> app1.example.internal,10.0.0.5)')),
    (dict(GOOD, profile='both'), {}, (True, 'profile changed (both -> client)')),
    (dict(GOOD, not_after='2026-11-20T00:00:00Z'), {}, (True, 'expires in 19 days, within renew_before (30 days)')),
    (dict(GOOD, not_after='2026-12-01T00:00:01Z'), {}, (False, '')),
    (dict(GOOD, not_after='2026-10-01T00:00:00Z'), {}, (True, 'expires in -31 days, within renew_before (30 days)')),
    (dict(GOOD, issuer_sha256='x', profile=None), {}, (True, 'not issued by the current CA; profile changed (None -> client)')),
])
def test_renewal_decision_table(facts, kwargs, expected):
    assert renewal.needs_renewal(facts, GRANT, NOW, 30, 'ca1', 'k1', **kwargs) == expected


def test_renewal_skips_what_the_caller_does_not_know():
    assert renewal.needs_renewal(dict(GOOD, issuer_sha256=None, public_key_sha256=None), GRANT, NOW, 30) == (False, '')


def test_renewal_accepts_a_grant_and_a_datetime():
    grant = pki.Grant('app1', None, ['10.0.0.5', 'app1.example.internal'], 'client')
    facts = dict(GOOD, not_after=datetime.datetime(2027, 6, 1))
    assert renewal.needs_renewal(facts, grant, NOW, 30, 'ca1', 'k1') == (False, '')


def test_certificate_facts_take_the_issuer_from_the_signature_only(tmp_path):
    ca_key = pki.generate_private_key('ec-p256')
    ca = pki.build_ca_certificate(ca_key, 'CA')
    other_key = pki.generate_private_key('ec-p256')
    other = pki.build_ca_certificate(other_key, 'CA')  # same name, another key
    key = pki.generate_private_key('ec-p256')
    cert = pki.issue_certificate(key.public_key(), pki.build_name('app1'), ['app1'], [], 'client', 30, ca_key, ca)
    assert pki.certificate_facts(cert, ca)['issuer_sha256'] == pki.certificate_fingerprint(ca)
    assert pki.certificate_facts(cert, other)['issuer_sha256'] is None
    assert pki.certificate_facts(cert)['public_key_sha256'] == pki.public_key_fingerprint(key)


# --- rotation transitions ---------------------------------------------------------

def test_record_hosts_adds_once():
    state = dict(phase='trust')
    assert ca_rotation.record_hosts(state, ['b', 'a'])
    assert not ca_rotation.record_hosts(state, ['a'])
    assert state['done'] == {'trust': ['a', 'b']}


def test_advance_walks_every_phase_when_every_host_completed_it():
    state = dict(phase='trust')
    for phase, following in (('trust', 'reissue'), ('reissue', 'retire'), ('retire', 'done')):
        ca_rotation.record_hosts(state, ['a', 'b'])
        assert ca_rotation.advance(state, ['a', 'b'], now='T') == following
        assert state['phase_started'][following] == 'T'
    assert state['finished'] == 'T'
    with pytest.raises(pki.PKIError, match='no next phase'):
        ca_rotation.advance(state, [])


def test_advance_waits_for_missing_hosts_but_not_for_revoked_ones():
    state = dict(phase='reissue', done={'reissue': ['a']})
    with pytest.raises(pki.PKIError, match=r'stays in phase reissue: 1 host\(s\) have not completed it: b'):
        ca_rotation.advance(state, ['a', 'b'])
    assert state['phase'] == 'reissue'
    assert ca_rotation.advance(state, ['a', 'b'], exempt={'b'}) == 'retire'


@pytest.mark.parametrize('phase, expected', [
    (None, ('current', ('current',))), ('trust', ('current', ('current', 'next'))),
    ('reissue', ('next', ('next', 'current'))), ('retire', ('current', ('current',))), ('done', ('current', ('current',))),
])
def test_who_signs_by_phase(phase, expected):
    assert ca_rotation.who_signs(phase) == expected


# --- CA checks and the signer seam ------------------------------------------------------

@pytest.fixture
def ca_files(tmp_path):
    key = pki.generate_private_key('ec-p256')
    cert = pki.build_ca_certificate(key, 'Unit CA')
    (tmp_path / 'ca.key').write_bytes(pki.private_key_to_pkcs8(key))
    (tmp_path / 'ca.crt').write_bytes(pki.certificate_pem(cert))
    return tmp_path, key, cert


def test_ca_checks_messages(ca_files):
    path, key, cert = ca_files
    other = pki.generate_private_key('ec-p256')
    with pytest.raises(pki.PKIError, match='do not belong together: restore the matching pair'):
        ca_checks.check_pair(other, cert, 'k', 'c')
    with pytest.raises(pki.PKIError, match='expired on .*: rotate the CA'):
        ca_checks.check_not_expired(cert, 'c', now=NOW + datetime.timedelta(days=4000))
    with pytest.raises(pki.PKIError, match='is the current CA'):
        ca_checks.check_distinct(cert, cert, 'next')
    with pytest.raises(pki.PKIError, match=r'does not belong to c \(ctx\)'):
        ca_checks.check_key_belongs(other, 'k', [cert], ['c'], 'ctx', 'fix')
    with pytest.raises(FileProblem, match='the CA is incomplete'):
        ca_checks.load_signing_pair(str(path / 'none.crt'), str(path / 'ca.key'), None)


def test_local_backend_issues_exactly_the_grant(ca_files):
    path, _key, cert = ca_files
    backend = signer.LocalCABackend(str(path / 'ca.crt'), str(path / 'ca.key')).open()
    host_key = pki.generate_private_key('ec-p256')
    csr = pki.build_csr(host_key, 'app1')
    grant = pki.Grant('app1', None, ['app1.example.internal'], 'client')
    issued = backend.issue(csr, grant, 30, pki.utcnow())
    assert pki.sans_of(issued) == (['app1.example.internal'], []) and pki.profile_of(issued) == 'client'
    assert backend.bundle() == pki.certificate_pem(cert).decode()


def test_a_backend_that_signs_beyond_the_grant_is_refused(ca_files):
    path, _key, _cert = ca_files

    class Wider(signer.LocalCABackend):
        def sign(self, csr, grant, validity_days, now):
            return pki.issue_certificate(csr.public_key(), grant.subject, grant.dns + ['evil.example'], grant.ips,
                                         'both', validity_days, self._key, self._cert, now)
    backend = Wider(str(path / 'ca.crt'), str(path / 'ca.key')).open()
    csr = pki.build_csr(pki.generate_private_key('ec-p256'), 'app1')
    with pytest.raises(pki.PKIError, match='not what was granted.*evil.example.*usage both'):
        backend.issue(csr, pki.Grant('app1', None, ['app1'], 'client'), 30, pki.utcnow())


def test_the_abstract_backend_names_what_is_missing():
    with pytest.raises(NotImplementedError):
        signer.SignerBackend().sign(None, None, 1, NOW)
    assert signer.BACKENDS['local'] is signer.LocalCABackend
