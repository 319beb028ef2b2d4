# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""collector_release: a release unpacked beside the running one, checked, moved into place in one rename and linked;
on any failure nothing but the partial directory was touched, and that is gone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import os
import stat
import tarfile

import pytest

from .test_modules import run_module

BINARY = 'otelcol-contrib'


def archive(path, members):
    """A .tar.gz at ``path`` with ``members``: name -> (bytes, mode)."""
    with tarfile.open(str(path), 'w:gz') as tar:
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), mode, 4242, 4242
            if name.endswith('/'):
                info.type = tarfile.DIRTYPE
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def args(tmp_path, src, **extra):
    out = dict(src=src, release_dir=str(tmp_path / 'opt' / 'collector' / '0.165.0-abc'), binary=BINARY,
               link=str(tmp_path / 'bin' / BINARY))
    out.update(extra)
    return out


def test_an_archive_is_installed_and_linked(tmp_path):
    (tmp_path / 'bin').mkdir()
    src = archive(tmp_path / 'otelcol.tar.gz',
                  {BINARY: (b'#!/bin/sh\necho 0.165.0\n', 0o775), 'README.md': (b'read me', 0o666)})
    task = args(tmp_path, src)
    result = run_module('collector_release', task)
    release = tmp_path / 'opt' / 'collector' / '0.165.0-abc'
    assert result['changed'] and result['binary_path'] == str(release / BINARY)
    assert os.readlink(task['link']) == str(release / BINARY)
    assert stat.S_IMODE(os.stat(str(release / BINARY)).st_mode) == 0o755, 'no group write from the archive'
    assert stat.S_IMODE(os.stat(str(release / 'README.md')).st_mode) == 0o644
    assert os.stat(str(release / BINARY)).st_uid == os.getuid(), 'the archive owner is not kept'
    assert stat.S_IMODE(os.stat(str(release.parent)).st_mode) == 0o755
    assert not os.path.exists(str(release) + '.partial')


def test_a_new_release_leaves_the_running_one_and_moves_the_link(tmp_path):
    (tmp_path / 'bin').mkdir()
    old = args(tmp_path, archive(tmp_path / 'old.tar.gz', {BINARY: (b'old', 0o755)}),
               release_dir=str(tmp_path / 'opt' / 'collector' / '0.164.0-old'))
    assert run_module('collector_release', old)['changed']
    new = args(tmp_path, archive(tmp_path / 'new.tar.gz', {BINARY: (b'new', 0o755)}))
    assert run_module('collector_release', new)['changed']
    assert (tmp_path / 'opt' / 'collector' / '0.164.0-old' / BINARY).read_bytes() == b'old'
    with open(new['link'], 'rb') as handle:
        assert handle.read() == b'new'


def test_an_archive_without_the_binary_changes_nothing(tmp_path):
    (tmp_path / 'bin').mkdir()
    os.symlink('/nonexistent/old', str(tmp_path / 'bin' / BINARY))
    src = archive(tmp_path / 'wrong.tar.gz', {'otelcol': (b'core', 0o755)})
    result = run_module('collector_release', args(tmp_path, src))
    assert result['failed'] and 'no executable otelcol-contrib at the top of' in result['msg']
    assert 'otlp_tls_collector_distribution' in result['msg']
    assert os.listdir(str(tmp_path / 'opt' / 'collector')) == [], 'the partial directory is removed'
    assert os.readlink(str(tmp_path / 'bin' / BINARY)) == '/nonexistent/old'


def test_a_binary_that_is_not_executable_is_made_so(tmp_path):
    src = archive(tmp_path / 'noexec.tar.gz', {BINARY: (b'x', 0o644)})
    result = run_module('collector_release', args(tmp_path, src, link=None))
    assert stat.S_IMODE(os.stat(result['binary_path']).st_mode) == 0o755


def test_a_file_that_is_not_an_archive_says_what_tar_said(tmp_path):
    src = tmp_path / 'otelcol.tar.gz'
    src.write_bytes(b'this is not gzip')
    result = run_module('collector_release', args(tmp_path, str(src)))
    assert result['failed'] and 'could not unpack' in result['msg'] and 'tar said' in result['msg']
    assert os.listdir(str(tmp_path / 'opt' / 'collector')) == []


def test_members_outside_the_directory_stay_inside(tmp_path):
    (tmp_path / 'bin').mkdir()
    src = archive(tmp_path / 'evil.tar.gz',
                  {BINARY: (b'x', 0o755), '../../../escaped': (b'x', 0o644), '/abs-escaped': (b'x', 0o644)})
    run_module('collector_release', args(tmp_path, src))
    assert not (tmp_path / 'escaped').exists() and not (tmp_path / 'opt' / 'escaped').exists()
    assert not os.path.exists('/abs-escaped')


def test_a_bare_binary_and_the_cleanup_dir(tmp_path):
    sent = tmp_path / 'ansible-tmp-1764612345.67-42-1234'
    sent.mkdir()
    (sent / BINARY).write_bytes(b'\x7fELF')
    result = run_module('collector_release', args(tmp_path, str(sent / BINARY), kind='binary', link=None,
                                                  cleanup_dir=str(sent)))
    release = tmp_path / 'opt' / 'collector' / '0.165.0-abc'
    assert result['changed'] and stat.S_IMODE(os.stat(str(release / BINARY)).st_mode) == 0o755
    assert result['temporary_removed'] and not sent.exists(), 'the temporary directory the action sent the file to is gone'


def test_the_cleanup_dir_goes_on_failure_too(tmp_path):
    sent = tmp_path / 'ansible-tmp-1764612345.67-42-99'
    sent.mkdir()
    src = archive(sent / 'x.tar.gz', {'nothing': (b'x', 0o644)})
    result = run_module('collector_release', args(tmp_path, src, cleanup_dir=str(sent)))
    assert result['failed'] and result['temporary_removed'] and not sent.exists()


def test_only_an_ansible_temporary_directory_is_removed(tmp_path):
    other = tmp_path / 'etc'
    other.mkdir()
    src = archive(other / 'x.tar.gz', {BINARY: (b'x', 0o755)})
    result = run_module('collector_release', args(tmp_path, src, link=None, cleanup_dir=str(other)))
    assert result['changed'] and result['temporary_removed'] is False and other.exists()


def test_an_existing_release_directory_is_not_overwritten(tmp_path):
    release = tmp_path / 'opt' / 'collector' / '0.165.0-abc'
    release.mkdir(parents=True)
    (release / 'keep').write_text('x')
    src = archive(tmp_path / 'a.tar.gz', {BINARY: (b'x', 0o755)})
    result = run_module('collector_release', args(tmp_path, src))
    assert result['failed'] and 'exists already' in result['msg'] and (release / 'keep').exists()


def test_the_archive_top_entry_does_not_open_the_release(tmp_path):
    src = archive(tmp_path / 'dot.tar.gz', {'./': (b'', 0o777), BINARY: (b'x', 0o700)})
    with tarfile.open(src) as tar:
        assert tar.getmembers()[0].isdir() and tar.getmembers()[0].mode == 0o777
    run_module('collector_release', args(tmp_path, src, link=None))
    release = tmp_path / 'opt' / 'collector' / '0.165.0-abc'
    assert stat.S_IMODE(os.stat(str(release)).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(str(release / BINARY)).st_mode) == 0o755, 'executable by the service user'
    assert [n for n in os.listdir(str(release.parent)) if 'partial' in n] == []


def test_a_checksum_that_differs_changes_nothing(tmp_path):
    src = archive(tmp_path / 'a.tar.gz', {BINARY: (b'x', 0o755)})
    result = run_module('collector_release', args(tmp_path, src, checksum='0' * 64))
    assert result['failed'] and 'damaged or replaced' in result['msg'] and not (tmp_path / 'opt').exists()
    good = hashlib.sha256(open(src, 'rb').read()).hexdigest().upper()
    assert run_module('collector_release', args(tmp_path, src, link=None, checksum=good))['changed']


@pytest.mark.parametrize('problem', ['group-writable', 'symlink', 'other-owner'])
def test_an_install_directory_others_could_write_is_refused(tmp_path, problem):
    parent = tmp_path / 'opt'
    parent.mkdir()
    if problem == 'group-writable':
        os.chmod(str(parent), 0o775)
    elif problem == 'symlink':
        real = tmp_path / 'elsewhere'
        real.mkdir()
        parent.rmdir()
        os.symlink(str(real), str(parent))
    else:
        os.chown(str(parent), 4242, 4242)
    src = archive(tmp_path / 'a.tar.gz', {BINARY: (b'x', 0o755)})
    result = run_module('collector_release', args(tmp_path, src, link=None))
    assert result['failed'] and 'otlp_tls_collector_install_dir' in result['msg'], result['msg']
    assert not (tmp_path / 'opt' / 'collector').exists()


def test_check_mode_touches_nothing(tmp_path):
    src = archive(tmp_path / 'a.tar.gz', {BINARY: (b'x', 0o755)})
    result = run_module('collector_release', args(tmp_path, src), check=True)
    assert result['changed'] and 'would install' in result['msg'] and not (tmp_path / 'opt').exists()


def test_a_path_as_binary_is_refused(tmp_path):
    src = archive(tmp_path / 'a.tar.gz', {BINARY: (b'x', 0o755)})
    result = run_module('collector_release', args(tmp_path, src, binary='../otelcol'))
    assert result['failed'] and 'must be a file name' in result['msg']


# The real collectors the tests build (scripts/setup.sh): the test distribution, and the core-only one without the
# tls_check receiver and the resource processor.
CERT_METRICS = ['receivers/tls_check|tlscheck', 'processors/resource']


def real_collector(variable):
    path = os.environ.get(variable)
    assert path and os.access(path, os.X_OK), '%s is not set: run scripts/setup.sh (collector builds)' % variable
    return path


def test_a_binary_with_the_required_components_is_installed(tmp_path):
    (tmp_path / 'bin').mkdir()
    task = args(tmp_path, real_collector('OTLP_TLS_COLLECTOR_BIN'), kind='binary', binary='otelcol',
                link=str(tmp_path / 'bin' / 'otelcol'), required_components=CERT_METRICS)
    result = run_module('collector_release', task)
    assert result['changed'] and not result.get('failed'), result
    assert os.path.isfile(result['binary_path'])


def test_a_binary_without_them_changes_nothing_and_says_what_it_lacks(tmp_path):
    (tmp_path / 'bin').mkdir()
    os.symlink('/nonexistent/old', str(tmp_path / 'bin' / 'otelcol'))
    task = args(tmp_path, real_collector('OTLP_TLS_COLLECTOR_CORE_BIN'), kind='binary', binary='otelcol',
                link=str(tmp_path / 'bin' / 'otelcol'), required_components=CERT_METRICS)
    result = run_module('collector_release', task)
    assert result['failed'] and result['missing_components'] == ['receiver tls_check', 'processor resource']
    assert 'has no receiver tls_check and no processor resource' in result['msg'] and 'Nothing changed' in result['msg']
    assert os.listdir(str(tmp_path / 'opt' / 'collector')) == [], 'the staging directory is removed'
    assert os.readlink(str(tmp_path / 'bin' / 'otelcol')) == '/nonexistent/old'
    # Without the requirement the same binary installs.
    task['required_components'] = []
    assert run_module('collector_release', task)['changed']


def test_a_binary_that_does_not_run_changes_nothing(tmp_path):
    (tmp_path / 'bin').mkdir()
    src = tmp_path / 'otelcol'
    src.write_bytes(b'\x7fELF not really')
    result = run_module('collector_release', args(tmp_path, str(src), kind='binary', binary='otelcol',
                                                  required_components=CERT_METRICS))
    assert result['failed'] and 'does not run here' in result['msg'], result
    assert os.listdir(str(tmp_path / 'opt' / 'collector')) == []
