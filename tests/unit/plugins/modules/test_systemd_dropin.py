# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""otlp.tls.systemd_dropin run the way Ansible runs it, against real files and a recording systemctl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from .test_modules import run_module

# A systemctl that records each call and says "active" for the units in $FAKE_ACTIVE.
FAKE_SYSTEMCTL = '''#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1" in
  is-active)
    for unit in $FAKE_ACTIVE; do [ "$unit" = "$3" ] && { echo active; exit 0; }; done
    echo inactive; exit 3 ;;
  restart)
    [ "$3" = "$FAKE_FAIL" ] && { echo "Job for $3 failed" >&2; exit 1; }
    exit 0 ;;
esac
exit 0
'''


@pytest.fixture
def host(tmp_path, monkeypatch):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake = bin_dir / 'systemctl'
    fake.write_text(FAKE_SYSTEMCTL)
    fake.chmod(0o755)
    log = tmp_path / 'calls.log'
    monkeypatch.setenv('PATH', str(bin_dir) + os.pathsep + os.environ['PATH'])
    monkeypatch.setenv('FAKE_LOG', str(log))
    monkeypatch.setenv('FAKE_ACTIVE', 'app.service web.service')
    systemd_dir = tmp_path / 'systemd'
    systemd_dir.mkdir()

    class Host(object):
        dir = systemd_dir

        @staticmethod
        def calls():
            return log.read_text().splitlines() if log.exists() else []

        @staticmethod
        def reset():
            if log.exists():
                log.unlink()
    return Host


def args(host, **extra):
    out = dict(systemd_dir=str(host.dir), dropins=[
        dict(unit='app', content='[Service]\nEnvironment="A=1"\n'),
        dict(unit='stopped.service', content='[Service]\nEnvironment="B=2"\n'),
    ])
    out.update(extra)
    return out


def test_writes_reloads_once_and_restarts_only_running_changed_units(host):
    first = run_module('systemd_dropin', args(host), diff=True)
    assert not first.get('failed'), first
    assert first['changed'] and first['changed_units'] == ['app.service', 'stopped.service']
    assert first['restarted'] == ['app.service']
    assert host.calls().count('daemon-reload') == 1
    # daemon-reload before any restart: the restarted unit must run with its new drop-in.
    assert host.calls().index('daemon-reload') < host.calls().index('restart -- app.service')
    path = host.dir / 'app.service.d' / '50-otlp-tls.conf'
    assert path.read_text() == '[Service]\nEnvironment="A=1"\n'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o755
    assert [d['after'] for d in first['diff']] == ['[Service]\nEnvironment="A=1"\n', '[Service]\nEnvironment="B=2"\n']

    host.reset()
    second = run_module('systemd_dropin', args(host))
    assert not second['changed'] and second['restarted'] == [] and not second['daemon_reloaded']
    assert not [call for call in host.calls() if not call.startswith('is-active')]


def test_restart_units_restarts_a_running_unit_whose_drop_in_is_unchanged(host):
    run_module('systemd_dropin', args(host))
    host.reset()
    result = run_module('systemd_dropin', args(host, restart_units=['app.service', 'stopped']))
    assert result['changed'] and result['restarted'] == ['app.service']
    assert 'daemon-reload' not in host.calls()
    assert 'restart -- app.service' in host.calls()


def test_restart_false_writes_and_reloads_but_restarts_nothing(host):
    result = run_module('systemd_dropin', args(host, restart=False, restart_units=['app']))
    assert result['changed'] and result['restarted'] == [] and result['daemon_reloaded']
    assert not [call for call in host.calls() if call.startswith('restart')]


def test_check_mode_writes_and_runs_nothing(host):
    result = run_module('systemd_dropin', args(host), check=True, diff=True)
    assert result['changed'] and result['restarted'] == ['app.service'] and result['daemon_reloaded']
    assert os.listdir(str(host.dir)) == []
    assert all(call.startswith('is-active') for call in host.calls())


def test_a_changed_mode_is_fixed_without_reload_or_restart(host):
    run_module('systemd_dropin', args(host))
    path = host.dir / 'app.service.d' / '50-otlp-tls.conf'
    os.chmod(str(path), 0o600)
    host.reset()
    result = run_module('systemd_dropin', args(host))
    assert result['changed'] and result['changed_units'] == ['app.service']
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644
    # Same content: systemd has nothing new to read and the unit nothing new to start with.
    assert not result['daemon_reloaded'] and result['restarted'] == []
    assert all(call.startswith('is-active') for call in host.calls())


@pytest.mark.parametrize('bad, message', [
    (dict(dropins=[dict(unit='../etc/passwd', content='x')]), 'is not a systemd unit name'),
    (dict(dropins=[dict(unit='a', content='x'), dict(unit='a.service', content='y')]), 'appears twice'),
    (dict(name='override'), 'must be a file name ending in .conf'),
    (dict(restart_units=['a b']), 'restart_units entry'),
])
def test_bad_arguments_fail_before_anything_is_written(host, bad, message):
    result = run_module('systemd_dropin', args(host, **bad))
    assert result['failed'] and message in result['msg'] and result['msg'].startswith('Nothing was written')
    assert os.listdir(str(host.dir)) == [] and host.calls() == []


def test_a_failed_restart_names_the_unit_and_the_journal(host, monkeypatch):
    monkeypatch.setenv('FAKE_FAIL', 'app.service')
    result = run_module('systemd_dropin', args(host))
    assert result['failed'] and 'restarting app.service failed' in result['msg']
    assert 'journalctl -u app.service' in result['msg']
    # The drop-in stays in place (systemd already read it) and the message says so.
    assert (host.dir / 'app.service.d' / '50-otlp-tls.conf').exists()
    assert 'stays in place' in result['msg']
