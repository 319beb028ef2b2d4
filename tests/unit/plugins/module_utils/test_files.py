# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""ensure_directory when another process on the host makes a missing parent at the same moment."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.otlp.tls.plugins.module_utils import files


class Module(object):
    check_mode = False

    def __init__(self):
        self.attrs = None

    def load_file_common_arguments(self, params):
        return dict(params)

    def set_fs_attributes_if_different(self, attrs, changed):
        self.attrs = attrs
        return changed


def racing_mkdir(monkeypatch, winner):
    """os.mkdir that, for ``winner``, lets another process create it first (EEXIST, as the kernel says)."""
    real = os.mkdir

    def mkdir(path, mode=0o777):
        if path == winner:
            real(path, 0o755)
            raise OSError(errno.EEXIST, 'File exists', path)
        return real(path, mode)
    monkeypatch.setattr(files.os, 'mkdir', mkdir)


def test_a_parent_made_by_another_run_meanwhile_is_fine(tmp_path, monkeypatch):
    target = tmp_path / 'hosts' / 'app1'
    racing_mkdir(monkeypatch, str(tmp_path / 'hosts'))
    module = Module()
    assert files.ensure_directory(module, str(target), mode='0700') is True
    assert target.is_dir() and oct(target.stat().st_mode & 0o777) == '0o700'
    assert module.attrs['path'] == str(target) and module.attrs['mode'] == '0700'


def test_a_file_in_the_way_still_fails(tmp_path, monkeypatch):
    target = tmp_path / 'hosts' / 'app1'
    real = os.mkdir

    def mkdir(path, mode=0o777):
        if path == str(tmp_path / 'hosts'):
            open(path, 'w').close()
            raise OSError(errno.EEXIST, 'File exists', path)
        return real(path, mode)
    monkeypatch.setattr(files.os, 'mkdir', mkdir)
    with pytest.raises(files.FileProblem, match='cannot create the directory'):
        files.ensure_directory(Module(), str(target), mode='0700')
