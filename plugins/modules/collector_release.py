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
  - Unpacks the C(.tar.gz) archive O(src) (or copies the bare binary O(src)) into C(<release_dir>.partial), checks that
    an executable O(binary) is at its top level, then renames the directory to O(release_dir) in one step and points
    the symbolic link O(link) at the binary (a new link renamed over the old one). The release that runs now is not
    touched, as it lives in its own directory, and the link is the last thing to change.
  - When the archive does not hold the binary, or anything else fails, the partial directory is removed and nothing
    else has changed; the message names the fix.
  - Creates the parent directory of O(release_dir) (C(root), C(0755)) when it is missing. The release belongs to
    C(root) whoever owned the files in the archive, and is not writable by anyone else.
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
  link:
    description: A symbolic link to point at the new binary (C(/usr/local/bin/otelcol-contrib)); none when empty.
    type: path
  cleanup_dir:
    description:
      - A directory to remove when done, whatever happened (the action's temporary directory that O(src) was sent
        to). Set by the action plugin; leave it out when calling the module otherwise.
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
binary_path:
  description: The installed binary, O(release_dir)/O(binary).
  returned: success
  type: str
  sample: /opt/otlp-tls/collector/0.165.0-1a2b3c4d5e6f/otelcol-contrib
'''

import os
import shutil

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.otlp.tls.plugins.module_utils.common import ModuleFailure, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import ensure_directory


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


def _link(target, link):
    """Point ``link`` at ``target``: a new link beside it, renamed over it (never a moment without one)."""
    if os.path.isdir(link) and not os.path.islink(link):
        raise ModuleFailure('%s is a directory, not the link to the collector: move it away, or set '
                            'otlp_tls_collector_distribution to another name' % link)
    ensure_parent = os.path.dirname(link)
    if not os.path.isdir(ensure_parent):
        raise ModuleFailure('the directory %s for the link %s does not exist' % (ensure_parent, link))
    new = '%s.otlp-tls-new' % link
    _remove(new)
    os.symlink(target, new)
    os.rename(new, link)


def install(module, params):
    release = os.path.abspath(params['release_dir'])
    binary = params['binary']
    if not binary or '/' in binary or binary in ('.', '..'):
        raise ModuleFailure('binary must be a file name, not a path: %r (set otlp_tls_collector_distribution)' % binary)
    if os.path.lexists(release):
        raise ModuleFailure('%s exists already, without an executable %s in it: remove it, and run again to install '
                            'the release afresh' % (release, binary))
    if not os.path.isfile(params['src']):
        raise ModuleFailure('the collector file %s did not reach the host' % params['src'])
    ensure_directory(module, os.path.dirname(release), owner='root', group='root', mode='0755')
    partial = release + '.partial'
    # A partial directory is only ever left by a run that was killed: it is ours to replace.
    _remove(partial)
    os.mkdir(partial, 0o755)
    os.chmod(partial, 0o755)
    target = os.path.join(partial, binary)
    try:
        if params['kind'] == 'archive':
            # GNU tar strips leading slashes and skips members with '..': nothing lands outside the directory.
            rc, out, err = module.run_command([module.get_bin_path('tar', required=True), '-xzf', params['src'],
                                               '-C', partial, '--no-same-owner'])
            if rc != 0:
                raise ModuleFailure('could not unpack %s: tar said: %s' % (params['src'], (err or out).strip()[:1000]))
        else:
            shutil.copyfile(params['src'], target)
            os.chmod(target, 0o755)
        if os.path.islink(target) or not os.path.isfile(target) or not os.access(target, os.X_OK):
            raise ModuleFailure('no executable %s at the top of %s: it must hold the binary "%s" at its top level '
                                '(set otlp_tls_collector_distribution to the name it has)'
                                % (binary, params['src'], binary))
        # Nothing in the release is writable beyond root, nor set-id, whatever modes the archive carried.
        for top, dirs, files in os.walk(partial):
            for name in dirs + files:
                path = os.path.join(top, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode & 0o755)
        os.rename(partial, release)
    except BaseException:
        _remove(partial)
        raise
    binary_path = os.path.join(release, binary)
    if params['link']:
        _link(binary_path, params['link'])
    return binary_path


def run(module):
    params = module.params
    if module.check_mode:
        return dict(changed=True, binary_path=os.path.join(params['release_dir'], params['binary']),
                    msg='would install %s into %s' % (params['src'], params['release_dir']))
    try:
        binary_path = install(module, params)
    except OSError as exc:
        raise ModuleFailure('could not install %s into %s: %s' % (params['src'], params['release_dir'],
                                                                  to_native(exc.strerror or exc)))
    finally:
        if params['cleanup_dir']:
            shutil.rmtree(params['cleanup_dir'], ignore_errors=True)
    return dict(changed=True, binary_path=binary_path)


def main():
    run_module(dict(
        src=dict(type='path', required=True),
        kind=dict(type='str', choices=['archive', 'binary'], default='archive'),
        release_dir=dict(type='path', required=True),
        binary=dict(type='str', required=True),
        link=dict(type='path'),
        cleanup_dir=dict(type='path'),
    ), run, needs_cryptography=False)


if __name__ == '__main__':
    main()
