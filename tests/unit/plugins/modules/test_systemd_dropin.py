# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""otlp.tls.systemd_dropin run the way Ansible runs it, against real files and a recording systemctl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from .conftest import fake_systemctl
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
    fake_systemctl(tmp_path, monkeypatch, FAKE_SYSTEMCTL)
    log = tmp_path / 'calls.log'
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
    assert result['failed'] and result['msg'].startswith('restarting failed: app.service (')
    assert 'journalctl -u app.service' in result['msg']
    # The drop-in stays in place (systemd already read it) and the message says so.
    assert (host.dir / 'app.service.d' / '50-otlp-tls.conf').exists()
    assert 'stays in place' in result['msg']


# --- secret environment (EnvironmentFile=) --------------------------------------

import grp  # noqa: E402

from ansible_collections.otlp.tls.plugins.filter.exporter_env import systemd_environment_file  # noqa: E402
from ansible_collections.otlp.tls.plugins.modules.systemd_dropin import (  # noqa: E402
    environment_file_content, parse_environment_file)

SECRET = 'x-api-key=s3cr3t%20value-7f2c'
# Every character that means something to a shell, to systemd's parsers or to Ansible's output.
TRICKY = [
    'plain', '', ' leading and trailing ', 'two  spaces', 'say "hi"', "it's", 'back\\slash', 'end\\', '\\\\double',
    '100% %h %n %%', '$HOME ${USER} $(id) `id`', 'a=b=c', '#not a comment', ';neither', "'single'", '"', '\\"',
    'unicode \u00e9\u4e2d', 'tab\\tnot a tab', '=', '\\n literal', 'x-api-key=abc%2Cdef',
]


def group_name():
    """A group other than root that exists here (root may give files to any group)."""
    if os.getuid() != 0:
        return grp.getgrgid(os.getgid()).gr_name
    for name in ('daemon', 'nogroup', 'adm'):
        try:
            grp.getgrnam(name)
            return name
        except KeyError:
            continue
    return 'root'


def secret_args(host, env=None, **extra):
    out = args(host, environment_dir=str(host.dir / 'env'))
    out['dropins'][0]['secret_environment'] = {'OTEL_EXPORTER_OTLP_HEADERS': SECRET} if env is None else env
    out['dropins'][0]['secret_group'] = group_name()
    out.update(extra)
    return out


def owner_of(path):
    info = os.stat(str(path))
    return stat.S_IMODE(info.st_mode), info.st_uid, grp.getgrgid(info.st_gid).gr_name


@pytest.mark.parametrize('text, expected', [
    # systemd.exec(5), EnvironmentFile=, and systemd's own env-file tests.
    ('A=a b  \n', [('A', 'a b')]),
    ('A=a\\ b\\\\c\n', [('A', 'a b\\c')]),
    ("A='a \"b\" \\c $d'\n", [('A', 'a "b" \\c $d')]),
    ('A="a \\"b\\" \\\\c \\$d \\`e\\` \\q"\n', [('A', 'a "b" \\c $d `e` \\q')]),
    ('# comment\n; comment\n  \nA=1\nnot an assignment\nB=\n', [('A', '1'), ('B', '')]),
    ('A=one\\\ntwo\n', [('A', 'onetwo')]),
    ('A="one\ntwo"\n', [('A', 'one\ntwo')]),
    ('A = x\n', [('A', 'x')]),
    ('A="x"y z\n', [('A', 'xy z')]),
    ('A="x" \'y\'\n', [('A', 'xy')]),
    ('A=#x\n', [('A', '#x')]),
])
def test_the_parser_follows_systemd(text, expected):
    assert parse_environment_file(text) == expected


@pytest.mark.parametrize('value', TRICKY)
def test_environment_file_round_trip(value):
    env = {'OTEL_EXPORTER_OTLP_HEADERS': value, 'B_2': 'x'}
    text = environment_file_content(env)
    assert dict(parse_environment_file(text)) == env
    # The collector role's filter writes the same file.
    assert systemd_environment_file(env) == text


def test_secret_environment_goes_into_a_private_file_and_never_into_the_output(host):
    result = run_module('systemd_dropin', secret_args(host), diff=True)
    assert not result.get('failed'), result
    env_file = host.dir / 'env' / 'app.service.env'
    dropin = host.dir / 'app.service.d' / '50-otlp-tls.conf'
    assert dict(parse_environment_file(env_file.read_text())) == {'OTEL_EXPORTER_OTLP_HEADERS': SECRET}
    assert owner_of(env_file) == (0o640, 0, group_name())
    # Others can reach a file by name but not list the directory.
    assert owner_of(env_file.parent) == (0o711, 0, 'root')
    assert dropin.read_text() == '[Service]\nEnvironment="A=1"\nEnvironmentFile=%s\n' % env_file
    assert SECRET not in dropin.read_text()
    assert result['dropins'][0]['environment_file'] == str(env_file)
    assert result['dropins'][1]['environment_file'] is None
    assert not (host.dir / 'env' / 'stopped.service.env').exists()
    # Not in the invocation (no_log), not in the diff, not anywhere in what Ansible receives.
    assert SECRET not in result['_stdout'] and 's3cr3t' not in result['_stdout']
    env_diff = [d for d in result['diff'] if d['after_header'] == str(env_file)]
    assert env_diff == [dict(before_header=str(env_file), after_header=str(env_file), before='',
                             after='OTEL_EXPORTER_OTLP_HEADERS=********\n')]


def test_check_mode_with_a_secret_writes_nothing_and_shows_no_value(host):
    result = run_module('systemd_dropin', secret_args(host), check=True, diff=True)
    assert result['changed'] and result['restarted'] == ['app.service']
    assert os.listdir(str(host.dir)) == []
    assert SECRET not in result['_stdout'] and 's3cr3t' not in result['_stdout']
    assert 'OTEL_EXPORTER_OTLP_HEADERS=********' in result['_stdout']


def test_only_the_secret_changed_restarts_without_daemon_reload(host):
    run_module('systemd_dropin', secret_args(host))
    dropin = (host.dir / 'app.service.d' / '50-otlp-tls.conf').read_text()
    host.reset()
    new = 'x-api-key=n3w-v4lue'
    result = run_module('systemd_dropin', secret_args(host, env={'OTEL_EXPORTER_OTLP_HEADERS': new}), diff=True)
    assert result['changed'] and result['changed_units'] == ['app.service']
    assert result['restarted'] == ['app.service'] and 'restart -- app.service' in host.calls()
    # The drop-in did not change, so systemd has nothing new to load.
    assert not result['daemon_reloaded'] and 'daemon-reload' not in host.calls()
    assert (host.dir / 'app.service.d' / '50-otlp-tls.conf').read_text() == dropin
    assert new not in result['_stdout'] and SECRET not in result['_stdout']
    assert result['diff'] == [dict(before_header=str(host.dir / 'env' / 'app.service.env'),
                                   after_header=str(host.dir / 'env' / 'app.service.env'),
                                   before='OTEL_EXPORTER_OTLP_HEADERS=********\n',
                                   after='OTEL_EXPORTER_OTLP_HEADERS=******** (new value)\n')]
    host.reset()
    again = run_module('systemd_dropin', secret_args(host, env={'OTEL_EXPORTER_OTLP_HEADERS': new}))
    assert not again['changed'] and again['restarted'] == []


def test_a_stopped_unit_gets_its_file_but_is_not_started(host):
    out = secret_args(host)
    out['dropins'][1]['secret_environment'] = {'TOKEN': 'stopped-secret'}
    result = run_module('systemd_dropin', out)
    assert result['restarted'] == ['app.service']
    assert (host.dir / 'env' / 'stopped.service.env').exists()


def test_removing_the_secrets_removes_the_file_and_restarts(host):
    run_module('systemd_dropin', secret_args(host))
    host.reset()
    result = run_module('systemd_dropin', secret_args(host, env={}), diff=True)
    assert result['changed'] and result['restarted'] == ['app.service'] and result['daemon_reloaded']
    assert not (host.dir / 'env' / 'app.service.env').exists()
    assert 'EnvironmentFile' not in (host.dir / 'app.service.d' / '50-otlp-tls.conf').read_text()
    assert SECRET not in result['_stdout']


def test_a_changed_mode_or_group_of_the_environment_file_is_fixed_without_restart(host):
    run_module('systemd_dropin', secret_args(host))
    env_file = host.dir / 'env' / 'app.service.env'
    os.chmod(str(env_file), 0o644)
    host.reset()
    result = run_module('systemd_dropin', secret_args(host))
    assert result['changed'] and result['changed_units'] == ['app.service']
    assert owner_of(env_file) == (0o640, 0, group_name())
    assert result['restarted'] == [] and not result['daemon_reloaded']


def test_the_environment_file_line_joins_the_service_section():
    from ansible_collections.otlp.tls.plugins.modules.systemd_dropin import with_environment_file
    assert with_environment_file('[Service]\nEnvironment="A=1"', '/e/a.env') == (
        '[Service]\nEnvironment="A=1"\nEnvironmentFile=/e/a.env\n')
    assert with_environment_file('[Service]\nA=1\n[Unit]\nB=2\n', '/e/a.env').endswith(
        '[Unit]\nB=2\n[Service]\nEnvironmentFile=/e/a.env\n')


@pytest.mark.parametrize('env, message', [
    ({'TOKEN': 'line\nExecStartPre=/bin/sh -c id'}, 'the value of TOKEN holds a newline'),
    ({'TOKEN': 'bell\x07'}, 'the value of TOKEN holds a newline or another control character'),
    ({'TOKEN': 'tab\there'}, 'control character'),
    ({'1TOKEN': 'x'}, 'is not an environment variable name'),
    ({'A-B': 'x'}, 'is not an environment variable name'),
])
def test_bad_secrets_fail_before_anything_is_written_and_are_not_echoed(host, env, message):
    result = run_module('systemd_dropin', secret_args(host, env=env))
    assert result['failed'] and message in result['msg'] and result['msg'].startswith('Nothing was written')
    assert os.listdir(str(host.dir)) == [] and host.calls() == []
    for value in env.values():
        assert value not in result['_stdout']


# --- certificates installed in the same call ------------------------------------------------

def certificate_item(ca_dir, tmp_path, name, units):
    from .test_modules import install_args, signed
    cert, chain = signed(ca_dir, tmp_path, name, 'client')
    return dict(install_args(tmp_path, cert, chain, name=name, profile='client'), name=name, units=units)


def test_certificates_go_in_first_and_restart_only_their_running_units(host, ca_dir, tmp_path):
    web = certificate_item(ca_dir, tmp_path, 'web', ['web.service'])
    db = certificate_item(ca_dir, tmp_path, 'db', ['db.service'])
    first = run_module('systemd_dropin', args(host, certificates=[web, db]))
    assert not first.get('failed'), first
    assert [c['name'] for c in first['certificates']] == ['web', 'db']
    assert all(c['changed'] for c in first['certificates'])
    assert (tmp_path / 'web' / 'cert.pem').read_text() == web['certificate']
    # web is running: restarted for its certificate; db is not running: left stopped; app for its drop-in.
    assert first['restarted'] == ['app.service', 'web.service']
    host.reset()
    again = run_module('systemd_dropin', args(host, certificates=[web, db]))
    assert not again['changed'] and again['restarted'] == []
    assert not [call for call in host.calls() if call.startswith('restart')]


def test_a_certificate_that_fails_its_checks_writes_no_drop_in(host, ca_dir, tmp_path):
    web = certificate_item(ca_dir, tmp_path, 'web', ['web.service'])
    bad = dict(web, name='web', required_names=['not-web'])
    result = run_module('systemd_dropin', args(host, certificates=[bad]))
    assert result['failed'] and result['msg'].startswith('certificate web: ')
    assert 'do not cover not-web' in result['msg'] and result['msg'].endswith('Nothing was written.')
    assert not (host.dir / 'app.service.d').exists() and host.calls() == []


def test_certificates_are_checked_as_arguments_first(host, ca_dir, tmp_path):
    web = certificate_item(ca_dir, tmp_path, 'web', ['web/../x'])
    result = run_module('systemd_dropin', args(host, certificates=[web, dict(web, units=[])]))
    assert result['failed'] and result['msg'].startswith('Nothing was written: ')
    assert 'appears twice in certificates' in result['msg'] and "units entry 'web/../x'" in result['msg']
    assert not (tmp_path / 'web' / 'cert.pem').exists()


def test_certificate_diff_and_check_mode(host, ca_dir, tmp_path):
    web = certificate_item(ca_dir, tmp_path, 'web', ['web.service'])
    preview = run_module('systemd_dropin', args(host, certificates=[web]), check=True, diff=True)
    assert preview['changed'] and preview['restarted'] == ['app.service', 'web.service']
    assert not (tmp_path / 'web' / 'cert.pem').exists()
    assert any(d.get('after_header') == web['certificate_path'] and 'subject=' in d['after'] for d in preview['diff'])
    assert 'PRIVATE KEY' not in preview['_stdout']


def test_a_bad_certificate_after_a_good_one_writes_neither(host, ca_dir, tmp_path):
    web = certificate_item(ca_dir, tmp_path, 'web', ['web.service'])
    db = certificate_item(ca_dir, tmp_path, 'db', ['db.service'])
    result = run_module('systemd_dropin', args(host, certificates=[web, dict(db, required_names=['not-db'])]))
    assert result['failed'] and result['msg'].startswith('certificate db: ')
    assert not (tmp_path / 'web' / 'cert.pem').exists() and host.calls() == []


def test_a_failed_restart_still_restarts_the_others(host, ca_dir, tmp_path, monkeypatch):
    monkeypatch.setenv('FAKE_FAIL', 'app.service')
    web = certificate_item(ca_dir, tmp_path, 'web', ['web.service'])
    result = run_module('systemd_dropin', args(host, certificates=[web]))
    assert result['failed'] and 'app.service (' in result['msg'] and 'drop-in or environment changed' in result['msg']
    # web's certificate changed: no later run would restart it, so this one does despite app's failure.
    assert 'restart -- web.service' in host.calls() and result['restarted'] == ['web.service']


def test_a_failed_write_after_a_certificate_restarts_its_unit(host, ca_dir, tmp_path):
    web = certificate_item(ca_dir, tmp_path, 'web', ['web.service'])
    # The drop-in directory can not be made: a file is in its way.
    (host.dir / 'app.service.d').write_text('in the way')
    result = run_module('systemd_dropin', args(host, certificates=[web]))
    assert result['failed'] and (tmp_path / 'web' / 'cert.pem').exists()
    assert 'restarted for their new certificate: web.service' in result['msg']
    assert 'restart -- web.service' in host.calls()


def test_refused_stops_the_module_too_with_nothing_written(host):
    """The action plugin stops a refused host before the call; the module does the same should it run without it."""
    result = run_module('systemd_dropin', args(host, refused=['host app1, certificate web: the CSR asks for CN=evil']))
    assert result['failed'] and 'The CA refused to sign for this host: host app1' in result['msg']
    assert not list(host.dir.rglob("*.conf"))
