# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Atomic, check-mode-aware file writes for the otlp.tls modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_native


# A new private key that replaces a live one waits beside it, under this suffix, until the
# certificate issued for it is installed: x509_csr writes it there, x509_install moves it into
# place together with the certificate, so the live key and certificate always belong together.
STAGED_KEY_SUFFIX = '.next'


class FileProblem(Exception):
    """A path can not be used as asked; the message says why and what to do."""


def staged_key_path(private_key_path):
    """Where the staged replacement of the key at ``private_key_path`` lives (``<path>.next``)."""
    return private_key_path + STAGED_KEY_SUFFIX


def read_file(path, what='file'):
    """Return the bytes of ``path`` or None when it does not exist.

    A directory or an unreadable file is an error with a message, not a crash.
    """
    if not os.path.lexists(path):
        return None
    if os.path.isdir(path):
        raise FileProblem('%s path %s is a directory: point it at a file inside it' % (what, path))
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise FileProblem('cannot read %s %s: %s (check its permissions, or run with become)'
                          % (what, path, to_native(exc.strerror or exc)))


def check_parent(path, what='file', check_mode=False):
    """Fail early when the target directory is missing or the path is a directory.

    In check mode a missing directory is accepted: an earlier task of the same
    run would have created it.
    """
    if os.path.isdir(path):
        raise FileProblem('%s path %s is a directory: point it at a file inside it' % (what, path))
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent) and not check_mode:
        raise FileProblem('the directory %s for %s %s does not exist: create it first' % (parent, what, path))


def octal_mode(mode):
    """The integer form of an octal mode ('0640', 416), or None for symbolic modes."""
    if isinstance(mode, int):
        return mode
    if mode is not None and re.match(r'^0?[0-7]{3,4}$', str(mode)):
        return int(str(mode), 8)
    return None


def file_attributes(module, path, owner=None, group=None, mode=None):
    """File attribute arguments in the form AnsibleModule expects."""
    args = module.load_file_common_arguments({'path': path, 'owner': owner, 'group': group, 'mode': mode})
    args['path'] = path
    return args


def write_file(module, path, content, owner=None, group=None, mode=None, check=None):
    """Write ``content`` to ``path`` atomically if it differs; then fix ownership and mode.

    The new content is written to a temporary file in the same directory with
    the final mode already set (so a key is never world-readable, not even
    for a moment) and renamed over the target.  In check mode nothing is
    written.  Returns True when anything changed.

    ``check``: called with the temporary file's path, with its final owner, group and mode,
    before the rename; whatever it raises leaves ``path`` as it was (a validator).
    """
    content = to_bytes(content)
    check_parent(path, check_mode=module.check_mode)
    current = read_file(path)
    changed = current != content
    if changed and not module.check_mode:
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp_path = tempfile.mkstemp(prefix='.otlp-tls-', dir=directory)
        try:
            # Start private; the requested mode is applied before the rename.
            os.fchmod(fd, (octal_mode(mode) or 0o600) & 0o600)
            with os.fdopen(fd, 'wb') as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            attrs = file_attributes(module, tmp_path, owner, group, mode)
            module.set_fs_attributes_if_different(attrs, False)
            if check is not None:
                check(tmp_path)
            os.rename(tmp_path, path)
        except BaseException:
            # fail_json (a bad owner or group) raises SystemExit: no copy of a key may stay behind.
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
            raise
    if os.path.exists(path):
        attrs = file_attributes(module, path, owner, group, mode)
        changed = module.set_fs_attributes_if_different(attrs, changed)
    return changed


def ensure_directory(module, path, owner=None, group=None, mode=None, parents_mode=0o755):
    """Make ``path`` a directory with this owner, group and mode; returns True when anything changed.

    Missing parents are created root-style: owned by the module's user and ``parents_mode``
    (0755: traversable, so that every service can reach its own files below them), never
    with the directory's group and mode. Existing parents are left alone. In check mode
    nothing is created and a missing directory counts as a change.
    """
    path = os.path.abspath(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FileProblem('%s exists and is not a directory: move it away or choose another directory' % path)
    changed = False
    if not os.path.isdir(path):
        if module.check_mode:
            return True
        missing = []
        parent = path
        while not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(missing):
            try:
                os.mkdir(directory, 0o700)
                # mkdir's mode is masked by the umask: set it outright.
                os.chmod(directory, parents_mode if directory != path else 0o700)
            except OSError as exc:
                # Another run on this machine (hosts sharing a parent, forks of one play) made it
                # first: a directory that exists now is left alone, as an existing parent is.
                if exc.errno == errno.EEXIST and os.path.isdir(directory):
                    continue
                raise FileProblem('cannot create the directory %s: %s (check the parent, or run with become)'
                                  % (directory, to_native(exc.strerror or exc)))
        changed = True
    attrs = file_attributes(module, path, owner, group, mode)
    return module.set_fs_attributes_if_different(attrs, changed)


def move_into_place(module, source, path):
    """Atomically rename ``source`` over ``path`` (same directory); nothing happens in check mode.

    The renamed file keeps its owner, group and mode, so a staged key that was written with
    the live key's attributes is never readable beyond them, not even for a moment.
    """
    if module.check_mode:
        return
    try:
        os.rename(source, path)
    except OSError as exc:
        raise FileProblem('cannot move %s to %s: %s (check the directory permissions, or run with become)'
                          % (source, path, to_native(exc.strerror or exc)))
    # Make the rename durable before anything relies on it.
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
