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
  - Reads the state the roles' plans are compared with; the controller decides from it (otlp.tls.exporter_plan,
    otlp.tls.certificate_plan) whether anything else has to run on the host. Without O(prepare) it writes nothing.
  - With O(prepare), in the same call, keeps or makes the private key and builds the CSR of each certificate that
    needs the signing path, as M(otlp.tls.x509_csr) does; the decision is the plan's own (the same code, on what this
    call read). Nothing is prepared when a unit of O(prepare.units) is not loaded, O(prepare.entries[].owner_units)
    run as more than one user, or a file of O(prepare.unchanged) differs; the controller then refuses the host, or
    makes the CSRs with M(otlp.tls.x509_csr) after its own checks.
  - For systemd units, their load and active state and the user and group they run as.
  - For certificate directories, the public files (certificate, full chain, trust bundle) as text, the owner, group and
    mode of every file, and of the private key its public key fingerprint only (the key never leaves the host).
  - For plain files, their SHA-256, owner, group and mode. For secret files (an C(EnvironmentFile=) with tokens) an
    HMAC-SHA256 under O(digest_key), a key the controller makes for this host and run and shows nowhere (only this
    host receives it); a digest of a secret that anyone reading the output could test guesses against is never
    returned.
version_added: 0.3.0
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: Writes no key in check mode; the CSRs of O(prepare) are built for keys made in memory, as in M(otlp.tls.x509_csr).
  diff_mode:
    support: partial
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    details: Each prepared CSR's result holds the key's diff (public key fingerprints only); the module returns none
      of its own.
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
  host_names:
    description:
      - Names to look up in C(/etc/hosts) (the file only, not DNS), for a task that adds a line only when it is
        missing.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  listeners:
    description:
      - Also list the TCP sockets that listen on the host, with the names of the processes that hold them (read from
        C(/proc), as C(ss -ltnp) does; a process of another user may show without its name where the module lacks
        C(CAP_SYS_PTRACE), in a container say).
    type: bool
    default: false
    version_added: 0.3.0
  live_config:
    description:
      - When the unit O(live_config.unit) is active, the ports of the C(endpoint:) lines of its config O(live_config.path)
        (only the port numbers are returned, nothing else of the file). Tells the ports a running collector holds
        even when its process shows without a name.
    type: dict
    version_added: 0.3.0
    suboptions:
      unit:
        description: The unit (it must be in O(units) too).
        type: str
        required: true
      path:
        description: Its config file.
        type: path
        required: true
  stat_only:
    description:
      - Files to stat only (exists, kind, owner, group, mode), never read; for secret files whose presence is all
        the controller needs.
    type: list
    elements: path
    default: []
    version_added: 0.3.0
  users:
    description: Local users to look up (for example a service's user, created only when missing or different).
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  groups:
    description: Local groups to look up.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  secret_files:
    description: Files whose content is secret; returned as an HMAC under O(digest_key).
    type: list
    elements: path
    default: []
  digest_key:
    description: Key of the HMAC for O(secret_files); required when they are given. Never shown (C(no_log)).
    type: str
  prepare:
    description:
      - Certificates whose key and CSR to prepare when the decision says they need the signing path. Public data
        only.
    type: dict
    suboptions:
      ca:
        description: The CA role's C(certificate) (the signing CA) and C(bundle) (the trust bundle), PEM.
        type: dict
        default: {}
      settings:
        description: C(renew_before_days), C(force), C(rotate_key), C(key_type) and C(organization), as the plan has them.
        type: dict
        default: {}
      units:
        description: Units that must all be loaded for anything to be prepared.
        type: list
        elements: str
        default: []
      unchanged:
        description:
          - Files and directories that must be as given for anything to be prepared (they must be in O(files) or
            O(secret_files)), each C(path) with any of C(sha256), C(hmac) under O(digest_key) (empty - the file must
            not exist), C(owner), C(group) or C(group_unit) (the group of that unit, as read) and C(mode).
        type: list
        elements: dict
        default: []
      entries:
        description: The certificate entries, as the plan has them.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Name of the entry; it must be in O(certificates) too.
            type: str
            required: true
          dir:
            description: Its directory (C(key.pem), C(cert.pem) in it).
            type: path
            required: true
          owner_units:
            description: The key belongs to the user these units run as (all the same user, or nothing is prepared).
            type: list
            elements: str
            default: []
          group:
            description: Group of the key and directory; by default the group of the unit in O(prepare.entries[].owner_units).
            type: str
          key_mode:
            description: Mode of the key file.
            type: str
            default: '0600'
          common_name:
            description: Subject common name of the CSR.
            type: str
            required: true
          subject_alt_names:
            description: subjectAltNames of the CSR.
            type: list
            elements: str
            default: []
          profile:
            description: Extended key usage of the CSR.
            type: str
            choices: [server, client, both]
            required: true
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
  description: By unit name (with C(.service)); load_state, active_state, unit_file_state (C(enabled), C(disabled), ...),
    user and group (the user's primary group when the unit names none; root when it names no user), and main_pid (0
    when it runs no process).
  returned: always
  type: dict
certificates:
  description: By name; C(files) (per file name, C(exists), C(owner), C(group), C(mode) and, for the public ones,
    C(text)), C(key_public_fingerprint) (null when there is no usable key or no cryptography), C(key_pkcs8), C(key_type)
    and C(staged_key) (whether C(key.pem.next) exists).
  returned: always
  type: dict
files:
  description: By path; exists, kind (C(file), C(directory), C(link) or C(other)), sha256, owner, group, mode (and
    C(hmac) for secret files instead of C(sha256); neither for O(stat_only)), and for a symbolic link its C(target).
  returned: always
  type: dict
host_names:
  description: By name of O(host_names), the addresses that C(/etc/hosts) gives it, in the file's order (empty when none).
  returned: always
  type: dict
listeners:
  description: With O(listeners), each listening TCP socket's C(address), C(port), C(pids) and C(processes) (the PIDs
    of the processes that hold it, and at the same index each one's name, which any user can choose; both empty when
    not known, as for another user's process without CAP_SYS_PTRACE).
  returned: always
  type: list
  elements: dict
live_ports:
  description: With O(live_config), the ports of its endpoints when the unit is active (else empty).
  returned: always
  type: list
  elements: int
users:
  description: By name; exists, and for a user that exists its uid, group (the primary group's name), home and shell.
  returned: always
  type: dict
groups:
  description: By name; exists, and for a group that exists its gid.
  returned: always
  type: dict
prepared:
  description:
    - By entry name, for the entries of O(prepare) that needed the signing path; C(entry) (the entry with the owner and
      group used), C(reasons) (why), and C(result) (what M(otlp.tls.x509_csr) returns, with the CSR) or C(error).
  returned: always
  type: dict
'''

import grp
import hashlib
import hmac
import os
import pwd
import re
import socket
import stat
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

try:
    from ansible_collections.otlp.tls.plugins.module_utils import pki
    from ansible_collections.otlp.tls.plugins.module_utils.cert_decision import certificate_decisions
    from ansible_collections.otlp.tls.plugins.module_utils.csr import csr_params, make_csr
    from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem
    HAS_PKI = pki.HAS_CRYPTOGRAPHY
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
               else 'file' if stat.S_ISREG(info.st_mode) else 'link' if stat.S_ISLNK(info.st_mode) else 'other')
    if out['kind'] == 'link':
        out['target'] = to_text(os.readlink(path), errors='surrogate_or_replace')
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


def _address(hex_address):
    """The text form of an address from /proc/net/tcp{,6} (host byte order in 32-bit words)."""
    raw = bytes(bytearray.fromhex(hex_address))
    raw = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4)) if sys.byteorder == 'little' else raw
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def read_listeners(proc='/proc'):
    """Listening TCP sockets: address, port, and the PIDs and names of the processes holding them (as far as
    readable: a process of another user hides its descriptors without CAP_SYS_PTRACE)."""
    sockets = {}
    for table in ('tcp', 'tcp6'):
        try:
            with open(os.path.join(proc, 'net', table)) as handle:
                rows = handle.read().splitlines()[1:]
        except (IOError, OSError):
            continue
        for row in rows:
            fields = row.split()
            # sl local_address rem_address st ... inode: state 0A is LISTEN.
            if len(fields) < 10 or fields[3] != '0A':
                continue
            address, port = fields[1].split(':')
            sockets[fields[9]] = dict(address=_address(address), port=int(port, 16), processes=[], pids=[])
    for pid in os.listdir(proc) if sockets else []:
        if not pid.isdigit():
            continue
        fd_dir = os.path.join(proc, pid, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except OSError:  # gone, or another user's process without CAP_SYS_PTRACE
            continue
        name = None
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            inode = target[8:-1] if target.startswith('socket:[') else None
            if inode in sockets and int(pid) not in sockets[inode]['pids']:
                if name is None:
                    try:
                        # Bytes: any user may name a process with bytes that are not UTF-8.
                        with open(os.path.join(proc, pid, 'comm'), 'rb') as handle:
                            name = to_text(handle.read(), errors='surrogate_or_replace').strip()
                    except (IOError, OSError, ValueError):
                        name = ''
                # One entry per process, in both lists: processes[i] is the name of pids[i].
                sockets[inode]['pids'].append(int(pid))
                sockets[inode]['processes'].append(name)
    return sorted(sockets.values(), key=lambda s: (s['port'], s['address']))


def read_live_ports(live, units):
    """The ports of the endpoint: lines of the live config, when its unit is active (only numbers leave the host)."""
    unit = live['unit'] if '.' in live['unit'] else live['unit'] + '.service'
    if (units.get(unit) or {}).get('active_state') != 'active':
        return []
    data = read_regular(live['path'])
    if data is None:
        return []
    ports = set()
    for line in to_text(data, errors='surrogate_or_replace').splitlines():
        match = re.match(r'^\s+endpoint:.*:(\d+)\D*$', line)
        if match:
            ports.add(int(match.group(1)))
    return sorted(ports)


def read_users(names):
    out = {}
    for name in names:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            out[name] = dict(exists=False)
            continue
        out[name] = dict(exists=True, uid=entry.pw_uid, group=_name(grp.getgrgid, entry.pw_gid), home=entry.pw_dir,
                         shell=entry.pw_shell)
    return out


def read_groups(names):
    out = {}
    for name in names:
        try:
            out[name] = dict(exists=True, gid=grp.getgrnam(name).gr_gid)
        except KeyError:
            out[name] = dict(exists=False)
    return out


def read_units(module, units):
    names = [u if '.' in u else u + '.service' for u in units]
    if not names:
        return {}
    systemctl = module.get_bin_path('systemctl', required=True)
    rc, out, err = module.run_command([systemctl, 'show', '-p', 'Id,LoadState,ActiveState,UnitFileState,User,Group,MainPID',
                                       '--'] + names)
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
                            active_state=block.get('ActiveState', 'inactive'),
                            unit_file_state=block.get('UnitFileState', ''), user=user, group=group,
                            main_pid=int(block.get('MainPID') or 0) if (block.get('MainPID') or '0').isdigit() else 0)
    return result


def prepare_entries(module, prepare, units, certificates, files):
    """Keys and CSRs of the entries the decision sends down the signing path (see the module doc); by name."""
    if not prepare or not HAS_PKI:
        return {}
    wanted = [u if '.' in u else u + '.service' for u in prepare['units']]
    if any((units.get(u) or {}).get('load_state') != 'loaded' for u in wanted):
        return {}
    for want in prepare['unchanged']:
        if not as_expected(want, files.get(want.get('path')) or {}, units):
            return {}
    settings = prepare['settings'] or {}
    entries = []
    for item in prepare['entries']:
        owners = [units.get(u if '.' in u else u + '.service') or {} for u in item['owner_units']]
        users = sorted(set(o.get('user') or 'root' for o in owners))
        if len(users) > 1 or item['name'] not in certificates:
            return {}
        group = item['group'] or (owners[0].get('group') if len(owners) == 1 else None) or 'root'
        entries.append(dict(name=item['name'], dir=item['dir'], owner=users[0] if users else 'root', group=group,
                            key_mode=item['key_mode'], common_name=item['common_name'],
                            subject_alt_names=list(item['subject_alt_names']), profile=item['profile']))
    decisions = certificate_decisions(entries, certificates, prepare['ca'] or {}, settings)
    out = {}
    for entry in entries:
        if not decisions.get(entry['name']):
            continue
        params = csr_params(entry, settings)
        done = dict(entry=entry, reasons=decisions[entry['name']], params=params)
        try:
            done['result'] = make_csr(module, params)
        except (pki.PKIError, FileProblem) as exc:
            # The controller falls back to otlp.tls.x509_csr, which says the same with its task's name.
            done['error'] = to_text(exc)
        out[entry['name']] = done
    return out


def read_host_names(names, path='/etc/hosts'):
    """By name, the addresses ``path`` (hosts(5) format) maps it to, in the file's order."""
    out = dict((name, []) for name in names)
    if not names:
        return out
    try:
        with open(path, 'rb') as handle:
            lines = to_text(handle.read(), errors='surrogate_or_replace').splitlines()
    except (IOError, OSError):
        return out
    for line in lines:
        fields = line.split('#', 1)[0].split()
        for name in fields[1:]:
            if name in out and fields[0] not in out[name]:
                out[name].append(fields[0])
    return out


def as_expected(want, have, units):
    """Whether a file host_state read is as ``want`` (an item of prepare.unchanged) says: its sha256 or HMAC (an
    empty HMAC: absent), owner, group (or the group of the unit ``group_unit``) and mode."""
    if 'hmac' in want and not want['hmac']:
        return not have.get('exists')
    if not have.get('exists'):
        return False
    for key in ('sha256', 'hmac', 'owner', 'mode'):
        if key in want and have.get(key) != want[key]:
            return False
    group = want.get('group')
    if want.get('group_unit'):
        group = (units.get(want['group_unit']) or {}).get('group')
    return group is None or have.get('group') == group


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
    files.update((path, stat_path(path)) for path in params['stat_only'] if path not in files)
    certificates = dict((item['name'], read_certificate_dir(item['dir'])) for item in params['certificates'])
    units = read_units(module, params['units'])
    prepared = prepare_entries(module, params['prepare'], units, certificates, files)
    return dict(changed=any((p.get('result') or {}).get('changed') for p in prepared.values()), units=units,
                certificates=certificates, files=files, cryptography=HAS_PKI, prepared=prepared,
                listeners=read_listeners() if params['listeners'] else [],
                host_names=read_host_names(params['host_names']),
                live_ports=read_live_ports(params['live_config'], units) if params['live_config'] else [],
                users=read_users(params['users']), groups=read_groups(params['groups']))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            units=dict(type='list', elements='str', default=[]),
            certificates=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True), dir=dict(type='path', required=True))),
            files=dict(type='list', elements='path', default=[]),
            stat_only=dict(type='list', elements='path', default=[]),
            listeners=dict(type='bool', default=False),
            host_names=dict(type='list', elements='str', default=[]),
            live_config=dict(type='dict', options=dict(unit=dict(type='str', required=True),
                                                       path=dict(type='path', required=True))),
            users=dict(type='list', elements='str', default=[]),
            groups=dict(type='list', elements='str', default=[]),
            # Paths of secret files, not secrets (validate-modules asks because of the name).
            secret_files=dict(type='list', elements='path', default=[], no_log=False),
            digest_key=dict(type='str', no_log=True),
            prepare=dict(type='dict', options=dict(
                ca=dict(type='dict', default={}),
                settings=dict(type='dict', default={}),
                units=dict(type='list', elements='str', default=[]),
                unchanged=dict(type='list', elements='dict', default=[]),
                entries=dict(type='list', elements='dict', default=[], options=dict(
                    name=dict(type='str', required=True),
                    dir=dict(type='path', required=True),
                    owner_units=dict(type='list', elements='str', default=[]),
                    group=dict(type='str'),
                    key_mode=dict(type='str', default='0600', no_log=False),
                    common_name=dict(type='str', required=True),
                    subject_alt_names=dict(type='list', elements='str', default=[]),
                    profile=dict(type='str', required=True, choices=['server', 'client', 'both']),
                )),
            )),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run(module))


if __name__ == '__main__':
    main()
