# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller-side plan: certificate entries and decisions, the exporter plan, drop-in comparison."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os

import pytest

from ansible_collections.otlp.tls.plugins.filter import plan as plan_filters
from ansible_collections.otlp.tls.plugins.filter.exporter_env import exporter_env
from ansible_collections.otlp.tls.plugins.module_utils import cert_decision, pki
from ansible_collections.otlp.tls.plugins.modules import host_state
from ansible_collections.otlp.tls.plugins.plugin_utils import host_plan

NOW = pki.utcnow()
DEFAULTS = dict(name='otlp', dir='/etc/otlp-tls/otlp', profile='client', common_name='app1',
                subject_alt_names=['app1'], owner='root', group='root', key_mode='0600', provided_certificate='',
                provided_private_key='', provided_chain='')
SETTINGS = dict(source='generated', ca_source='generated', key_location='host', validity_days=365, renew_before_days=30,
                force=False, rotate_key=False, key_type='ec-p256', organization='')


def pem(cert):
    return pki.certificate_pem(cert).decode('ascii')


@pytest.fixture(scope='module')
def ca():
    key = pki.generate_private_key('ec-p256')
    cert = pki.build_ca_certificate(key, 'Plan CA', now=NOW - datetime.timedelta(days=1))
    return key, cert


def leaf(ca, key, names=('app1',), days=365, cn='app1', profile='client'):
    ca_key, ca_cert = ca
    grant = pki.Grant(cn, None, list(names), profile)
    return pki.issue_certificate(key.public_key(), grant.subject, grant.dns, grant.ips, profile, days, ca_key, ca_cert,
                                 now=NOW - datetime.timedelta(days=1))


def state_for(ca, cert, key, **overrides):
    """What host_state returns for a directory the full path left as it should."""
    files = {name: dict(exists=True, kind='file', owner='root', group='root', mode='0644') for name in
             ('cert.pem', 'fullchain.pem', 'ca.pem')}
    files['cert.pem']['text'] = pem(cert)
    files['fullchain.pem']['text'] = pem(cert) + pem(ca[1])
    files['ca.pem']['text'] = pem(ca[1])
    files['key.pem'] = dict(exists=True, kind='file', owner='root', group='root', mode='0600')
    files['dir'] = dict(exists=True, kind='directory', owner='root', group='root', mode='0750')
    out = dict(files=files, key_public_fingerprint=pki.public_key_fingerprint(key), key_pkcs8=True, key_type='ec-p256',
               staged_key=False)
    out.update(overrides)
    return {'otlp': out}


def decide(ca, state, **settings):
    entries = host_plan.certificate_entries([], DEFAULTS)
    return cert_decision.certificate_decisions(entries, state, dict(certificate=pem(ca[1]), bundle=pem(ca[1])),
                                               dict(SETTINGS, **settings))['otlp']


def test_a_good_certificate_needs_nothing(ca):
    key = pki.generate_private_key('ec-p256')
    assert decide(ca, state_for(ca, leaf(ca, key), key)) == []
    # -e otlp_tls_certificate_force=false arrives as a string
    assert decide(ca, state_for(ca, leaf(ca, key), key), force='false', rotate_key='False') == []


@pytest.mark.parametrize('change, reason', [
    (dict(force=True), 're-issue forced'),
    (dict(rotate_key=True), 'a new key was asked for'),
    (dict(renew_before_days=400), 'within renew_before'),
    (dict(key_type='rsa-2048'), 'key type changed'),
])
def test_settings_that_need_the_signing_path(ca, change, reason):
    key = pki.generate_private_key('ec-p256')
    assert any(reason in r for r in decide(ca, state_for(ca, leaf(ca, key), key), **change))


def test_what_the_host_has_that_needs_the_signing_path(ca):
    key = pki.generate_private_key('ec-p256')
    cert = leaf(ca, key)
    other_key = pki.generate_private_key('ec-p256')
    other_ca = (other_key, pki.build_ca_certificate(other_key, 'Other CA', now=NOW - datetime.timedelta(days=1)))
    cases = {
        'names': (state_for(ca, leaf(ca, key, names=('old-name',)), key), 'subjectAltNames changed'),
        'profile': (state_for(ca, leaf(ca, key, profile='server'), key), 'profile changed'),
        'other CA': (state_for(other_ca, leaf(other_ca, key), key), 'not issued by the current CA'),
        'key': (state_for(ca, cert, pki.generate_private_key('ec-p256')), 'the key does not belong'),
        'no key': (state_for(ca, cert, key, key_public_fingerprint=None), 'the key is missing'),
        'pkcs1': (state_for(ca, cert, key, key_pkcs8=False), 'not PKCS#8'),
        'staged': (state_for(ca, cert, key, staged_key=True), 'staged key'),
        'not read': ({}, 'not read'),
    }
    for name, (state, reason) in cases.items():
        reasons = decide(ca, state)
        assert any(reason in r for r in reasons), (name, reasons)


def test_files_that_differ_need_the_signing_path(ca):
    key = pki.generate_private_key('ec-p256')
    cert = leaf(ca, key)
    edits = [
        (('ca.pem', 'text', pem(leaf(ca, key))), 'ca.pem differs'),
        (('fullchain.pem', 'text', pem(cert)), 'fullchain.pem differs'),
        (('cert.pem', 'mode', '0666'), 'cert.pem owner, group or mode'),
        (('key.pem', 'mode', '0644'), 'key.pem owner, group or mode'),
        (('key.pem', 'owner', 'nobody'), 'key.pem owner, group or mode'),
        (('dir', 'group', 'otelcol'), 'the directory owner'),
        (('cert.pem', 'text', 'garbage'), 'no readable certificate'),
    ]
    for (name, field, value), reason in edits:
        state = state_for(ca, cert, key)
        state['otlp']['files'][name][field] = value
        assert any(reason in r for r in decide(ca, state)), (name, field)


def test_an_unknown_ca_needs_the_signing_path(ca):
    key = pki.generate_private_key('ec-p256')
    entries = host_plan.certificate_entries([], DEFAULTS)
    decisions = cert_decision.certificate_decisions(entries, state_for(ca, leaf(ca, key), key), {}, SETTINGS)
    assert 'the CA is not known yet' in decisions['otlp']


def test_entries_fill_every_setting():
    entries = host_plan.certificate_entries([{'name': 'web', 'key_mode': 384}, {'name': 'db', 'dir': '/srv/db'}],
                                            DEFAULTS)
    assert [e['dir'] for e in entries] == ['/etc/otlp-tls/web', '/srv/db']
    assert entries[0]['key_mode'] == '384' and entries[1]['common_name'] == 'app1'
    assert host_plan.certificate_entries([], DEFAULTS)[0]['dir'] == '/etc/otlp-tls/otlp'


@pytest.mark.parametrize('items, settings, message', [
    ([{'name': 'a b'}], {}, 'plain file name'),
    ([{'name': 'a'}, {'name': 'a', 'dir': '/x'}], {}, 'used twice'),
    ([{'name': 'a', 'dir': 'rel'}], {}, 'absolute path'),
    ([{'name': 'a', 'dir': '/x'}, {'name': 'b', 'dir': '/x'}], {}, 'directory /x is used twice'),
    ([{'name': 'a', 'profile': 'peer'}], {}, 'profile must be one of'),
    ([{'name': 'a', 'key_mode': '0644'}], {}, 'never world-readable'),
    ([{'name': 'a'}], {'renew_before_days': 400}, 'renew_before (400)'),
    ([{'name': 'a'}], {'ca_source': 'provided'}, 'otlp_tls_ca_source=generated'),
    ([{'name': 'a'}], {'source': 'provided'}, 'needs provided_certificate'),
    ([{'name': 'a'}], {'source': '../../collector/tasks/install'}, 'must be generated or provided'),
    ([{'name': 'a'}], {'key_location': 'elsewhere'}, 'must be host or ca_host'),
    ([{'name': 'a'}], {'key_type': 'dsa-1024'}, 'otlp_tls_certificate_key_type must be one of ec-p256'),
    ([{'name': 'a'}], {'organization': ['Org']}, 'otlp_tls_certificate_organization must be text'),
])
def test_certificate_problems_name_the_host_item_and_fix(items, settings, message):
    entries = host_plan.certificate_entries(items, DEFAULTS)
    problems = host_plan.certificate_problems(entries, dict(SETTINGS, **settings), 'app1')
    assert problems and 'for app1' in problems[0] and message in problems[0], problems


EXPORTER = dict(tls_mode='mtls', certificate_scope='unit', collector='collector1', collector_group='otlp_collectors',
                grpc_port=4317, http_port=4318, protocol='grpc', signals=['traces'], timeout=10000, compression='gzip',
                resource_attributes={'env': 'prod'})
UNITS = {'web.service': dict(load_state='loaded', active_state='active', user='web', group='web'),
         'db.service': dict(load_state='loaded', active_state='inactive', user='db', group='dbg')}


def test_exporter_plan_per_unit():
    apps = [{'unit': 'web', 'language': 'python', 'headers': {'x-key': 'secret'}}, {'unit': 'db.service', 'language': 'go'}]
    plan, problems = host_plan.exporter_plan(apps, EXPORTER, 'app1', UNITS, exporter_env)
    assert problems == []
    web, db = plan
    assert web['unit'] == 'web.service' and web['active'] and not db['active']
    assert web['env']['OTEL_EXPORTER_OTLP_CLIENT_KEY'] == '/etc/otlp-tls/web/key.pem'
    assert 'OTEL_EXPORTER_OTLP_HEADERS' not in web['env'] and web['header_names'] == ['x-key']
    assert 'secret' not in repr(plan)
    assert db['certificate'] == {'name': 'db', 'dir': '/etc/otlp-tls/db', 'profile': 'client', 'owner': 'db',
                                 'group': 'dbg', 'key_mode': '0600', 'common_name': 'db@app1',
                                 'subject_alt_names': ['app1']}
    certs = host_plan.exporter_certificates(apps, EXPORTER, 'app1', plan)
    assert [(c['name'], c['owner']) for c in certs] == [('web', 'web'), ('db', 'db')]
    assert [c['owner'] for c in host_plan.exporter_certificates(apps, EXPORTER, 'app1')] == ['root', 'root']


def test_exporter_plan_problems():
    apps = [{'unit': 'web', 'language': 'python'}, {'unit': 'gone', 'language': 'go'},
            {'unit': 'db', 'language': 'cobol'}]
    _plan, problems = host_plan.exporter_plan(apps, EXPORTER, 'app1', UNITS, exporter_env)
    assert any(p.startswith('db.service: ') and 'cobol' in p for p in problems), problems
    assert any('gone.service do not exist on app1' in p for p in problems), problems
    _plan, problems = host_plan.exporter_plan(apps[:1] + [{'unit': 'db', 'language': 'go'}],
                                              dict(EXPORTER, certificate_scope='host'), 'app1', UNITS, exporter_env)
    assert any('must run as the same user' in p for p in problems)


@pytest.mark.parametrize('apps, settings, message', [
    ('web', {}, 'must be a list'),
    ([{'unit': 'web', 'headers': {'x-key': 'SECRET'}}], {}, 'needs a unit and a language (it has: headers, unit)'),
    ([{'unit': '', 'language': 'go', 'headers': {'x-key': 'SECRET'}}], {}, 'needs a unit and a language'),
    ([{'unit': 'web', 'language': 'go'}, {'unit': 'web.service', 'language': 'go'}], {}, 'twice: web'),
    ([{'unit': 'web', 'language': 'go'}], {'collector': ''}, 'set otlp_tls_exporter_collector'),
    ([{'unit': 'web', 'language': 'go'}], {'collector': 'https://c1'}, 'without scheme or path'),
])
def test_exporter_input_problems(apps, settings, message):
    problems = host_plan.exporter_input_problems(apps, dict(EXPORTER, **settings), 'app1')
    assert problems and message in problems[0], problems
    assert 'SECRET' not in ' '.join(problems)


def plan_of(*collectors):
    return [{'collector': name} for name in collectors]


def test_collector_names_and_problems():
    names = host_plan.collector_names(['c1', 'c2'], {'c1': ['otlp.example'], 'c2': ['otlp.example', 'c2.example']})
    assert names == {'c1': 'c1', 'otlp.example': 'c1', 'c2': 'c2', 'c2.example': 'c2'}
    results = [dict(item='c1', problems=[], info=dict(subject='CN=c1', dns_names=['c1', '*.example'],
                                                      ip_addresses=['10.0.0.1']))]
    collectors = host_plan.collector_coverage(names, results, {}, '/p', 'otlp_collectors')
    problems = host_plan.collector_problems(plan_of('c1', 'nowhere', 'otlp.example', '10.0.0.1'), collectors, 'app1')
    assert len(problems) == 1 and 'would connect to nowhere' in problems[0] and 'group otlp_collectors' in problems[0]
    # c2 was neither read nor said what it covers: refused, not let through.
    problems = host_plan.collector_problems(plan_of('c2.example'), collectors, 'app1')
    assert 'the certificate of c2.example was not read' in problems[0]
    # A wildcard covers one label only; an IP must be an IP SAN.
    collectors['names'].update({'a.b.example': 'c1', '10.0.0.2': 'c1'})
    problems = host_plan.collector_problems(plan_of('a.b.example', '10.0.0.2'), collectors, 'app1')
    assert len(problems) == 1 and 'do not cover a.b.example' in problems[0] and 'do not cover 10.0.0.2' in problems[0]
    assert host_plan.collector_problems(plan_of('nowhere'), dict(collectors, check=False), 'app1') == []


def test_the_agent_name_is_the_hosts_own_agent():
    """Apps on an agent's host dial otlp-agent.<host>: that host's own certificate counts, and no other's."""
    # The exporter role reads the agents' endpoint names from the inventory: the collector role's default
    # (otlp-agent.<host> on an agent) is not among them, so the name is known from the group alone.
    names = host_plan.collector_names(['c1', 'a1', 'a2'], {})
    served = {'a1': {'path': '/p', 'names': ['otlp-agent.a1']}, 'a2': {'path': '/p', 'names': ['otlp-agent.a1']}}
    agents = host_plan.collector_coverage(names, [], served, '/p', 'otlp_agents')
    assert host_plan.collector_problems(plan_of('otlp-agent.a1'), agents, 'a1') == []
    # a2's certificate carries a1's agent name, not its own: refused.
    problems = host_plan.collector_problems(plan_of('otlp-agent.a2'), agents, 'a2')
    assert len(problems) == 1 and 'do not cover otlp-agent.a2' in problems[0]
    # Another host's agent name, or one for a host outside the group, is no collector's name.
    for host, name in (('a2', 'otlp-agent.a1'), ('elsewhere', 'otlp-agent.elsewhere'), ('a1', '127.0.0.1')):
        problems = host_plan.collector_problems(plan_of(name), agents, host)
        assert len(problems) == 1 and 'would connect to %s, which is neither' % name in problems[0]


def test_collector_coverage_reads_errors_missing_files_and_what_the_collector_role_said():
    names = {'c1': 'c1', 'c2': 'c2', 'c3': 'c3', '192.0.2.1': 'c3'}
    results = [dict(item='c1', problems=['certificate /p does not exist'], exists=False),
               dict(item='c2', failed=True, msg='unreachable'),
               dict(item='c3', skipped=True)]
    served = {'c3': {'path': '/p', 'names': ['C3.', '192.0.2.1']}, 'c1': {'path': '/other', 'names': ['c1']}}
    collectors = host_plan.collector_coverage(names, results, served, '/p', 'g')
    assert collectors['certificates']['c3']['ip_addresses'] == ['192.0.2.1']
    problems = host_plan.collector_problems(plan_of('c1', 'c2', 'c3', '192.0.2.1'), collectors, 'app1')
    assert len(problems) == 1
    assert 'does not exist' in problems[0] and 'c2 could not be read: unreachable' in problems[0]
    assert 'do not cover' not in problems[0]
    assert host_plan.collector_problems(plan_of('c3', '192.0.2.1'), collectors, 'app1') == []
    # A check run of a fresh fleet: the collector play would make the file.
    assert host_plan.collector_problems(plan_of('c1'), collectors, 'app1', check_mode=True) == []


@pytest.mark.parametrize('result', [
    dict(item='c1', problems=[], info=dict(dns_names=1)),
    dict(item='c1', problems=[], info=dict(dns_names=['c1'], ip_addresses=[{'x': 1}])),
    dict(item='c1', problems=[], info=dict(dns_names=['c1'], subject=['x'])),
    dict(item='c1', problems='expired'),
    dict(item='c1', problems=[1]),
    dict(item='c1', unreachable=True, msg='ssh went away'),
])
def test_a_malformed_or_missing_answer_is_that_collectors_problem_only(result):
    names = {'c1': 'c1', 'c2': 'c2'}
    good = dict(item='c2', problems=[], info=dict(subject='CN=c2', dns_names=['c2'], ip_addresses=[]))
    collectors = host_plan.collector_coverage(names, [result, good], {'c1': {'path': '/p', 'names': [1]}}, '/p', 'g')
    assert 'error' in collectors['certificates']['c1']
    assert host_plan.collector_problems(plan_of('c2'), collectors, 'app1') == []
    assert 'the certificate of c1 could not be read' in host_plan.collector_problems(plan_of('c1'), collectors, 'app1')[0]


def test_collectors_to_read_skips_served():
    names = {'c1': 'c1', 'otlp.example': 'c1', 'c2': 'c2'}
    served = {'c1': {'path': '/p', 'names': ['c1']}}
    assert host_plan.collectors_to_read(names, served, '/p') == ['c2']
    assert host_plan.collectors_to_read(names, served, '/other') == ['c1', 'c2']
    # A malformed value (an injected fact, say) counts as not said.
    assert host_plan.collectors_to_read(names, {'c1': {'path': '/p', 'names': 'c1'}}, '/p') == ['c1', 'c2']
    assert host_plan.collectors_to_read(None, served, '/p') == []


def test_dropin_changes_compare_text_attributes_and_secret_digest():
    paths = host_plan.dropin_paths('web.service', '50-otlp-tls.conf')
    want = {'web.service': dict(paths=paths, group='web', dropin='[Service]\nA=1\n', env='T="x"\n')}
    key = 'k' * 64

    def d(**changes):
        return dict(dict(exists=True, kind='directory', owner='root', group='root'), **changes)

    def files(dropin='[Service]\nA=1\n', env='T="x"\n', env_mode='0640'):
        return {paths['dir']: d(mode='0755'), paths['env_dir']: d(mode='0711'),
                paths['dropin']: d(kind='file', mode='0644', sha256=hashlib.sha256(dropin.encode()).hexdigest()),
                paths['env']: d(kind='file', group='web', mode=env_mode, hmac=host_plan.digest(key, env))}
    assert host_plan.dropin_changes(want, files(), key) == []
    assert host_plan.dropin_changes(want, files(dropin='[Service]\nA=2\n'), key) == ['web.service']
    assert host_plan.dropin_changes(want, files(env='T="y"\n'), key) == ['web.service']
    assert host_plan.dropin_changes(want, files(env_mode='0644'), key) == ['web.service']
    assert host_plan.dropin_changes(want, files(), 'another key') == ['web.service']
    no_secret = {'web.service': dict(want['web.service'], env=None)}
    assert host_plan.dropin_changes(no_secret, files(), key) == ['web.service']  # the old env file must go


def test_trust_differs_on_text_owner_and_directory(tmp_path):
    bundle = '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n'
    trust_dir = tmp_path / 'trust'
    trust_dir.mkdir(mode=0o755)
    os.chmod(str(trust_dir), 0o755)
    (trust_dir / 'ca.pem').write_text(bundle)
    os.chmod(str(trust_dir / 'ca.pem'), 0o644)

    def sha(data):
        return dict(sha256=hashlib.sha256(data).hexdigest())

    # What host_state reports for the two paths, under the names the plan asks for.
    read = {host_plan.TRUST_DIR: host_state.stat_path(str(trust_dir), sha),
            host_plan.TRUST_BUNDLE: host_state.stat_path(str(trust_dir / 'ca.pem'), sha)}
    assert host_plan.trust_differs(read, bundle) is False
    assert host_plan.trust_differs(read, bundle + bundle) is True  # a CA added (rotation overlap)
    assert host_plan.trust_differs(read, None) is True  # no CA given: write it
    assert host_plan.trust_differs({}, bundle) is True  # nothing there yet
    os.chmod(str(trust_dir / 'ca.pem'), 0o600)
    assert host_plan.trust_differs({host_plan.TRUST_DIR: read[host_plan.TRUST_DIR],
                                    host_plan.TRUST_BUNDLE: host_state.stat_path(str(trust_dir / 'ca.pem'), sha)},
                                   bundle) is True


def test_host_state_reads_a_certificate_directory(tmp_path, ca):
    key = pki.generate_private_key('ec-p256')
    cert = leaf(ca, key)
    (tmp_path / 'cert.pem').write_text(pem(cert))
    (tmp_path / 'key.pem').write_bytes(pki.private_key_to_pkcs8(key))
    os.chmod(str(tmp_path / 'key.pem'), 0o600)
    got = host_state.read_certificate_dir(str(tmp_path))
    assert got['key_public_fingerprint'] == pki.public_key_fingerprint(key) and got['key_pkcs8'] is True
    assert got['files']['cert.pem']['text'] == pem(cert) and 'text' not in got['files']['key.pem']
    assert got['files']['key.pem']['mode'] == '0600' and got['files']['ca.pem'] == dict(exists=False)
    assert got['staged_key'] is False


def test_filters_pick_this_runs_work():
    plan = {'todo': ['web']}
    installed = {'results': [dict(changed=True, item={'name': 'web'}), dict(changed=True, item={'name': 'db'})]}
    assert plan_filters.certificates_changed(plan, installed) == ['web']
    assert plan_filters.certificates_changed({'todo': []}, installed) == []
    units = [{'unit': 'web.service', 'certificate': {'name': 'web'}}, {'unit': 'db.service', 'certificate': {'name': 'db'}}]
    assert plan_filters.restart_units(units, ['web']) == ['web.service']
    assert plan_filters.restart_units(units, [], True) == ['web.service', 'db.service']
    signed = {'certificates': {'app1:web': {}, 'app10:db': {}}, 'refused': {'app1:db': 'no', 'app10:web': 'x'}}
    assert plan_filters.signed_entries([{'name': 'web'}, {'name': 'db'}], signed, 'app1') == [{'name': 'web'}]
    assert plan_filters.refused_for(signed, 'app1') == ['no']
    assert plan_filters.parent_dirs([{'dir': '/etc/otlp-tls/a'}, {'dir': '/srv/x/b'}]) == ['/srv/x']


def test_injected_shapes_can_not_fail_the_batch_signing():
    from ansible_collections.otlp.tls.plugins.filter.sign_requests import sign_requests
    hostvars = {'honest': {'otlp_tls_certificate_plan': {'todo': ['otlp']},
                           'csr': {'results': [{'item': {'name': 'otlp'}, 'csr': 'PEM'}]}},
                'liar1': {'otlp_tls_certificate_plan': 'x', 'csr': {'results': 5}},
                'liar2': {'otlp_tls_certificate_plan': {'todo': 'otlp'}, 'csr': 'x'},
                'liar3': {'otlp_tls_certificate_plan': {'todo': ['otlp']},
                          'csr': {'results': [{'item': {'name': 'otlp'}, 'csr': 7}, 'junk']}}}
    hosts = plan_filters.hosts_with_work(sorted(hostvars), hostvars)
    assert hosts == ['honest', 'liar3']
    grant = {'wanted': [{'name': 'otlp', 'common_name': 'h', 'subject_alt_names': ['h'], 'profile': 'client'}]}
    requests = sign_requests(hosts, hostvars, 'csr', dict((h, grant) for h in hostvars))
    assert [r['host'] for r in requests] == ['honest']


def test_pending_installs_hand_over_public_data_for_this_runs_certificates():
    entries = [dict(name='web', dir='/etc/otlp-tls/web', key_mode='0640', owner='root', group='web', profile='client'),
               dict(name='db', dir='/etc/otlp-tls/db', key_mode='0600', owner='root', group='db', profile='client')]
    signed = {'certificates': {'app1:web': {'certificate': 'WEB'}, 'app10:db': {'certificate': 'OTHER'}},
              'chain': 'CA'}
    pending = plan_filters.pending_installs(entries, signed, 'app1', 'BUNDLE')
    assert pending == [dict(name='web', certificate='WEB', certificate_path='/etc/otlp-tls/web/cert.pem', chain='CA',
                            fullchain_path='/etc/otlp-tls/web/fullchain.pem', trust_bundle='BUNDLE',
                            trust_bundle_path='/etc/otlp-tls/web/ca.pem', private_key_path='/etc/otlp-tls/web/key.pem',
                            private_key_mode='0640', owner='root', group='web', profile='client')]
    assert plan_filters.pending_installs(entries, {'skipped': True}, 'app1', 'BUNDLE') == []  # check run, no CA
    plan = [{'unit': 'web.service', 'certificate': {'name': 'web'}}, {'unit': 'web2.service', 'certificate': {'name': 'web'}},
            {'unit': 'db.service', 'certificate': {'name': 'db'}}]
    with_units = plan_filters.certificate_units(pending, plan, ['web'])
    assert with_units[0]['units'] == ['web.service', 'web2.service']
    # A fact left by an earlier run of the certificate role in the play: not this run's work.
    assert plan_filters.certificate_units(pending, plan, ['db']) == []
    # The certificate role's own plan of this run did not send web down the signing path: its fact is an old one.
    assert plan_filters.certificate_units(pending, plan, ['web'], {'todo': []}) == []
    assert plan_filters.certificate_units(pending, plan, ['web'], {'todo': ['web']})[0]['name'] == 'web'
