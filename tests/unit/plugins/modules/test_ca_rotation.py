# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The CA rotation state machine of x509_ca, run as Ansible runs the module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.otlp.tls.plugins.module_utils import pki

from .test_modules import run_module


def ca(tmp_path, **extra):
    args = dict(certificate_path=str(tmp_path / 'ca.crt'), private_key_path=str(tmp_path / 'ca.key'),
                bundle_path=str(tmp_path / 'bundle.crt'))
    args.update(extra)
    result = run_module('x509_ca', args)
    return result


def bundle_fingerprints(result):
    return [pki.certificate_fingerprint(c) for c in pki.load_certificates(result['bundle'].encode())]


def test_full_rotation_in_phases(tmp_path):
    first = ca(tmp_path)
    old = first['info']['fingerprint_sha256']
    assert first['rotation']['phase'] == 'none'

    started = ca(tmp_path, rotation='start')
    assert started['changed'] and started['rotation']['phase'] == 'trust'
    new = started['rotation']['new_fingerprint']
    assert new != old and started['rotation']['old_fingerprint'] == old
    # trust: the old CA still signs; both are trusted, old first.
    assert started['signing_certificate_path'] == str(tmp_path / 'ca.crt')
    assert bundle_fingerprints(started) == [old, new]
    assert oct(os.stat(str(tmp_path / 'next' / 'ca.key')).st_mode & 0o777) == '0o600'

    # start again while under way: resumes, makes no third CA
    again = ca(tmp_path, rotation='start')
    assert not again['changed'] and again['rotation']['new_fingerprint'] == new

    # a plain converge follows the state
    follow = ca(tmp_path)
    assert not follow['changed'] and bundle_fingerprints(follow) == [old, new]

    refused = ca(tmp_path, rotation='advance', rotation_phase='trust', rotation_hosts=['a', 'b'])
    assert refused['failed'] and 'stays in phase trust' in refused['msg'] and 'a, b' in refused['msg']

    ca(tmp_path, rotation='record', rotation_phase='trust', rotation_hosts=['a'])
    recorded = ca(tmp_path, rotation='record', rotation_phase='trust', rotation_hosts=['b'])
    assert recorded['rotation']['done'] == {'trust': ['a', 'b']}
    reissue = ca(tmp_path, rotation='advance', rotation_phase='trust', rotation_hosts=['a', 'b'])
    assert reissue['rotation']['phase'] == 'reissue'
    # reissue: the new CA signs, both trusted, new first
    assert reissue['signing_certificate_path'] == str(tmp_path / 'next' / 'ca.crt')
    assert bundle_fingerprints(reissue) == [new, old]

    # advancing a phase we are not in does nothing
    stale = ca(tmp_path, rotation='advance', rotation_phase='trust', rotation_hosts=['a', 'b'])
    assert not stale['changed'] and stale['rotation']['phase'] == 'reissue'

    ca(tmp_path, rotation='record', rotation_phase='reissue', rotation_hosts=['a', 'b'])
    retire = ca(tmp_path, rotation='advance', rotation_phase='reissue', rotation_hosts=['a', 'b'])
    assert retire['rotation']['phase'] == 'retire'
    assert retire['info']['fingerprint_sha256'] == new
    assert retire['signing_certificate_path'] == str(tmp_path / 'ca.crt')
    assert bundle_fingerprints(retire) == [new]
    assert not os.path.exists(str(tmp_path / 'next'))
    retired = os.listdir(str(tmp_path / 'retired'))
    assert len(retired) == 1 and retired[0].endswith(old[:12])
    assert os.listdir(str(tmp_path / 'retired' / retired[0])) == ['ca.crt']

    ca(tmp_path, rotation='record', rotation_phase='retire', rotation_hosts=['a', 'b'])
    done = ca(tmp_path, rotation='advance', rotation_phase='retire', rotation_hosts=['a', 'b'])
    assert done['rotation']['phase'] == 'done' and done['rotation']['finished']
    assert bundle_fingerprints(ca(tmp_path)) == [new]

    # after done, start begins the next rotation
    second = ca(tmp_path, rotation='start')
    assert second['rotation']['phase'] == 'trust' and second['rotation']['old_fingerprint'] == new


def test_promotion_interrupted_between_key_and_certificate_is_completed(tmp_path):
    ca(tmp_path)
    started = ca(tmp_path, rotation='start')
    new = started['rotation']['new_fingerprint']
    ca(tmp_path, rotation='advance', rotation_phase='trust')
    # Simulate a crash in the middle of the promotion: state says retire, the new key is
    # already in place, the certificate is still the old one, next/ still there.
    state_path = tmp_path / 'rotation.json'
    state = json.loads(state_path.read_text())
    state['phase'] = 'retire'
    state_path.write_text(json.dumps(state))
    (tmp_path / 'ca.key').write_bytes((tmp_path / 'next' / 'ca.key').read_bytes())
    resumed = ca(tmp_path)
    assert not resumed.get('failed'), resumed
    assert resumed['info']['fingerprint_sha256'] == new
    assert bundle_fingerprints(resumed) == [new]
    assert not os.path.exists(str(tmp_path / 'next'))


def test_state_problems_are_named(tmp_path):
    ca(tmp_path)
    (tmp_path / 'rotation.json').write_text('{not json')
    broken = ca(tmp_path)
    assert broken['failed'] and 'not valid JSON' in broken['msg'] and 'rotation.json' in broken['msg']
    (tmp_path / 'rotation.json').write_text(json.dumps({'phase': 'reissue'}))
    missing = ca(tmp_path)
    assert missing['failed'] and 'next CA' in missing['msg'] and 'missing' in missing['msg']
    os.unlink(str(tmp_path / 'rotation.json'))
    needs_phase = ca(tmp_path, rotation='record')
    assert needs_phase['failed'] and 'rotation_phase' in needs_phase['msg']


def test_check_mode_start_writes_nothing(tmp_path):
    ca(tmp_path)
    before = sorted(os.listdir(str(tmp_path)))
    preview = run_module('x509_ca', dict(certificate_path=str(tmp_path / 'ca.crt'),
                                         private_key_path=str(tmp_path / 'ca.key'), rotation='start'), check=True)
    assert preview['changed'] and preview['rotation']['phase'] == 'trust'
    assert sorted(os.listdir(str(tmp_path))) == before
