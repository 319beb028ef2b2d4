# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""certificate_copies: public copies of certificate files, written atomically, only certificates, in one call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import stat

from .test_modules import run_module

CERT = b'-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n'
KEY = b'-----BEGIN PRIVATE KEY-----\nMIIBAAAA\n-----END PRIVATE KEY-----\n'
GROUP = grp.getgrgid(os.getgid()).gr_name


def task(tmp_path, *names):
    return dict(directory=str(tmp_path / 'copies'), group=GROUP,
                copies=[dict(src=str(tmp_path / name), dest=str(tmp_path / 'copies' / (name + '.pem'))) for name in names])


def test_copies_are_made_with_their_directory_and_kept(tmp_path):
    (tmp_path / 'a').write_bytes(CERT)
    (tmp_path / 'b').write_bytes(CERT + CERT)
    result = run_module('certificate_copies', task(tmp_path, 'a', 'b'))
    assert result['changed'] and result['refused'] == []
    assert (tmp_path / 'copies' / 'b.pem').read_bytes() == CERT + CERT
    assert stat.S_IMODE(os.stat(str(tmp_path / 'copies')).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(str(tmp_path / 'copies' / 'a.pem')).st_mode) == 0o644
    assert not run_module('certificate_copies', task(tmp_path, 'a', 'b'))['changed'], 'the same content: no change'
    (tmp_path / 'a').write_bytes(CERT.replace(b'AAAA', b'BBBB'))
    again = run_module('certificate_copies', task(tmp_path, 'a', 'b'))
    assert again['changed_files'] == [str(tmp_path / 'copies' / 'a.pem')]


def test_check_mode_writes_nothing(tmp_path):
    (tmp_path / 'a').write_bytes(CERT)
    result = run_module('certificate_copies', task(tmp_path, 'a'), check=True)
    assert result['changed'] and not os.path.exists(str(tmp_path / 'copies'))


def test_a_key_a_link_or_a_big_file_is_refused_and_the_others_still_copied(tmp_path):
    (tmp_path / 'good').write_bytes(CERT)
    (tmp_path / 'key').write_bytes(CERT + KEY)
    (tmp_path / 'secret').write_bytes(b'root:x:0:0\n')
    os.symlink(str(tmp_path / 'secret'), str(tmp_path / 'link'))
    (tmp_path / 'big').write_bytes(CERT * 2000)
    result = run_module('certificate_copies', task(tmp_path, 'key', 'link', 'big', 'good'))
    assert not result.get('failed'), result
    assert [r['src'].rsplit('/', 1)[1] for r in result['refused']] == ['key', 'link', 'big']
    assert 'besides PEM certificates' in result['refused'][0]['reason']
    assert 'symbolic link' in result['refused'][1]['reason']
    assert sorted(os.listdir(str(tmp_path / 'copies'))) == ['good.pem']


def test_a_linked_directory_or_a_copy_outside_it_is_refused(tmp_path):
    (tmp_path / 'a').write_bytes(CERT)
    (tmp_path / 'real').mkdir()
    os.symlink(str(tmp_path / 'real'), str(tmp_path / 'copies'))
    result = run_module('certificate_copies', task(tmp_path, 'a'))
    assert result['failed'] and 'symbolic link' in result['msg'] and os.listdir(str(tmp_path / 'real')) == []
    os.unlink(str(tmp_path / 'copies'))
    outside = dict(task(tmp_path, 'a'), copies=[dict(src=str(tmp_path / 'a'), dest=str(tmp_path / 'elsewhere.pem'))])
    result = run_module('certificate_copies', outside)
    assert result['failed'] and 'is not in' in result['msg']
