# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""config_file: atomic write only when different, a validator that runs on the new content first, content never shown."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from .test_modules import run_module

SECRET = 'token: s3cr3t-value-otlp\n'


def validator(tmp_path, rule):
    """A validator script that accepts a file only when ``rule`` (a grep pattern) is in it."""
    script = tmp_path / 'validate.sh'
    script.write_text('#!/bin/sh\ngrep -q "%s" "$1" || { echo "refused: $1 lacks %s" >&2; exit 4; }\n' % (rule, rule))
    script.chmod(0o755)
    return '%s %%s' % script


def test_written_once_with_mode_and_never_shown(tmp_path):
    path = tmp_path / 'config.yaml'
    args = dict(path=str(path), content='receivers: {}\n' + SECRET, mode='0640', validate=validator(tmp_path, 'receivers'))
    preview = run_module('config_file', args, check=True)
    assert preview['changed'] and not path.exists() and not preview['validated']
    first = run_module('config_file', args, diff=True)
    assert first['changed'] and first['validated'] and 'diff' not in first
    assert path.read_text() == args['content'] and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640
    assert set(first) & {'sha256', 'content', 'checksum'} == set(), 'nothing derived from the content leaves'
    assert 's3cr3t' not in first['_stdout']
    again = run_module('config_file', args)
    assert not again['changed'] and not again['validated']
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith('.otlp-tls-')] == []


def test_a_refused_config_leaves_the_live_one(tmp_path):
    path = tmp_path / 'config.yaml'
    path.write_text('receivers: {}\n')
    result = run_module('config_file', dict(path=str(path), content='broken: [\n' + SECRET,
                                            validate=validator(tmp_path, 'receivers')))
    assert result['failed'] and result['rc'] == 4 and 'was not replaced' in result['msg']
    assert 'lacks receivers' in result['stderr']
    assert path.read_text() == 'receivers: {}\n'
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith('.otlp-tls-')] == []
    assert 's3cr3t' not in result['_stdout']


def test_a_mode_change_alone_is_a_change(tmp_path):
    path = tmp_path / 'unit.service'
    path.write_text('[Unit]\n')
    os.chmod(str(path), 0o600)
    result = run_module('config_file', dict(path=str(path), content='[Unit]\n', mode='0644'))
    assert result['changed'] and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644


def test_validate_must_name_the_file(tmp_path):
    result = run_module('config_file', dict(path=str(tmp_path / 'x'), content='x', validate='/bin/true'))
    assert result['failed'] and 'must contain %s' in result['msg']


def test_a_missing_directory_is_named(tmp_path):
    result = run_module('config_file', dict(path=str(tmp_path / 'nope' / 'x'), content='[Unit]\n'))
    assert result['failed'] and 'does not exist' in result['msg']


def test_the_directory_is_made_and_put_right_in_the_same_call(tmp_path):
    path = tmp_path / 'etc' / 'otelcol' / 'config.yaml'
    args = dict(path=str(path), content='receivers: {}\n', mode='0640', create_directory=True, directory_mode='0750')
    preview = run_module('config_file', args, check=True)
    assert preview['changed'] and not path.parent.exists()
    first = run_module('config_file', args)
    assert first['changed'] and path.read_text() == 'receivers: {}\n'
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(str(path.parent.parent)).st_mode) == 0o755, 'a missing parent is made 0755'
    assert not run_module('config_file', args)['changed']
    os.chmod(str(path.parent), 0o777)
    fixed = run_module('config_file', args)
    assert fixed['changed'] and stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o750


def test_a_linked_directory_is_refused(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    os.symlink(str(real), str(tmp_path / 'etc'))
    result = run_module('config_file', dict(path=str(tmp_path / 'etc' / 'config.yaml'), content='x\n',
                                            create_directory=True, directory_mode='0750'))
    assert result['failed'] and 'symbolic link' in result['msg'] and os.listdir(str(real)) == []
