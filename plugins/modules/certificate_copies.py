#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: certificate_copies
short_description: Copy public certificate files on the host, for a reader that can not enter their directories, in one call
description:
  - For each item of O(copies), reads the certificate file O(copies[].src) on the host and writes its content to
    O(copies[].dest) atomically (a temporary file renamed over it) with O(owner), O(group) and O(mode), when it
    differs. The collector role uses it for the agent's copies of its apps' client certificates, whose directories
    are the apps' alone, so that the collector's user can read them (certificate metrics).
  - Only certificates are copied. A source that is not a regular file (a symbolic link, say), is larger than 64 KiB,
    or holds anything but PEM C(CERTIFICATE) blocks (a private key, say) is refused with a warning, nothing is written
    for it, and the others are still copied (the user a source belongs to can not hold up the other copies).
  - With O(directory), the copies' directory is made or put right first (owner C(root), O(group),
    O(directory_mode)); a symbolic link there is refused.
version_added: 0.3.0
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  copies:
    description: What to copy.
    type: list
    elements: dict
    required: true
    suboptions:
      src:
        description: The certificate file to read.
        type: path
        required: true
      dest:
        description: The copy to write.
        type: path
        required: true
  owner:
    description: The copies' owner.
    type: str
    default: root
  group:
    description: The copies' group (the reader's).
    type: str
  mode:
    description: The copies' mode.
    type: str
    default: '0644'
  directory:
    description: The directory of the copies, made or put right first. Every O(copies[].dest) must be in it.
    type: path
  directory_mode:
    description: The mode of O(directory).
    type: str
    default: '0750'
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Let the collector read the apps' certificates
  otlp.tls.certificate_copies:
    directory: /etc/otlp-tls/collector/apps
    group: otelcol
    copies:
      - src: /etc/otlp-tls/checkout/cert.pem
        dest: /etc/otlp-tls/collector/apps/checkout.pem
'''

RETURN = r'''
refused:
  description: The sources not copied, each with C(src) and C(reason).
  returned: success
  type: list
  elements: dict
changed_files:
  description: The copies written (in check mode, that would be), and the directory when it was made or put right.
  returned: success
  type: list
  elements: str
'''

import errno
import os
import re
import stat

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.otlp.tls.plugins.module_utils.common import ModuleFailure, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import ensure_directory, write_file

MAX_SIZE = 64 * 1024
CERTIFICATE = re.compile(br'-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?')


def read_certificate(path):
    """The content of the regular file ``path`` when it holds PEM certificates and nothing else."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModuleFailure('%s is a symbolic link: only a certificate file is copied. Nothing was written for it.'
                                % path)
        raise ModuleFailure('cannot read %s: %s. Nothing was written for it.' % (path, to_native(exc.strerror or exc)))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ModuleFailure('%s is not a regular file: only a certificate file is copied.' % path)
        if info.st_size > MAX_SIZE:
            raise ModuleFailure('%s is larger than %d bytes: it is no certificate file.' % (path, MAX_SIZE))
        data = os.read(fd, MAX_SIZE + 1)
    finally:
        os.close(fd)
    if not CERTIFICATE.search(data) or CERTIFICATE.sub(b'', data).strip():
        raise ModuleFailure('%s holds something besides PEM certificates: it is not copied (a copy is readable by '
                            'others, so nothing but certificates may go there).' % path)
    return data


def run(module):
    params = module.params
    changed = []
    directory = params['directory']
    if directory:
        directory = os.path.abspath(directory)
        if os.path.islink(directory):
            raise ModuleFailure('%s is a symbolic link: the copies go to a real directory (remove the link)' % directory)
        for item in params['copies']:
            if os.path.dirname(os.path.abspath(item['dest'])) != directory:
                raise ModuleFailure('%s is not in %s' % (item['dest'], directory))
        if ensure_directory(module, directory, owner='root', group=params['group'], mode=params['directory_mode']):
            changed.append(directory)
    refused = []
    for item in params['copies']:
        try:
            data = read_certificate(item['src'])
        except ModuleFailure as exc:
            refused.append(dict(src=item['src'], reason=str(exc)))
            module.warn(str(exc))
            continue
        if os.path.islink(item['dest']):
            raise ModuleFailure('%s is a symbolic link: remove it, the copy is written as a file' % item['dest'])
        if write_file(module, item['dest'], data, params['owner'], params['group'], params['mode']):
            changed.append(item['dest'])
    return dict(changed=bool(changed), changed_files=changed, refused=refused)


def main():
    run_module(dict(
        copies=dict(type='list', elements='dict', required=True, options=dict(
            src=dict(type='path', required=True),
            dest=dict(type='path', required=True),
        )),
        owner=dict(type='str', default='root'),
        group=dict(type='str'),
        mode=dict(type='str', default='0644'),
        directory=dict(type='path'),
        directory_mode=dict(type='str', default='0750'),
    ), run, needs_cryptography=False)


if __name__ == '__main__':
    main()
