# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run each module the way Ansible does (JSON arguments in, JSON result out) against real files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import hashlib
import io
import json
import os
import runpy
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings

import pytest

from cryptography.hazmat.primitives import serialization

from ansible_collections.otlp.tls.plugins.module_utils import pki

from ...conftest import COLLECTIONS_ROOT


def run_module(name, args, check=False, diff=False):
    """The module's JSON result (its stdout in '_stdout'), run in this process the way a module
    runs in Ansible's (arguments through AnsibleModule's loader, the result printed, exit by
    SystemExit): about 20 times faster than a process per run, which the tests of the matrix
    cells pay over 160 times each. test_every_module_runs_as_its_own_process runs each module
    the other way, as Ansible starts it; OTLP_TLS_MODULE_PROCESS=1 runs every test that way."""
    payload = dict(args)
    payload.update(_ansible_check_mode=check, _ansible_diff=diff)
    if os.environ.get('OTLP_TLS_MODULE_PROCESS', '') not in ('', '0'):
        return run_module_process(name, payload)
    return run_module_in_process(name, payload)


def run_module_process(name, payload):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run(
        [sys.executable, '-m', 'ansible_collections.otlp.tls.plugins.modules.' + name],
        input=json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, check=False)
    assert proc.stdout, proc.stderr.decode()
    result = json.loads(proc.stdout)
    result['_stdout'] = proc.stdout.decode()
    return result


_CONTROLLER_FLAG = []


def _reset_module_globals(basic, arguments):
    """AnsibleModule reads its arguments from module globals when they are set (ansible-core
    2.16 to 2.19: _ANSIBLE_ARGS; 2.19 adds the serialization profile and a parsed copy), and
    keeps warnings and deprecations in lists that live as long as the process. In 2.19, once a
    test has imported a controller module, warnings go to the controller's display instead of
    the result unless the module side is told it is not the controller."""
    try:
        from ansible.module_utils import _internal
    except ImportError:  # before 2.19
        _internal = None
    if _internal is not None and hasattr(_internal, 'is_controller'):
        if arguments is not None:
            _CONTROLLER_FLAG.append(_internal.is_controller)
            _internal.is_controller = False
        elif _CONTROLLER_FLAG:
            _internal.is_controller = _CONTROLLER_FLAG.pop()
    basic._ANSIBLE_ARGS = arguments
    if hasattr(basic, '_ANSIBLE_PROFILE'):
        basic._ANSIBLE_PROFILE = 'legacy' if arguments is not None else None
    if hasattr(basic, '_PARSED_MODULE_ARGS'):
        basic._PARSED_MODULE_ARGS = None
    from ansible.module_utils.common import warnings as collected
    for name in ('_global_warnings', '_global_deprecations'):
        value = getattr(collected, name, None)
        if hasattr(value, 'clear'):
            value.clear()


def run_module_in_process(name, payload):
    from ansible.module_utils import basic
    out, err = io.StringIO(), io.StringIO()
    cwd, umask = os.getcwd(), os.umask(0o022)
    os.umask(umask)
    _reset_module_globals(basic, json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode())
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            # runpy warns when a test imported the module for its functions: it runs a fresh copy
            warnings.simplefilter('ignore', RuntimeWarning)
            try:
                runpy.run_module('ansible_collections.otlp.tls.plugins.modules.' + name, run_name='__main__',
                                 alter_sys=False)
            except SystemExit:
                pass
    finally:
        _reset_module_globals(basic, None)
        os.chdir(cwd)
        os.umask(umask)
    stdout = out.getvalue()
    assert stdout.strip(), err.getvalue()
    result = json.loads(stdout)
    result['_stdout'] = stdout
    return result


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def digest_tree(directory):
    out = {}
    for root, _dirs, files in os.walk(str(directory)):
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as handle:
                out[path] = (hashlib.sha256(handle.read()).hexdigest(), mode_of(path))
    return out


def ca_args(ca_dir):
    return dict(ca_certificate_path=str(ca_dir / 'ca.crt'), ca_private_key_path=str(ca_dir / 'ca.key'))


# --- every module as its own process -------------------------------------------
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(COLLECTIONS_ROOT, 'ansible_collections', 'otlp', 'tls',
                                                               'plugins', 'modules'))
                 if name.endswith('.py') and not name.startswith('_'))
# Modules with a main() (the others are documentation for an action plugin of the same name).
MODULES = [name for name in MODULES
           if "__name__ == '__main__'" in open(os.path.join(COLLECTIONS_ROOT, 'ansible_collections', 'otlp', 'tls', 'plugins',
                                                            'modules', name + '.py')).read()]


@pytest.mark.parametrize('name', MODULES)
def test_every_module_runs_as_its_own_process(name):
    """The other tests run modules in this process (run_module): here each starts as Ansible
    starts it, so a module that only works beside the test's imports would fail."""
    result = run_module_process(name, {'otlp_tls_no_such_option': 1})
    assert result['failed'] and ('otlp_tls_no_such_option' in result['msg']
                                 or result['msg'].startswith('missing required arguments')), result


def test_a_module_gives_the_same_result_in_either_way(tmp_path):
    args = dict(certificate_path=str(tmp_path / 'ca.crt'), private_key_path=str(tmp_path / 'ca.key'), common_name='Same')
    made = run_module_process('x509_ca', dict(args, _ansible_check_mode=False, _ansible_diff=False))
    again = run_module_in_process('x509_ca', dict(args, _ansible_check_mode=False, _ansible_diff=False))
    assert made['changed'] and not again['changed'], (made, again)
    assert sorted(set(made) - {'_stdout', 'changed'}) == sorted(set(again) - {'_stdout', 'changed'})


# --- x509_ca ------------------------------------------------------------------

def test_ca_created_once_then_kept(tmp_path):
    args = dict(certificate_path=str(tmp_path / 'ca.crt'), private_key_path=str(tmp_path / 'ca.key'),
                bundle_path=str(tmp_path / 'bundle.crt'))
    preview = run_module('x509_ca', args, check=True)
    assert preview['changed'] and preview['private_key_created']
    assert os.listdir(str(tmp_path)) == []

    first = run_module('x509_ca', args, diff=True)
    assert first['changed'] and first['private_key_created']
    assert mode_of(str(tmp_path / 'ca.key')) == 0o600
    with open(str(tmp_path / 'ca.key'), 'rb') as handle:
        key_pem = handle.read()
    assert key_pem.startswith(b'-----BEGIN PRIVATE KEY-----')
    assert key_pem.decode() not in first['_stdout']
    assert first['info']['key_type'] == 'ec-p256' and first['info']['days_left'] >= 3649
    assert 'subject: CN=otlp.tls CA' in first['diff']['after']

    second = run_module('x509_ca', args)
    assert not second['changed'] and not second['private_key_created']
    assert second['certificate'] == first['certificate'] == second['bundle']


def test_ca_makes_its_directory_private(tmp_path):
    directory = tmp_path / 'ca' / 'dir'
    args = dict(certificate_path=str(directory / 'ca.crt'), private_key_path=str(directory / 'ca.key'),
                private_directory=True)
    assert run_module('x509_ca', args, check=True)['changed'] and not directory.exists()
    assert run_module('x509_ca', args)['changed']
    assert mode_of(str(directory)) == 0o700 and mode_of(str(tmp_path / 'ca')) == 0o755
    assert not run_module('x509_ca', args)['changed']
    os.chmod(str(directory), 0o755)
    assert run_module('x509_ca', args)['changed'] and mode_of(str(directory)) == 0o700


def test_ca_with_passphrase(tmp_path):
    args = dict(certificate_path=str(tmp_path / 'ca.crt'), private_key_path=str(tmp_path / 'ca.key'),
                private_key_passphrase='s3cret-pass', key_type='rsa-2048')
    first = run_module('x509_ca', args)
    assert first['changed'] and 's3cret-pass' not in first['_stdout']
    with open(str(tmp_path / 'ca.key'), 'rb') as handle:
        assert b'ENCRYPTED PRIVATE KEY' in handle.read()
    assert not run_module('x509_ca', args)['changed']
    wrong = run_module('x509_ca', dict(args, private_key_passphrase='nope'))
    assert wrong['failed'] and 'passphrase is wrong' in wrong['msg']
    missing = run_module('x509_ca', dict(args, private_key_passphrase=None))
    assert missing['failed'] and 'no passphrase was given' in missing['msg']


def test_ca_key_and_certificate_must_match(ca_dir, tmp_path):
    other = tmp_path / 'other'
    other.mkdir()
    run_module('x509_ca', dict(certificate_path=str(other / 'ca.crt'), private_key_path=str(other / 'ca.key')))
    result = run_module('x509_ca', dict(certificate_path=str(other / 'ca.crt'),
                                        private_key_path=str(ca_dir / 'ca.key')))
    assert result['failed'] and 'do not belong together' in result['msg']


def test_expired_ca_is_refused(tmp_path):
    key = pki.generate_private_key('ec-p256')
    past = pki.utcnow() - datetime.timedelta(days=400)
    cert = pki.build_ca_certificate(key, 'Old CA', None, 30, now=past)
    (tmp_path / 'ca.key').write_bytes(pki.private_key_to_pkcs8(key))
    (tmp_path / 'ca.crt').write_bytes(pki.certificate_pem(cert))
    result = run_module('x509_ca', dict(certificate_path=str(tmp_path / 'ca.crt'),
                                        private_key_path=str(tmp_path / 'ca.key')))
    assert result['failed'] and 'expired on' in result['msg'] and 'rotate' in result['msg']


def test_ca_path_that_is_a_directory(tmp_path):
    (tmp_path / 'ca.crt').mkdir()
    result = run_module('x509_ca', dict(certificate_path=str(tmp_path / 'ca.crt'),
                                        private_key_path=str(tmp_path / 'ca.key')))
    assert result['failed'] and 'is a directory' in result['msg']
    assert not (tmp_path / 'ca.key').exists()


def test_bundle_keeps_this_ca_first(ca_dir, tmp_path):
    old = tmp_path / 'old'
    old.mkdir()
    run_module('x509_ca', dict(certificate_path=str(old / 'ca.crt'), private_key_path=str(old / 'ca.key'),
                               common_name='Old CA'))
    result = run_module('x509_ca', dict(certificate_path=str(ca_dir / 'ca.crt'),
                                        private_key_path=str(ca_dir / 'ca.key'),
                                        bundle_path=str(ca_dir / 'bundle.crt'), bundle_include=[str(old / 'ca.crt')]))
    subjects = [c.subject.rfc4514_string() for c in pki.load_certificates((ca_dir / 'bundle.crt').read_bytes())]
    assert subjects == ['CN=Unit CA', 'CN=Old CA'] and result['changed']


# --- x509_csr -----------------------------------------------------------------

def csr_args(tmp_path, **extra):
    args = dict(private_key_path=str(tmp_path / 'host.key'), common_name='app1', dns_names=['app1', 'app1.example'],
                ip_addresses=['192.0.2.10'], certificate_path=str(tmp_path / 'host.crt'))
    args.update(extra)
    return args


def test_csr_key_is_made_once_as_pkcs8(tmp_path):
    preview = run_module('x509_csr', csr_args(tmp_path), check=True)
    assert preview['changed'] and preview['csr'].startswith('-----BEGIN CERTIFICATE REQUEST-----')
    assert not (tmp_path / 'host.key').exists()

    first = run_module('x509_csr', csr_args(tmp_path))
    assert first['changed'] and first['private_key_changed']
    key_pem = (tmp_path / 'host.key').read_bytes()
    assert key_pem.startswith(b'-----BEGIN PRIVATE KEY-----') and mode_of(str(tmp_path / 'host.key')) == 0o600
    assert key_pem.decode() not in first['_stdout']
    csr = pki.load_csr(first['csr'])
    assert pki.sans_of(csr) == (['app1', 'app1.example'], ['192.0.2.10'])
    assert first['existing_certificate'] == ''

    second = run_module('x509_csr', csr_args(tmp_path))
    assert not second['changed'] and second['public_key_fingerprint'] == first['public_key_fingerprint']


def test_csr_mode_and_group_follow_the_arguments(tmp_path):
    run_module('x509_csr', csr_args(tmp_path))
    result = run_module('x509_csr', csr_args(tmp_path, mode='0640', group='nogroup'))
    assert result['changed'] and not result['private_key_changed']
    assert mode_of(str(tmp_path / 'host.key')) == 0o640


def test_pkcs1_key_is_rewritten_as_pkcs8_without_a_new_key(tmp_path):
    key = pki.generate_private_key('rsa-2048')
    (tmp_path / 'host.key').write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    result = run_module('x509_csr', csr_args(tmp_path, key_type='rsa-2048'))
    assert result['changed'] and not result['private_key_changed']
    assert result['private_key_reason'] == 'rewritten as PKCS#8 (was pkcs1)'
    assert result['public_key_fingerprint'] == pki.public_key_fingerprint(key)
    assert (tmp_path / 'host.key').read_bytes().startswith(b'-----BEGIN PRIVATE KEY-----')


def test_rotate_key_and_type_change_make_new_keys(tmp_path):
    first = run_module('x509_csr', csr_args(tmp_path))
    rotated = run_module('x509_csr', csr_args(tmp_path, rotate_key=True))
    assert rotated['private_key_changed'] and rotated['public_key_fingerprint'] != first['public_key_fingerprint']
    retyped = run_module('x509_csr', csr_args(tmp_path, key_type='ec-p384'))
    assert retyped['key_type'] == 'ec-p384' and 'key type changed' in retyped['private_key_reason']


def test_invalid_san_fails_before_any_write(tmp_path):
    result = run_module('x509_csr', csr_args(tmp_path, ip_addresses=['not-an-ip']))
    assert result['failed'] and 'not an IP address' in result['msg']
    assert not (tmp_path / 'host.key').exists()


# --- x509_sign ----------------------------------------------------------------

def make_csr(tmp_path, name, **extra):
    directory = tmp_path / name
    directory.mkdir(exist_ok=True)
    args = dict(private_key_path=str(directory / 'key.pem'), common_name=name, dns_names=[name],
                certificate_path=str(directory / 'cert.pem'))
    args.update(extra)
    return run_module('x509_csr', args)


def grant(name, profile='client', names=None):
    return dict(common_name=name, subject_alt_names=list(names or [name]), profile=profile)


def test_sign_many_then_keep_them(ca_dir, tmp_path):
    hosts = ['collector1', 'app1', 'app2']
    csrs = dict((name, make_csr(tmp_path, name)) for name in hosts)
    requests = [dict(grant(name, 'server' if name.startswith('collector') else 'client'), name=name,
                     csr=csrs[name]['csr']) for name in hosts]
    first = run_module('x509_sign', dict(ca_args(ca_dir), requests=requests))
    assert first['changed'] and sorted(first['issued']) == sorted(hosts) and first['refused'] == {}
    assert pki.profile_of(pki.load_certificate(first['certificates']['app1']['certificate'])) == 'client'
    for request in requests:
        request['existing_certificate'] = first['certificates'][request['name']]['certificate']
    second = run_module('x509_sign', dict(ca_args(ca_dir), requests=requests))
    assert not second['changed'] and second['issued'] == [] and sorted(second['kept']) == sorted(hosts)

    # A SAN change in the inventory re-issues exactly that one, with the granted names.
    requests[1]['subject_alt_names'] = ['app1', 'app1.example']
    third = run_module('x509_sign', dict(ca_args(ca_dir), requests=requests))
    assert third['issued'] == ['app1'] and 'subjectAltNames changed' in third['certificates']['app1']['reasons'][0]
    assert pki.sans_of(pki.load_certificate(third['certificates']['app1']['certificate'])) == (
        ['app1', 'app1.example'], [])

    forced = run_module('x509_sign', dict(ca_args(ca_dir), requests=requests, force=True))
    assert sorted(forced['issued']) == sorted(hosts)


def test_sign_renew_before_past_the_remaining_validity(ca_dir, tmp_path):
    csr = make_csr(tmp_path, 'app1')['csr']
    first = run_module('x509_sign', dict(ca_args(ca_dir), validity_days=30, renew_before=10,
                                         requests=[dict(grant('app1'), name='a', csr=csr)]))
    cert = first['certificates']['a']['certificate']
    kept = run_module('x509_sign', dict(ca_args(ca_dir), validity_days=30, renew_before=10,
                                        requests=[dict(grant('app1'), name='a', csr=csr, existing_certificate=cert)]))
    assert not kept['changed']
    renewed = run_module('x509_sign', dict(ca_args(ca_dir), validity_days=60, renew_before=40,
                                           requests=[dict(grant('app1'), name='a', csr=csr, existing_certificate=cert)]))
    assert renewed['changed'] and 'within renew_before (40 days)' in renewed['certificates']['a']['reasons'][0]


def test_a_bad_request_is_refused_alone(ca_dir, tmp_path):
    csr = make_csr(tmp_path, 'app1')['csr']
    good = dict(grant('app1'), name='good:otlp', csr=csr)
    dup = run_module('x509_sign', dict(ca_args(ca_dir), requests=[good, dict(good)]))
    assert dup['failed'] and 'appear twice' in dup['msg']
    out = run_module('x509_sign', dict(ca_args(ca_dir), validity_days=30, renew_before=20, requests=[
        good,
        dict(grant('app2'), name='app2:otlp', csr='garbage'),
        dict(grant('app1'), name='app3:web', csr=csr, renew_before=30),
    ]))
    assert not out.get('failed') and out['issued'] == ['good:otlp']
    assert sorted(out['refused']) == ['app2:otlp', 'app3:web']
    assert out['refused']['app2:otlp'].startswith('the CSR of host app2, certificate otlp is not a readable PEM CSR')
    assert out['refused']['app3:web'].startswith('host app3, certificate web: renew_before_days (30) must be')


def test_sign_without_a_ca(tmp_path):
    result = run_module('x509_sign', dict(ca_certificate_path=str(tmp_path / 'none.crt'),
                                          ca_private_key_path=str(tmp_path / 'none.key'), requests=[]))
    assert result['failed'] and 'the CA is incomplete' in result['msg']


# --- x509_install -------------------------------------------------------------

def signed(ca_dir, tmp_path, name='collector1', profile='server'):
    csr = make_csr(tmp_path, name)
    out = run_module('x509_sign', dict(ca_args(ca_dir), requests=[dict(grant(name, profile), name=name, csr=csr['csr'])]))
    return out['certificates'][name]['certificate'], out['chain']


def install_args(tmp_path, cert, chain, name='collector1', **extra):
    directory = tmp_path / name
    args = dict(certificate=cert, certificate_path=str(directory / 'cert.pem'), chain=chain,
                fullchain_path=str(directory / 'fullchain.pem'), trust_bundle=chain,
                trust_bundle_path=str(directory / 'ca.pem'), private_key_path=str(directory / 'key.pem'),
                required_names=[name], profile='server')
    args.update(extra)
    return args


def test_install_writes_once(ca_dir, tmp_path):
    cert, chain = signed(ca_dir, tmp_path)
    args = install_args(tmp_path, cert, chain)
    preview = run_module('x509_install', args, check=True, diff=True)
    assert preview['changed'] and not (tmp_path / 'collector1' / 'cert.pem').exists()
    first = run_module('x509_install', args)
    assert first['changed'] and len(first['changed_files']) == 3
    assert (tmp_path / 'collector1' / 'fullchain.pem').read_text() == cert + chain
    assert not run_module('x509_install', args)['changed']


def test_install_refuses_and_writes_nothing(ca_dir, tmp_path):
    cert, chain = signed(ca_dir, tmp_path)
    run_module('x509_install', install_args(tmp_path, cert, chain))
    other_cert, _chain = signed(ca_dir, tmp_path, 'app1', 'client')
    before = digest_tree(tmp_path)
    # app1's certificate for collector1's key, for the wrong names and usage.
    result = run_module('x509_install', install_args(tmp_path, other_cert, chain))
    assert result['failed']
    assert 'does not belong to the certificate' in result['msg']
    assert 'do not cover collector1' in result['msg'] and 'serverAuth is needed' in result['msg']
    assert digest_tree(tmp_path) == before


def test_install_converts_a_provided_pkcs1_key(tmp_path):
    # Bring your own PKI: an RSA 4096 CA and leaf made elsewhere, PKCS#1 key file.
    ca_key = pki.generate_private_key('rsa-2048')
    ca_cert = pki.build_ca_certificate(ca_key, 'Org CA', 'Example Org', 365)
    leaf_key = pki.generate_private_key('rsa-4096')
    csr = pki.build_csr(leaf_key, 'collector1', None, ['collector1'], [])
    cert = pki.sign_csr(csr, ca_key, ca_cert, 'server', 90)
    pkcs1 = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.BestAvailableEncryption(b'org-pass'))
    (tmp_path / 'collector1').mkdir()
    args = install_args(tmp_path, pki.certificate_pem(cert).decode(), pki.certificate_pem(ca_cert).decode(),
                        private_key=pkcs1.decode(), private_key_passphrase='org-pass')
    result = run_module('x509_install', args, diff=True)
    assert result['changed'] and result['private_key_converted'], result
    written = (tmp_path / 'collector1' / 'key.pem').read_bytes()
    assert written.startswith(b'-----BEGIN PRIVATE KEY-----') and mode_of(str(tmp_path / 'collector1' / 'key.pem')) == 0o600
    assert pki.public_key_fingerprint(pki.load_private_key(written)) == pki.public_key_fingerprint(leaf_key)
    assert pkcs1.decode() not in result['_stdout'] and written.decode() not in result['_stdout']
    assert 'org-pass' not in result['_stdout']
    assert not run_module('x509_install', args)['changed']


# --- x509_info ----------------------------------------------------------------

def test_info_reports_facts_and_problems(ca_dir, tmp_path):
    cert, chain = signed(ca_dir, tmp_path)
    run_module('x509_install', install_args(tmp_path, cert, chain))
    directory = tmp_path / 'collector1'
    args = dict(certificate_path=str(directory / 'cert.pem'), private_key_path=str(directory / 'key.pem'),
                trust_bundle_path=str(directory / 'ca.pem'))
    good = run_module('x509_info', args)
    assert good['exists'] and good['key_matches'] and good['chain_verified'] and good['problems'] == []
    assert dict((k, good['private_key'][k]) for k in ('exists', 'format', 'key_type', 'mode')) == dict(
        exists=True, format='pkcs8', key_type='ec-p256', mode='0600')
    assert '-----BEGIN' not in json.dumps(good['private_key'])

    worse = run_module('x509_info', dict(args, required_names=['collector.example'], min_days_left=400,
                                         profile='client'))
    assert len(worse['problems']) == 3, worse['problems']
    missing = run_module('x509_info', dict(certificate_path=str(tmp_path / 'nope.pem')))
    assert not missing['exists'] and not missing.get('failed')


@pytest.mark.skipif(os.geteuid() != 0, reason='runuser needs root')
def test_info_names_each_file_the_service_user_can_not_read(ca_dir, tmp_path):
    cert, chain = signed(ca_dir, tmp_path)
    run_module('x509_install', install_args(tmp_path, cert, chain))
    # tmp_path's parents are private to root: a directory any user can enter.
    shared = tempfile.mkdtemp(dir='/tmp')
    try:
        os.chmod(shared, 0o755)
        for name in ('cert.pem', 'key.pem', 'ca.pem'):
            shutil.copy(str(tmp_path / 'collector1' / name), os.path.join(shared, name))
            os.chmod(os.path.join(shared, name), 0o644 if name != 'key.pem' else 0o600)
        args = dict(certificate_path=os.path.join(shared, 'cert.pem'), private_key_path=os.path.join(shared, 'key.pem'),
                    trust_bundle_path=os.path.join(shared, 'ca.pem'))
        assert run_module('x509_info', dict(args, readable_by='root'))['problems'] == []
        result = run_module('x509_info', dict(args, readable_by='nobody'))
        assert result['problems'] == ['user nobody can not read %s' % os.path.join(shared, 'key.pem')]
        unknown = run_module('x509_info', dict(args, readable_by='no-such-user-otlp'))
        assert len(unknown['problems']) == 1 and 'runuser -u no-such-user-otlp failed' in unknown['problems'][0]
    finally:
        shutil.rmtree(shared)


def test_info_on_a_directory_is_a_clear_error(tmp_path):
    result = run_module('x509_info', dict(certificate_path=str(tmp_path)))
    assert result['failed'] and 'is a directory' in result['msg']


def test_the_profile_comes_from_the_grant_and_a_csr_may_not_ask_for_more(ca_dir, tmp_path):
    server = make_csr(tmp_path, 'collector1', profile='server')['csr']
    client = make_csr(tmp_path, 'app1', profile='client')['csr']
    plain = make_csr(tmp_path, 'app2')['csr']
    out = run_module('x509_sign', dict(ca_args(ca_dir), profile='both', requests=[
        dict(grant('collector1', 'server'), name='collector1', csr=server),
        dict(grant('app1', 'client'), name='app1', csr=client),
        dict(name='app2', csr=plain, common_name='app2', subject_alt_names=['app2']),
        dict(grant('app1', 'server'), name='app1:asks-client', csr=client)]))
    profiles = dict((name, pki.profile_of(pki.load_certificate(entry['certificate'])))
                    for name, entry in out['certificates'].items())
    assert profiles == dict(collector1='server', app1='client', app2='both')
    assert 'asks for extended key usage clientAuth' in out['refused']['app1:asks-client']
    assert 'but the inventory grants subject CN=app1, names app1, serverAuth' in out['refused']['app1:asks-client']


def test_rotate_key_replaces_an_encrypted_key(tmp_path):
    (tmp_path / 'host.key').write_bytes(pki.private_key_to_pkcs8(pki.generate_private_key('ec-p256'), 'secret'))
    refused = run_module('x509_csr', csr_args(tmp_path))
    assert refused['failed'] and 'set rotate_key to replace it' in refused['msg']
    assert 'passphrase option' not in refused['msg']
    rotated = run_module('x509_csr', csr_args(tmp_path, rotate_key=True))
    assert rotated['changed'] and rotated['private_key_changed'], rotated
    assert (tmp_path / 'host.key').read_bytes().startswith(b'-----BEGIN PRIVATE KEY-----')


def test_a_failed_ownership_change_leaves_no_copy_of_the_key(tmp_path):
    result = run_module('x509_csr', csr_args(tmp_path, owner='no-such-user-otlp'))
    assert result['failed']
    assert sorted(os.listdir(str(tmp_path))) == []


def test_csr_creates_its_directory_with_traversable_parents(tmp_path):
    key = tmp_path / 'base' / 'deeper' / 'svc' / 'key.pem'
    args = dict(private_key_path=str(key), common_name='svc', create_directory=True, directory_mode='0750',
                directory_owner='root')
    preview = run_module('x509_csr', args, check=True)
    assert preview['changed'] and not (tmp_path / 'base').exists()
    result = run_module('x509_csr', args)
    assert result['changed'] and key.exists()
    assert mode_of(str(tmp_path / 'base')) == 0o755 and mode_of(str(tmp_path / 'base' / 'deeper')) == 0o755
    assert mode_of(str(key.parent)) == 0o750
    assert not run_module('x509_csr', args)['changed']
    os.chmod(str(key.parent), 0o755)
    assert run_module('x509_csr', args)['changed'] and mode_of(str(key.parent)) == 0o750
    # Without create_directory a missing directory is an error that says what to do.
    other = run_module('x509_csr', dict(private_key_path=str(tmp_path / 'none' / 'key.pem'), common_name='x'))
    assert other['failed'] and 'does not exist: create it first' in other['msg']
