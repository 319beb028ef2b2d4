# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_state's plain reads: users, groups and symbolic links (what the collector role skips its tasks on)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd

from .test_modules import run_module


def test_users_and_groups_as_the_system_has_them():
    root = pwd.getpwnam('root')
    result = run_module('host_state', dict(users=['root', 'no-such-user-otlp'], groups=['root', 'no-such-group-otlp']))
    assert result['users'] == {
        'root': dict(exists=True, uid=0, group=grp.getgrgid(root.pw_gid).gr_name, home=root.pw_dir, shell=root.pw_shell),
        'no-such-user-otlp': dict(exists=False)}
    assert result['groups'] == {'root': dict(exists=True, gid=0), 'no-such-group-otlp': dict(exists=False)}


def test_a_link_is_a_link_with_its_target(tmp_path):
    target = tmp_path / 'release' / 'otelcol'
    target.parent.mkdir()
    target.write_bytes(b'binary')
    link = tmp_path / 'otelcol'
    os.symlink(str(target), str(link))
    result = run_module('host_state', dict(files=[str(link), str(target), str(tmp_path / 'missing')]))
    files = result['files']
    assert files[str(link)]['kind'] == 'link' and files[str(link)]['target'] == str(target)
    assert 'sha256' not in files[str(link)]
    assert files[str(target)]['kind'] == 'file' and 'target' not in files[str(target)]
    assert files[str(tmp_path / 'missing')] == dict(exists=False)


def test_stat_only_never_reads(tmp_path):
    secret = tmp_path / 'app.env'
    secret.write_text('TOKEN=s3cr3t\n')
    result = run_module('host_state', dict(stat_only=[str(secret), str(tmp_path / 'gone.env')]))
    assert result['files'][str(secret)]['exists'] and result['files'][str(secret)]['kind'] == 'file'
    assert 'sha256' not in result['files'][str(secret)] and 'hmac' not in result['files'][str(secret)]
    assert result['files'][str(tmp_path / 'gone.env')] == dict(exists=False)


def test_listeners_name_their_process_and_live_ports_need_an_active_unit(tmp_path, monkeypatch):
    import socket
    from .conftest import fake_systemctl
    fake_systemctl(tmp_path, monkeypatch, '#!/bin/sh\nprintf "Id=otelcol.service\\nLoadState=loaded\\nActiveState=%%s\\n'
                   'MainPID=4321\\n" "$(cat %s)"\n' % (tmp_path / 'state'))
    (tmp_path / 'state').write_text('active')
    config = tmp_path / 'config.yaml'
    config.write_text('receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 0.0.0.0:4317\n'
                      '      http:\n        endpoint: "[::]:4318"\nexporters:\n  debug: {}\n')
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        args = dict(units=['otelcol'], listeners=True, live_config=dict(unit='otelcol', path=str(config)))
        result = run_module('host_state', args)
    finally:
        listener.close()
    mine = [item for item in result['listeners'] if item['port'] == port]
    # The test's own socket, held by the python process that runs pytest (the module's parent).
    assert mine and mine[0]['address'] == '127.0.0.1' and mine[0]['processes'], result['listeners']
    # By PID too, one name per PID: a name is any user's choice, the PID is what tells the collector apart.
    assert os.getpid() in mine[0]['pids'] and len(mine[0]['pids']) == len(mine[0]['processes']), mine
    assert result['units']['otelcol.service']['main_pid'] == 4321
    assert result['live_ports'] == [4317, 4318]
    (tmp_path / 'state').write_text('inactive')
    assert run_module('host_state', args)['live_ports'] == []
    assert run_module('host_state', dict(units=[]))['listeners'] == []


def test_a_process_name_that_is_not_utf8_does_not_break_the_read():
    """Any local user may rename a process to bytes that are not UTF-8 and listen on a port."""
    import subprocess
    import sys
    child = subprocess.Popen([sys.executable, '-c', (
        'import socket, sys\n'
        'open("/proc/self/comm", "wb").write(b"\\xff\\xfeodd")\n'
        's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)\n'
        'print(s.getsockname()[1], flush=True); sys.stdin.read()\n')],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        port = int(child.stdout.readline())
        result = run_module('host_state', dict(listeners=True))
    finally:
        child.stdin.close()
        child.wait()
    assert not result.get('failed'), result
    mine = [item for item in result['listeners'] if item['port'] == port]
    assert mine and mine[0]['processes'] and mine[0]['processes'][0].endswith('odd'), result['listeners']


def test_host_names_are_read_from_the_hosts_file(tmp_path):
    from ansible_collections.otlp.tls.plugins.modules.host_state import read_host_names
    hosts = tmp_path / 'hosts'
    hosts.write_bytes(b'# caf\xe9 (latin-1)\n127.0.0.1 localhost\n# 10.0.0.9 otlp-agent.app01\n'
                      b'10.0.0.7 other otlp-agent.app02  # a comment\n'
                      b'127.0.0.1 otlp-agent.app01\n::1 localhost ip6-localhost\n\n')
    found = read_host_names(['otlp-agent.app01', 'otlp-agent.app02', 'localhost', 'absent'], str(hosts))
    assert found == {'otlp-agent.app01': ['127.0.0.1'], 'otlp-agent.app02': ['10.0.0.7'],
                     'localhost': ['127.0.0.1', '::1'], 'absent': []}
    assert read_host_names(['x'], str(tmp_path / 'none')) == {'x': []}
    result = run_module('host_state', dict(host_names=['localhost']))
    assert '127.0.0.1' in result['host_names']['localhost'] or '::1' in result['host_names']['localhost']


def test_a_secret_file_is_judged_by_its_hmac_under_the_runs_key(tmp_path):
    """The collector role's skip of its secret environment file: host_state's HMAC under the run's key, and the
    secret_file_is filter on the controller, agree on the same content and on nothing else."""
    from ansible_collections.otlp.tls.plugins.filter.plan import secret_file_is
    secret = tmp_path / 'otelcol.service.env'
    secret.write_text('OTLP_TLS_BACKEND_TOKEN=s3cr3t\n')
    os.chmod(str(secret), 0o640)
    me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    key = 'k' * 43
    both = dict(secret_files=[str(secret)], stat_only=[str(secret)], digest_key=key)
    found = run_module('host_state', both)['files'][str(secret)]
    assert 's3cr3t' not in repr(found) and 'sha256' not in found
    assert secret_file_is(found, 'OTLP_TLS_BACKEND_TOKEN=s3cr3t\n', key, me, group, '0640') is True
    # Another content, another key (a digest from an earlier run), another mode or group: written again.
    assert secret_file_is(found, 'OTLP_TLS_BACKEND_TOKEN=other\n', key, me, group, '0640') is False
    assert secret_file_is(found, 'OTLP_TLS_BACKEND_TOKEN=s3cr3t\n', 'j' * 43, me, group, '0640') is False
    assert secret_file_is(found, 'OTLP_TLS_BACKEND_TOKEN=s3cr3t\n', key, me, group, '0644') is False
    assert secret_file_is(found, 'OTLP_TLS_BACKEND_TOKEN=s3cr3t\n', key, me, 'no-such-group', '0640') is False
    # No key, or a read without an HMAC (stat only), is never taken as equal.
    assert secret_file_is(found, 'OTLP_TLS_BACKEND_TOKEN=s3cr3t\n', '', me, group, '0640') is False
    stat_only = run_module('host_state', dict(stat_only=[str(secret)]))['files'][str(secret)]
    assert secret_file_is(stat_only, 'OTLP_TLS_BACKEND_TOKEN=s3cr3t\n', key, me, group, '0640') is False
    assert secret_file_is(dict(exists=False), '', key, me, group, '0640') is False
    # Whatever a host sends as its HMAC is compared, never a crash (compare_digest refuses non-ASCII text).
    assert secret_file_is(dict(found, hmac=u'\u00e9' * 64), 'OTLP_TLS_BACKEND_TOKEN=s3cr3t\n', key, me, group,
                          '0640') is False
