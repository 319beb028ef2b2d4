#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: collector_release
short_description: Install a collector release (an archive or a bare binary) in its own directory, and link it on the PATH, in one call
description:
  - Checks O(src) against O(checksum), then unpacks the C(.tar.gz) archive (or copies the bare binary) into a
    staging directory beside O(release_dir) that only root can enter, checks that O(binary) is at its top level, then
    renames the directory to O(release_dir) in one step and points the symbolic link O(link) at the binary (a new
    link renamed over the old one). The release that runs now is not touched, as it lives in its own directory, and
    the link is the last thing to change.
  - When the checksum differs, the archive does not hold the binary, or unpacking fails, the staging directory is
    removed and nothing else has changed; the message names the fix. When only the link fails, the release is
    installed and the next run sets the link.
  - Refuses an install directory that is a symbolic link, or that it or any directory above it is writable by anyone
    but root (they could replace the binary that root validates configs with and the service runs). Creates the
    install directory (C(root), C(0755)) when it is missing.
  - The release belongs to C(root) whoever owned the files in the archive, is writable by root alone, has no set-id
    bits, and its binary is mode C(0755).
  - With the action plugin of the same name, O(src) is a file on the controller, sent to the host by the action; the
    module removes it (and the action's temporary directory) when it is done. Two remote commands and the file
    transfer, where C(file), C(unarchive), C(command) and C(file) take seven commands and the transfer.
  - Always installs, so run it only when the release is not there yet (the collector role reads that first, with
    M(otlp.tls.host_state)). An existing O(release_dir) is an error, not overwritten.
version_added: 0.3.0
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The action reports the release it would install and sends nothing to the host.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  src:
    description:
      - The archive (C(.tar.gz), C(.tgz)) or the bare binary. On the controller when the task runs through the action
        plugin (the normal case); the action sends it to a temporary directory on the host.
    type: path
    required: true
  kind:
    description: C(archive) unpacks O(src) with C(tar); C(binary) copies it as O(binary), mode C(0755).
    type: str
    choices: [archive, binary]
    default: archive
  release_dir:
    description: The directory of this release, for example C(/opt/otlp-tls/collector/0.165.0-1a2b3c4d5e6f). It must not exist.
    type: path
    required: true
  binary:
    description: The file name of the collector binary at the top of the archive (C(otelcol-contrib), C(otelcol)).
    type: str
    required: true
  checksum:
    description:
      - The SHA-256 of O(src), as the controller checked it. The file on the host is checked against it before
        anything is unpacked.
    type: str
  link:
    description: A symbolic link to point at the new binary (C(/usr/local/bin/otelcol-contrib)); none when empty.
    type: path
  required_components:
    description:
      - Components the new binary must have, each as C(<kind>/<type>), other names of the same component after C(|)
        (C(receivers/tls_check|tlscheck), C(processors/resource)). The unpacked binary is asked (C(<binary>
        components)) before it is moved into place; when it lacks one, the staging directory is removed and nothing
        changed, and the result's C(missing_components) lists them.
    type: list
    elements: str
    default: []
  cleanup_dir:
    description:
      - A directory to remove when done, whatever happened (the action's temporary directory that O(src) was sent
        to; only a directory named C(ansible-tmp-*) is removed). Set by the action plugin, which refuses it in a task.
    type: path
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Install the collector release and put it on the PATH
  otlp.tls.collector_release:
    src: /var/cache/otlp-tls/otelcol-contrib_0.165.0_linux_amd64.tar.gz
    release_dir: /opt/otlp-tls/collector/0.165.0-1a2b3c4d5e6f
    binary: otelcol-contrib
    link: /usr/local/bin/otelcol-contrib
'''

RETURN = r'''
temporary_removed:
  description: Whether O(cleanup_dir) was removed (the action then makes no call to remove it).
  returned: always
  type: bool
missing_components:
  description: What the binary lacks of O(required_components), as C(receiver tls_check), when that stopped the install.
  returned: failure
  type: list
  elements: str
binary_path:
  description: The installed binary, O(release_dir)/O(binary).
  returned: success
  type: str
  sample: /opt/otlp-tls/collector/0.165.0-1a2b3c4d5e6f/otelcol-contrib
'''

import hashlib
import os
import shutil
import stat
import tempfile
import time

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.otlp.tls.plugins.module_utils import components
from ansible_collections.otlp.tls.plugins.module_utils.common import ModuleFailure, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import ensure_directory

# A staging directory older than this was left by a run that was killed: removed by the next one.
STALE_STAGING_SECONDS = 600


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def check_root_only(path, what):
    """Refuse ``path`` and every directory above it unless each is a real directory (no symbolic link) owned by root
    and writable by root alone (or sticky, as /tmp): whoever else could write there could replace the collector
    that root runs."""
    path = os.path.abspath(path)
    while True:
        if os.path.lexists(path):
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                raise ModuleFailure('%s %s is not a plain directory (a symbolic link, or a file): make it a directory '
                                    'owned by root, mode 0755, or set otlp_tls_collector_install_dir elsewhere'
                                    % (what, path))
            # A sticky directory (/tmp) lets others add entries beside ours, never rename or remove ours.
            if info.st_uid != 0 or (info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX):
                raise ModuleFailure('%s %s is owned by uid %d with mode %04o: only root may write there (chown root '
                                    'and chmod go-w it, or set otlp_tls_collector_install_dir elsewhere)'
                                    % (what, path, info.st_uid, stat.S_IMODE(info.st_mode)))
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link(target, link):
    """Point ``link`` at ``target``: a new link beside it, renamed over it (never a moment without one)."""
    if os.path.isdir(link) and not os.path.islink(link):
        raise ModuleFailure('%s is a directory, not the link to the collector: move it away, or set '
                            'otlp_tls_collector_distribution to another name' % link)
    if not os.path.isdir(os.path.dirname(link)):
        raise ModuleFailure('the directory %s for the link %s does not exist' % (os.path.dirname(link), link))
    new = '%s.otlp-tls-new' % link
    _remove(new)
    try:
        os.symlink(target, new)
        os.rename(new, link)
    except BaseException:
        _remove(new)
        raise


def _remove_stale_staging(install_dir, release):
    prefix = '.%s.partial-' % os.path.basename(release)
    for name in os.listdir(install_dir):
        path = os.path.join(install_dir, name)
        if name.startswith(prefix) and time.time() - os.lstat(path).st_mtime > STALE_STAGING_SECONDS:
            _remove(path)


def _unpack(module, params, staging, binary):
    target = os.path.join(staging, binary)
    if params['kind'] == 'archive':
        # GNU tar strips leading slashes, skips members with '..' and does not write through a link the archive
        # made: nothing lands outside the staging directory. --no-overwrite-dir: an archive's './' member does not
        # change the staging directory's owner or mode.
        rc, out, err = module.run_command([module.get_bin_path('tar', required=True), '-xzf', params['src'], '-C',
                                           staging, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir'])
        if rc != 0:
            raise ModuleFailure('could not unpack %s: tar said: %s. Nothing else changed.'
                                % (params['src'], (err or out).strip()[:1000]))
    else:
        shutil.copyfile(params['src'], target)
    if os.path.islink(target) or not os.path.isfile(target):
        raise ModuleFailure('no executable %s at the top of %s: it must hold the binary "%s" at its top level '
                            '(set otlp_tls_collector_distribution to the name it has). Nothing else changed.'
                            % (binary, params['src'], binary))
    # Nothing in the release is writable beyond root, nor set-id, whatever modes the archive carried; the binary
    # is executable by the service's user, whose unit runs it.
    for top, dirs, files in os.walk(staging):
        for name in dirs + files:
            path = os.path.join(top, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode & 0o755)
    os.chmod(target, 0o755)
    _fsync(target)
    if params['required_components']:
        _check_components(module, params, target, binary)
    return target


def _check_components(module, params, target, binary):
    """The new binary has every required component (it lists them itself), or nothing is installed."""
    try:
        rc, out, err = module.run_command([target, 'components'], handle_exceptions=False)
    except OSError as exc:
        rc, out, err = 126, '', to_native(exc.strerror or exc)
    if rc != 0:
        raise ModuleFailure('%s from %s does not run here (`%s components` exited %d: %s). Nothing changed.'
                            % (binary, params['src'], binary, rc, (err or out).strip()[:500]))
    lacking = components.missing(out, params['required_components'])
    if lacking:
        raise ModuleFailure('%s from %s has no %s. Nothing changed.' % (binary, params['src'], ' and no '.join(lacking)),
                            missing_components=lacking)


def install(module, params):
    release = os.path.abspath(params['release_dir'])
    binary = params['binary']
    if not binary or '/' in binary or binary in ('.', '..'):
        raise ModuleFailure('binary must be a file name, not a path: %r (set otlp_tls_collector_distribution)' % binary)
    if not os.path.isfile(params['src']):
        raise ModuleFailure('the collector file %s did not reach the host' % params['src'])
    if params['checksum'] and sha256_of(params['src']) != params['checksum'].lower():
        raise ModuleFailure('the collector file %s on the host does not have the sha256 %s that the controller checked: '
                            'it was damaged or replaced on the way. Nothing changed.' % (params['src'], params['checksum']))
    install_dir = os.path.dirname(release)
    check_root_only(install_dir, 'the install directory')
    ensure_directory(module, install_dir, owner='root', group='root', mode='0755')
    if os.path.lexists(release):
        raise ModuleFailure('%s exists already, without a root-owned executable %s in it: remove it, and run again to '
                            'install the release afresh' % (release, binary))
    _remove_stale_staging(install_dir, release)
    # 0700 while it fills: no other user can look in, let alone change a file, before it is moved into place.
    staging = tempfile.mkdtemp(prefix='.%s.partial-' % os.path.basename(release), dir=install_dir)
    try:
        _unpack(module, params, staging, binary)
        if os.path.lexists(release):
            raise ModuleFailure('%s appeared while this run unpacked it (another run at the same time?): run again'
                                % release)
        os.chmod(staging, 0o755)
        os.rename(staging, release)
    except BaseException:
        _remove(staging)
        raise
    _fsync(install_dir)
    binary_path = os.path.join(release, binary)
    if params['link']:
        try:
            _link(binary_path, params['link'])
        except OSError as exc:
            raise ModuleFailure('%s is installed, but the link %s could not be set: %s. The next run sets it.'
                                % (release, params['link'], to_native(exc.strerror or exc)))
    return binary_path


def _cleanup(path):
    """Remove the action's temporary directory (only one Ansible made: its name says so); True when it is gone."""
    if not path:
        return False
    if not os.path.basename(os.path.normpath(path)).startswith('ansible-tmp-'):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


def run(module):
    params = module.params
    if module.check_mode:
        return dict(changed=True, binary_path=os.path.join(params['release_dir'], params['binary']),
                    msg='would install %s into %s' % (params['src'], params['release_dir']))
    try:
        try:
            binary_path = install(module, params)
        except OSError as exc:
            raise ModuleFailure('could not install %s into %s: %s' % (params['src'], params['release_dir'],
                                                                      to_native(exc.strerror or exc)))
    except ModuleFailure as exc:
        exc.result['temporary_removed'] = _cleanup(params['cleanup_dir'])
        raise
    return dict(changed=True, binary_path=binary_path, temporary_removed=_cleanup(params['cleanup_dir']))


def main():
    run_module(dict(
        src=dict(type='path', required=True),
        kind=dict(type='str', choices=['archive', 'binary'], default='archive'),
        release_dir=dict(type='path', required=True),
        binary=dict(type='str', required=True),
        link=dict(type='path'),
        checksum=dict(type='str'),
        cleanup_dir=dict(type='path'),
        required_components=dict(type='list', elements='str', default=[]),
    ), run, needs_cryptography=False)


if __name__ == '__main__':
    main()
