# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""x509_ca: the rotation state is checked against the CA files on disk, and name constraints on new CAs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil

from cryptography import x509

from ansible_collections.otlp.tls.plugins.module_utils import pki

from .test_modules import digest_tree, run_module


def ca(tmp_path, check=False, **extra):
    args = dict(certificate_path=str(tmp_path / 'ca.crt'), private_key_path=str(tmp_path / 'ca.key'),
                bundle_path=str(tmp_path / 'bundle.crt'))
    args.update(extra)
    return run_module('x509_ca', args, check=check)


def other_ca(directory, name='Intruder CA', **extra):
    directory.mkdir()
    args = dict(certificate_path=str(directory / 'ca.crt'), private_key_path=str(directory / 'ca.key'),
                common_name=name)
    args.update(extra)
    result = run_module('x509_ca', args)
    assert not result.get('failed'), result
    return result['info']['fingerprint_sha256']


def every_action(tmp_path, phase):
    """The results of every rotation action in ``phase`` (follow, start, record, advance)."""
    return [ca(tmp_path), ca(tmp_path, rotation='start'),
            ca(tmp_path, rotation='record', rotation_phase=phase, rotation_hosts=['a']),
            ca(tmp_path, rotation='advance', rotation_phase=phase, rotation_hosts=[])]


def read(path):
    with open(str(path), 'rb') as handle:
        return handle.read()


def warnings_of(result):
    return json.dumps(result.get('warnings', []))


# --- rotation state integrity -------------------------------------------------

def test_a_swapped_next_ca_is_refused_with_both_fingerprints(tmp_path):
    ca(tmp_path)
    started = ca(tmp_path, rotation='start')
    recorded = started['rotation']['new_fingerprint']
    found = other_ca(tmp_path / 'intruder')
    for name in ('ca.crt', 'ca.key'):
        shutil.copy(str(tmp_path / 'intruder' / name), str(tmp_path / 'next' / name))
    before = digest_tree(tmp_path)
    for result in every_action(tmp_path, 'trust'):
        assert result['failed'], result
        msg = result['msg']
        assert recorded in msg and found in msg, msg
        assert str(tmp_path / 'next' / 'ca.crt') in msg
        assert 'restore' in msg and str(tmp_path / 'rotation.json') in msg and 'abandon the rotation' in msg
    assert digest_tree(tmp_path) == before

    # Also in phase reissue, and the promotion to retire never happens.
    state = json.loads((tmp_path / 'rotation.json').read_text())
    state['phase'] = 'reissue'
    (tmp_path / 'rotation.json').write_text(json.dumps(state))
    before = digest_tree(tmp_path)
    refused = ca(tmp_path, rotation='advance', rotation_phase='reissue')
    assert refused['failed'] and recorded in refused['msg'] and found in refused['msg']
    assert digest_tree(tmp_path) == before


def test_a_next_ca_certificate_alone_swapped_is_refused(tmp_path):
    ca(tmp_path)
    started = ca(tmp_path, rotation='start')
    found = other_ca(tmp_path / 'intruder')
    shutil.copy(str(tmp_path / 'intruder' / 'ca.crt'), str(tmp_path / 'next' / 'ca.crt'))
    result = ca(tmp_path)
    assert result['failed'] and started['rotation']['new_fingerprint'] in result['msg'] and found in result['msg']


def test_a_next_ca_key_that_does_not_belong_is_refused(tmp_path):
    ca(tmp_path)
    ca(tmp_path, rotation='start')
    other_ca(tmp_path / 'intruder')
    shutil.copy(str(tmp_path / 'intruder' / 'ca.key'), str(tmp_path / 'next' / 'ca.key'))
    result = ca(tmp_path)
    assert result['failed'] and 'does not belong' in result['msg'], result
    assert str(tmp_path / 'next' / 'ca.key') in result['msg'] and 'abandon the rotation' in result['msg']
    intruder = pki.load_private_key(read(tmp_path / 'intruder' / 'ca.key'))
    assert pki.public_key_fingerprint(intruder) in result['msg']


def test_a_swapped_current_ca_is_refused(tmp_path):
    first = ca(tmp_path)
    ca(tmp_path, rotation='start')
    found = other_ca(tmp_path / 'intruder')
    for name in ('ca.crt', 'ca.key'):
        shutil.copy(str(tmp_path / 'intruder' / name), str(tmp_path / name))
    before = digest_tree(tmp_path)
    for result in every_action(tmp_path, 'trust'):
        assert result['failed'], result
        assert first['info']['fingerprint_sha256'] in result['msg'] and found in result['msg'], result['msg']
        assert str(tmp_path / 'ca.crt') in result['msg'] and 'abandon the rotation' in result['msg']
    assert digest_tree(tmp_path) == before


def test_a_promoted_ca_that_is_not_the_recorded_one_is_refused(tmp_path):
    ca(tmp_path)
    started = ca(tmp_path, rotation='start')
    ca(tmp_path, rotation='advance', rotation_phase='trust')
    retired = ca(tmp_path, rotation='advance', rotation_phase='reissue')
    assert retired['rotation']['phase'] == 'retire' and not os.path.exists(str(tmp_path / 'next'))
    found = other_ca(tmp_path / 'intruder')
    backup = dict((name, read(tmp_path / name)) for name in ('ca.crt', 'ca.key'))
    for name in ('ca.crt', 'ca.key'):
        shutil.copy(str(tmp_path / 'intruder' / name), str(tmp_path / name))
    for result in (ca(tmp_path), ca(tmp_path, rotation='advance', rotation_phase='retire')):
        assert result['failed'], result
        assert started['rotation']['new_fingerprint'] in result['msg'] and found in result['msg']
        assert 'remove %s' % (tmp_path / 'rotation.json') in result['msg']
    # Restored, the rotation goes on to done, and done is checked too.
    for name, data in backup.items():
        (tmp_path / name).write_bytes(data)
    done = ca(tmp_path, rotation='advance', rotation_phase='retire')
    assert done['rotation']['phase'] == 'done', done
    for name in ('ca.crt', 'ca.key'):
        shutil.copy(str(tmp_path / 'intruder' / name), str(tmp_path / name))
    refused = ca(tmp_path, rotation='start')
    assert refused['failed'] and found in refused['msg'] and started['rotation']['new_fingerprint'] in refused['msg']


def test_a_promotion_to_a_foreign_next_ca_never_happens(tmp_path):
    ca(tmp_path)
    started = ca(tmp_path, rotation='start')
    ca(tmp_path, rotation='advance', rotation_phase='trust')
    # The state says retire (a promotion cut short), and next/ holds another CA.
    state = json.loads((tmp_path / 'rotation.json').read_text())
    state['phase'] = 'retire'
    (tmp_path / 'rotation.json').write_text(json.dumps(state))
    found = other_ca(tmp_path / 'intruder')
    for name in ('ca.crt', 'ca.key'):
        shutil.copy(str(tmp_path / 'intruder' / name), str(tmp_path / 'next' / name))
    before = digest_tree(tmp_path)
    result = ca(tmp_path)
    assert result['failed'] and started['rotation']['new_fingerprint'] in result['msg'] and found in result['msg']
    assert digest_tree(tmp_path) == before


def test_an_untouched_rotation_passes_every_phase(tmp_path):
    first = ca(tmp_path, private_key_passphrase='pass-1')
    old = first['info']['fingerprint_sha256']
    started = ca(tmp_path, rotation='start', private_key_passphrase='pass-1')
    new = started['rotation']['new_fingerprint']
    assert not started.get('failed') and started['rotation']['phase'] == 'trust'
    for phase, following in (('trust', 'reissue'), ('reissue', 'retire'), ('retire', 'done')):
        follow = ca(tmp_path, private_key_passphrase='pass-1')
        assert not follow.get('failed') and not follow['changed'], follow
        again = ca(tmp_path, rotation='start', private_key_passphrase='pass-1')
        assert not again.get('failed') and again['rotation']['new_fingerprint'] == new, again
        ca(tmp_path, rotation='record', rotation_phase=phase, rotation_hosts=['a'], private_key_passphrase='pass-1')
        moved = ca(tmp_path, rotation='advance', rotation_phase=phase, rotation_hosts=['a'],
                   private_key_passphrase='pass-1')
        assert not moved.get('failed') and moved['rotation']['phase'] == following, moved
    done = ca(tmp_path, private_key_passphrase='pass-1')
    assert not done.get('failed') and done['info']['fingerprint_sha256'] == new
    assert done['rotation']['old_fingerprint'] == old
    # The next rotation starts from the promoted CA.
    second = ca(tmp_path, rotation='start', private_key_passphrase='pass-1')
    assert second['rotation']['phase'] == 'trust' and second['rotation']['old_fingerprint'] == new


def test_an_interrupted_promotion_still_resumes(tmp_path):
    # Cut short between key and certificate: the key is already the new one; allowed.
    ca(tmp_path)
    started = ca(tmp_path, rotation='start')
    ca(tmp_path, rotation='advance', rotation_phase='trust')
    state = json.loads((tmp_path / 'rotation.json').read_text())
    state['phase'] = 'retire'
    (tmp_path / 'rotation.json').write_text(json.dumps(state))
    (tmp_path / 'ca.key').write_bytes(read(tmp_path / 'next' / 'ca.key'))
    resumed = ca(tmp_path)
    assert not resumed.get('failed'), resumed
    assert resumed['info']['fingerprint_sha256'] == started['rotation']['new_fingerprint']


def test_a_state_without_fingerprints_is_refused(tmp_path):
    ca(tmp_path)
    ca(tmp_path, rotation='start')
    state = json.loads((tmp_path / 'rotation.json').read_text())
    del state['new_fingerprint']
    (tmp_path / 'rotation.json').write_text(json.dumps(state))
    result = ca(tmp_path)
    assert result['failed'] and 'records no new_fingerprint' in result['msg']


# --- name constraints ---------------------------------------------------------

def constraints_extension(path):
    cert = pki.load_certificate(read(path))
    return cert.extensions.get_extension_for_class(x509.NameConstraints)


def test_a_new_ca_carries_critical_name_constraints(tmp_path):
    args = dict(permitted_dns_domains=['Example.Internal.', 'svc.local'], permitted_ip_ranges=['10.0.0.0/8', 'fd00::/8'])
    preview = ca(tmp_path, check=True, **args)
    assert preview['changed'] and preview['name_constraints']['matches'] and os.listdir(str(tmp_path)) == []
    created = ca(tmp_path, **args)
    assert created['changed'] and not created.get('warnings'), created
    ext = constraints_extension(tmp_path / 'ca.crt')
    assert ext.critical
    assert pki.name_constraints_of(pki.load_certificate(read(tmp_path / 'ca.crt'))) == (
        ['example.internal', 'svc.local'], ['10.0.0.0/8', 'fd00::/8'])
    assert created['name_constraints'] == dict(
        configured=dict(permitted_dns_domains=['example.internal', 'svc.local'],
                        permitted_ip_ranges=['10.0.0.0/8', 'fd00::/8']),
        in_certificate=dict(permitted_dns_domains=['example.internal', 'svc.local'],
                            permitted_ip_ranges=['10.0.0.0/8', 'fd00::/8']),
        matches=True)
    again = ca(tmp_path, **args)
    assert not again['changed'] and again['name_constraints']['matches'] and not again.get('warnings')


def test_an_existing_ca_without_them_warns_and_is_not_changed(tmp_path):
    ca(tmp_path)
    before = digest_tree(tmp_path)
    result = ca(tmp_path, permitted_dns_domains=['example.internal'])
    assert not result.get('failed') and not result['changed'], result
    assert digest_tree(tmp_path) == before
    assert result['name_constraints']['matches'] is False
    assert result['name_constraints']['in_certificate'] == dict(permitted_dns_domains=[], permitted_ip_ranges=[])
    warning = warnings_of(result)
    assert 'example.internal' in warning and 'rotation' in warning and 'never rewritten' in warning
    assert pki.name_constraints_of(pki.load_certificate(read(tmp_path / 'ca.crt'))) is None


def test_rotation_start_makes_the_next_ca_with_them(tmp_path):
    ca(tmp_path)
    args = dict(permitted_dns_domains=['example.internal'], permitted_ip_ranges=['192.0.2.0/24'])
    started = ca(tmp_path, rotation='start', **args)
    assert not started.get('failed') and started['rotation']['phase'] == 'trust', started
    ext = constraints_extension(tmp_path / 'next' / 'ca.crt')
    assert ext.critical
    assert pki.name_constraints_of(pki.load_certificate(read(tmp_path / 'next' / 'ca.crt'))) == (
        ['example.internal'], ['192.0.2.0/24'])
    # The old CA still signs in phase trust and has none: the warning says the rotation brings them.
    assert not started['name_constraints']['matches'] and 'carries them' in warnings_of(started)
    assert pki.name_constraints_of(pki.load_certificate(read(tmp_path / 'ca.crt'))) is None
    reissue = ca(tmp_path, rotation='advance', rotation_phase='trust', **args)
    assert reissue['name_constraints']['matches'] and not reissue.get('warnings'), reissue


def test_bad_name_constraints_are_refused_before_any_write(tmp_path):
    bad_cidr = ca(tmp_path, permitted_ip_ranges=['10.0.0.1/8'])
    assert bad_cidr['failed'] and "'10.0.0.1/8'" in bad_cidr['msg'] and '10.0.0.0/8' in bad_cidr['msg'], bad_cidr
    not_a_network = ca(tmp_path, permitted_ip_ranges=['example.internal'])
    assert not_a_network['failed'] and 'example.internal' in not_a_network['msg']
    wildcard = ca(tmp_path, permitted_dns_domains=['*.example.internal'])
    assert wildcard['failed'] and '*.example.internal' in wildcard['msg'] and 'no wildcard' in wildcard['msg']
    # Only the CA directory's (empty) lock file: no CA file was written.
    assert os.listdir(str(tmp_path)) == ['.lock'] and (tmp_path / '.lock').read_text() == ''


def test_a_promotion_cut_after_the_next_key_was_removed_resumes(tmp_path):
    ca(tmp_path)
    started = ca(tmp_path, rotation='start')
    ca(tmp_path, rotation='advance', rotation_phase='trust')
    state = json.loads((tmp_path / 'rotation.json').read_text())
    state['phase'] = 'retire'
    (tmp_path / 'rotation.json').write_text(json.dumps(state))
    # Key and certificate were moved, next/ca.key removed, then the run died.
    for name in ('ca.crt', 'ca.key'):
        (tmp_path / name).write_bytes(read(tmp_path / 'next' / name))
    os.unlink(str(tmp_path / 'next' / 'ca.key'))
    resumed = ca(tmp_path)
    assert not resumed.get('failed'), resumed
    assert resumed['info']['fingerprint_sha256'] == started['rotation']['new_fingerprint']
    assert not os.path.exists(str(tmp_path / 'next'))
