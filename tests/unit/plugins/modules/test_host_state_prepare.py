# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""otlp.tls.host_state with prepare: keys and CSRs made in the plan's one read, only where the decision says so and
only when the units are there; and the x509_csr action that uses them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

import pytest

from ansible_collections.otlp.tls.plugins.plugin_utils.host_plan import usable
from ansible_collections.otlp.tls.plugins.plugin_utils import host_plan

from .conftest import fake_systemctl
from .test_modules import ca_args, run_module

# systemctl show: one block per unit asked; units in $FAKE_MISSING are not-found, each runs as $FAKE_USER_<unit>.
FAKE_SYSTEMCTL = '''#!/bin/sh
[ "$1" = show ] || exit 0
shift 3
[ "$1" = "--" ] && shift
first=1
for unit in "$@"; do
  [ $first = 1 ] || echo
  first=0
  name=$(echo "$unit" | tr -c 'a-z0-9\\n' '_')
  eval user=\\${FAKE_USER_$name:-nobody}
  state=loaded
  for m in $FAKE_MISSING; do [ "$m" = "$unit" ] && state=not-found; done
  printf 'Id=%s\\nLoadState=%s\\nActiveState=active\\nUnitFileState=enabled\\nUser=%s\\nGroup=\\n' "$unit" "$state" "$user"
done
'''

GROUP = grp.getgrgid(pwd.getpwnam('nobody').pw_gid).gr_name


@pytest.fixture
def host(tmp_path, monkeypatch):
    fake_systemctl(tmp_path, monkeypatch, FAKE_SYSTEMCTL)
    return tmp_path


def ca_of(ca_dir):
    bundle = (ca_dir / 'ca.crt').read_text()
    return dict(certificate=bundle, bundle=bundle)


def read_args(tmp_path, ca, units=('web.service',), owner_units=('web.service',), **settings):
    directory = str(tmp_path / 'certs' / 'web')
    entry = dict(name='web', dir=directory, owner_units=list(owner_units), key_mode='0600',
                 common_name='web@app1', subject_alt_names=['app1'], profile='client')
    return dict(units=list(units), certificates=[dict(name='web', dir=directory)],
                prepare=dict(ca=ca, units=list(units), entries=[entry],
                             settings=dict(dict(renew_before_days=30, force=False, rotate_key=False,
                                                key_type='ec-p256', organization=''), **settings)))


def test_a_missing_certificate_gets_its_key_and_csr_in_the_read(host, ca_dir):
    (host / 'certs').mkdir()
    result = run_module('host_state', read_args(host, ca_of(ca_dir)))
    assert not result.get('failed'), result
    done = result['prepared']['web']
    assert result['changed'] and 'BEGIN CERTIFICATE REQUEST' in done['result']['csr']
    assert result['units']['web.service'] == dict(load_state='loaded', active_state='active', unit_file_state='enabled',
                                                  user='nobody', group=GROUP, main_pid=0)
    assert done['entry']['owner'] == 'nobody' and done['entry']['group'] == GROUP
    key = host / 'certs' / 'web' / 'key.pem'
    info = os.stat(str(key))
    assert pwd.getpwuid(info.st_uid).pw_name == 'nobody' and stat.S_IMODE(info.st_mode) == 0o600
    assert 'PRIVATE KEY' not in result['_stdout']
    # The controller takes it for the entry it planned, as long as that entry is the one the host used.
    want = [dict(done['entry'], name='web')]
    assert list(host_plan.prepared_csrs(result['prepared'], want, ['web'])) == ['web']
    assert host_plan.prepared_csrs(result['prepared'], want, []) == {}
    assert host_plan.prepared_csrs(result['prepared'], [dict(want[0], owner='root')], ['web']) == {}


def test_a_good_certificate_prepares_nothing(host, ca_dir):
    (host / 'certs').mkdir()
    first = run_module('host_state', read_args(host, ca_of(ca_dir)))
    csr = first['prepared']['web']['result']['csr']
    request = dict(name='app1:web', csr=csr, common_name='web@app1', subject_alt_names=['app1'], profile='client')
    signed = run_module('x509_sign', dict(ca_args(ca_dir), requests=[request]))
    assert not signed.get('failed'), signed
    directory = host / 'certs' / 'web'
    installed = run_module('x509_install', dict(
        certificate=signed['certificates']['app1:web']['certificate'], certificate_path=str(directory / 'cert.pem'),
        chain=signed['chain'], fullchain_path=str(directory / 'fullchain.pem'), trust_bundle=ca_of(ca_dir)['bundle'],
        trust_bundle_path=str(directory / 'ca.pem'), private_key_path=str(directory / 'key.pem'),
        owner='nobody', group=GROUP, profile='client'))
    assert not installed.get('failed'), installed
    again = run_module('host_state', read_args(host, ca_of(ca_dir)))
    assert again['prepared'] == {} and not again['changed']
    forced = run_module('host_state', read_args(host, ca_of(ca_dir), force=True))
    assert forced['prepared']['web']['reasons'] == ['re-issue forced']
    # The CSR is for the key in place: nothing written.
    assert not forced['changed'] and not forced['prepared']['web']['result']['private_key_changed']


def test_nothing_is_prepared_for_a_unit_that_is_not_there(host, ca_dir, monkeypatch):
    (host / 'certs').mkdir()
    monkeypatch.setenv('FAKE_MISSING', 'web.service')
    result = run_module('host_state', read_args(host, ca_of(ca_dir)))
    assert result['prepared'] == {} and not (host / 'certs' / 'web').exists()


def test_nothing_is_prepared_for_units_of_several_users(host, ca_dir, monkeypatch):
    (host / 'certs').mkdir()
    monkeypatch.setenv('FAKE_USER_db_service', 'root')
    args = read_args(host, ca_of(ca_dir), units=('web.service', 'db.service'), owner_units=('web.service', 'db.service'))
    result = run_module('host_state', args)
    assert result['prepared'] == {} and not (host / 'certs' / 'web').exists()


def test_check_mode_writes_no_key(host, ca_dir):
    (host / 'certs').mkdir()
    result = run_module('host_state', read_args(host, ca_of(ca_dir)), check=True)
    assert 'BEGIN CERTIFICATE REQUEST' in result['prepared']['web']['result']['csr']
    assert not (host / 'certs' / 'web').exists()


def test_x509_csr_uses_a_prepared_csr_only_for_the_same_options():
    params = dict(private_key_path='/etc/otlp-tls/web/key.pem', key_type='ec-p256', rotate_key=False, owner='web',
                  group='web', mode='0600', common_name='web@app1', organization=None, dns_names=[], ip_addresses=[],
                  subject_alt_names=['app1'], certificate_path='/etc/otlp-tls/web/cert.pem', profile='client',
                  create_directory=True, directory_owner='root', directory_group='web', directory_mode='0750')
    prepared = dict(csr='-----BEGIN CERTIFICATE REQUEST-----', prepared_params=params)
    # What the certificate role's task passes: no organization (omitted), rotate_key as templated text.
    task = dict(params, rotate_key='False')
    del task['organization'], task['dns_names'], task['ip_addresses']
    assert usable(prepared, task)
    assert not usable(prepared, dict(task, owner='root'))
    assert not usable(prepared, dict(task, subject_alt_names=['app1', 'app2']))
    assert not usable(prepared, dict(task, rotate_key=True))
    assert not usable(dict(prepared, csr=''), task) and not usable(dict(csr='x'), task) and not usable('x', task)


def test_nothing_is_prepared_when_a_drop_in_is_to_change(host, ca_dir):
    """A drop-in or secret file the plan will change means the collector check runs first (collectors.yml): the CSR
    waits for the certificate role, so that a refusal there finds the host unchanged."""
    import hashlib
    (host / 'certs').mkdir()
    dropin = host / 'web.conf'
    dropin.write_text('[Service]\n')
    env = str(host / 'web.env')
    args = read_args(host, ca_of(ca_dir))
    args.update(files=[str(dropin)], secret_files=[env], digest_key='k' * 64)
    same = dict(path=str(dropin), sha256=hashlib.sha256(b'[Service]\n').hexdigest())
    absent = dict(path=env, hmac='')
    args['prepare']['unchanged'] = [same, absent]
    assert list(run_module('host_state', args)['prepared']) == ['web']
    os.remove(str(host / 'certs' / 'web' / 'key.pem'))
    args['prepare']['unchanged'] = [dict(same, sha256='0' * 64), absent]
    assert run_module('host_state', args)['prepared'] == {}
    (host / 'web.env').write_text('T="x"\n')
    args['prepare']['unchanged'] = [same, absent]
    assert run_module('host_state', args)['prepared'] == {}
    assert not (host / 'certs' / 'web' / 'key.pem').exists()


def test_a_prepared_result_carries_nothing_ansible_would_act_on():
    """The result came from the host: add_host, add_group and _ansible_* keys would change the run for every host."""
    hostile = dict(csr='-----BEGIN CERTIFICATE REQUEST-----', changed=True, staged='yes',
                   add_host=dict(host_name='ca1', groups=['otlp_collectors']), add_group='x', _ansible_no_log=False,
                   diff=dict(before='a', after='b', add_host={}))
    clean = host_plan.prepared_result(hostile)
    assert clean == dict(csr=hostile['csr'], changed=True, diff=dict(before='a', after='b'))
    entry = dict(name='web', dir='/d', owner='web', group='web', key_mode='0600', common_name='web@app1',
                 subject_alt_names=['app1'], profile='client')
    prepared = {'web': dict(entry=entry, params={}, result=hostile)}
    kept = host_plan.prepared_csrs(prepared, [entry], ['web'])['web']
    assert 'add_host' not in kept and 'add_group' not in kept and '_ansible_no_log' not in kept
    assert host_plan.prepared_result(dict(hostile, csr='')) is None


def test_settings_reach_the_host_as_booleans():
    """An INI inventory or -e gives rotate_key=false as text: bool('false') would stage a key nobody asked for."""
    from ansible_collections.otlp.tls.plugins.module_utils.csr import csr_params
    entry = dict(dir='/d', owner='web', group='web', key_mode='0600', common_name='web@app1',
                 subject_alt_names=['app1'], profile='client')
    assert csr_params(entry, dict(rotate_key='false'))['rotate_key'] is False
    assert csr_params(entry, dict(rotate_key='yes'))['rotate_key'] is True
    option = host_plan.prepare_option(
        [dict(entry, name='web')], [dict(unit='web.service', certificate=dict(name='web'))], {},
        dict(source='generated', key_location='host', key_type='ec-p256', force='no', rotate_key='0'),
        dict(certificate='C', bundle='B'), ['web.service'])
    assert option['settings']['force'] is False and option['settings']['rotate_key'] is False
    assert host_plan.prepare_option([], [], {}, dict(source='generated', key_location='host', key_type='ec-p999'),
                                    dict(certificate='C', bundle='B'), []) is None


def test_a_drop_in_with_the_right_text_but_other_modes_prepares_nothing():
    from ansible_collections.otlp.tls.plugins.modules.host_state import as_expected
    units = {'web.service': dict(group='web')}
    have = dict(exists=True, sha256='s', owner='root', group='root', mode='0644')
    assert as_expected(dict(path='p', sha256='s', owner='root', group='root', mode='0644'), have, units)
    assert not as_expected(dict(path='p', sha256='s', owner='root', group='root', mode='0644'),
                           dict(have, mode='0666'), units)
    env = dict(exists=True, hmac='h', owner='root', group='web', mode='0640')
    assert as_expected(dict(path='e', hmac='h', owner='root', group_unit='web.service', mode='0640'), env, units)
    assert not as_expected(dict(path='e', hmac='h', owner='root', group_unit='web.service', mode='0640'),
                           dict(env, group='root'), units)
    assert as_expected(dict(path='e', hmac=''), dict(exists=False), units)
    assert not as_expected(dict(path='e', hmac=''), env, units)
