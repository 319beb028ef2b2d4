#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: host_state
short_description: Read in one call everything the controller needs to decide what must change on a host
description:
  - Reads, and never writes, the state the roles' plans are compared with; the controller decides from it
    (otlp.tls.exporter_plan, otlp.tls.certificate_plan) whether anything else has to run on the host.
  - For systemd units, their load and active state and the user and group they run as.
  - For certificate directories, the public files (certificate, full chain, trust bundle) as text, the owner, group and
    mode of every file, and of the private key its public key fingerprint only (the key never leaves the host).
  - For plain files, their SHA-256, owner, group and mode. For secret files (an C(EnvironmentFile=) with tokens) an
    HMAC-SHA256 under O(digest_key), a key only the controller knows for this run; a digest of a secret that anyone
    reading the output could test guesses against is never returned.
version_added: 0.3.0
extends_documentation_fragment:
  - otlp.tls.common.reads
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
requirements:
  - systemd (C(systemctl)) on the host when O(units) is not empty
  - python3-cryptography on the host for the public key fingerprints (without it they are null, and the controller
    treats the key as unknown, which re-runs the full certificate path)
options:
  units:
    description: systemd units to read (with or without C(.service)).
    type: list
    elements: str
    default: []
  certificates:
    description: Certificate directories to read, each holding C(cert.pem), C(fullchain.pem), C(ca.pem) and C(key.pem).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name the result is keyed by.
        type: str
        required: true
      dir:
        description: The directory.
        type: path
        required: true
  files:
    description: Files (or directories) to stat and, for files, hash.
    type: list
    elements: path
    default: []
  secret_files:
    description: Files whose content is secret; returned as an HMAC under O(digest_key).
    type: list
    elements: path
    default: []
  digest_key:
    description: Key of the HMAC for O(secret_files); required when they are given. Never shown (C(no_log)).
    type: str
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Read units, certificates and drop-ins in one call
  otlp.tls.host_state:
    units: [checkout.service]
    certificates:
      - name: checkout
        dir: /etc/otlp-tls/checkout
    files: [/etc/systemd/system/checkout.service.d/50-otlp-tls.conf]
  register: state
'''

RETURN = r'''
units:
  description: By unit name (with C(.service)); load_state, active_state, user and group (the user's primary group when
    the unit names none; root when it names no user).
  returned: always
  type: dict
certificates:
  description: By name; C(files) (per file name, C(exists), C(owner), C(group), C(mode) and, for the public ones,
    C(text)), C(key_public_fingerprint) (null when there is no usable key or no cryptography), C(key_pkcs8), C(key_type)
    and C(staged_key) (whether C(key.pem.next) exists).
  returned: always
  type: dict
files:
  description: By path; exists, sha256, owner, group, mode (and C(hmac) for secret files instead of C(sha256)).
  returned: always
  type: dict
'''

import grp
import hashlib
import hmac
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

try:
    from ansible_collections.otlp.tls.plugins.module_utils import pki
    HAS_PKI = True
except ImportError:  # python3-cryptography missing on the host
    HAS_PKI = False

PUBLIC_FILES = ('cert.pem', 'fullchain.pem', 'ca.pem')
MAX_READ = 256 * 1024


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def read_regular(path, limit=MAX_READ):
    """The first ``limit`` bytes of ``path`` if it is a regular file, not reached through a final symlink; else None.

    Opened without following a symlink and without blocking (a FIFO swapped in after a stat can not hang the call),
    then checked again on the open file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, 'rb') as handle:
            fd = None
            return handle.read(limit)
    finally:
        if fd is not None:
            os.close(fd)


def stat_path(path, digest=None):
    """exists, owner, group, mode (and sha256 / hmac of a regular file's content) of ``path``, without following links."""
    try:
        info = os.lstat(path)
    except OSError:
        return dict(exists=False)
    out = dict(exists=True, owner=_name(pwd.getpwuid, info.st_uid), group=_name(grp.getgrgid, info.st_gid),
               mode='%04o' % stat.S_IMODE(info.st_mode), kind='directory' if stat.S_ISDIR(info.st_mode)
               else 'file' if stat.S_ISREG(info.st_mode) else 'other')
    if out['kind'] == 'file' and digest is not None:
        data = read_regular(path, MAX_READ + 1)
        if data is None:
            out['kind'] = 'other'
        else:
            out.update(digest(data))
    return out


def read_certificate_dir(directory):
    files = {}
    for name in PUBLIC_FILES:
        path = os.path.join(directory, name)
        entry = stat_path(path)
        data = read_regular(path) if entry.get('kind') == 'file' else None
        if data is not None:
            entry['text'] = to_text(data, errors='surrogate_or_replace')
        files[name] = entry
    files['dir'] = stat_path(directory)
    key_path = os.path.join(directory, 'key.pem')
    files['key.pem'] = stat_path(key_path)
    out = dict(files=files, key_public_fingerprint=None, key_pkcs8=None, key_type=None,
               staged_key=stat_path(key_path + '.next').get('exists', False))
    data = read_regular(key_path) if HAS_PKI and files['key.pem'].get('kind') == 'file' else None
    if data is not None:
        try:
            key = pki.load_private_key(data, None, 'key')
        except pki.PKIError:
            key = None
        if key is not None:
            out.update(key_public_fingerprint=pki.public_key_fingerprint(key), key_type=pki.key_type_of(key),
                       key_pkcs8=pki.private_key_format(data) == 'pkcs8')
    return out


def read_units(module, units):
    names = [u if '.' in u else u + '.service' for u in units]
    if not names:
        return {}
    systemctl = module.get_bin_path('systemctl', required=True)
    rc, out, err = module.run_command([systemctl, 'show', '-p', 'Id,LoadState,ActiveState,User,Group', '--'] + names)
    if rc != 0:
        module.fail_json(msg='systemctl show failed: %s' % (err.strip() or 'rc %d' % rc))
    # One block per unit, in the order asked, separated by an empty line.
    blocks = [dict(line.split('=', 1) for line in block.splitlines() if '=' in line)
              for block in out.strip('\n').split('\n\n')]
    result = {}
    for name, block in zip(names, blocks):
        user = block.get('User') or 'root'
        group = block.get('Group')
        if not group:
            try:
                group = _name(grp.getgrgid, pwd.getpwnam(user).pw_gid)
            except KeyError:
                group = user
        result[name] = dict(load_state=block.get('LoadState', 'not-found'),
                            active_state=block.get('ActiveState', 'inactive'), user=user, group=group)
    return result


def run(module):
    params = module.params
    if params['secret_files'] and not params['digest_key']:
        module.fail_json(msg='secret_files needs digest_key (a key the controller keeps for this run)')
    key = to_bytes(params['digest_key'] or '')

    def plain(data):
        return dict(sha256=hashlib.sha256(data).hexdigest())

    def secret(data):
        return dict(hmac=hmac.new(key, data, hashlib.sha256).hexdigest())

    files = dict((path, stat_path(path, plain)) for path in params['files'])
    files.update((path, stat_path(path, secret)) for path in params['secret_files'])
    certificates = dict((item['name'], read_certificate_dir(item['dir'])) for item in params['certificates'])
    return dict(changed=False, units=read_units(module, params['units']), certificates=certificates, files=files,
                cryptography=HAS_PKI)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            units=dict(type='list', elements='str', default=[]),
            certificates=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True), dir=dict(type='path', required=True))),
            files=dict(type='list', elements='path', default=[]),
            # Paths of secret files, not secrets (validate-modules asks because of the name).
            secret_files=dict(type='list', elements='path', default=[], no_log=False),
            digest_key=dict(type='str', no_log=True),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == '__main__':
    main()
