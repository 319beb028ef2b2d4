# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A private key kept or made on the host and its CSR: M(otlp.tls.x509_csr) makes one, M(otlp.tls.host_state) the ones
its plan needs, in the same call that reads the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.common import argument_spec
from ansible_collections.otlp.tls.plugins.module_utils.files import (
    check_parent, ensure_directory, move_into_place, octal_mode, read_file, staged_key_path, write_file,
)


def csr_spec(**extra):
    """x509_csr's options, plus ``extra``."""
    return argument_spec(
        ('files',),
        private_key_path=dict(type='path', required=True),
        key_type=dict(type='str', default='ec-p256', choices=list(pki.KEY_TYPES)),
        rotate_key=dict(type='bool', default=False),
        mode=dict(type='str', default='0600'),
        common_name=dict(type='str', required=True),
        organization=dict(type='str'),
        dns_names=dict(type='list', elements='str', default=[]),
        ip_addresses=dict(type='list', elements='str', default=[]),
        subject_alt_names=dict(type='list', elements='str', default=[]),
        profile=dict(type='str', choices=list(pki.PROFILES)),
        certificate_path=dict(type='path'),
        create_directory=dict(type='bool', default=False),
        directory_owner=dict(type='str'),
        directory_group=dict(type='str'),
        directory_mode=dict(type='str', default='0750'),
        **extra)


def csr_params(entry, settings):
    """x509_csr's options for ``entry``, as roles/certificate/tasks/generated.yml passes them."""
    return dict(private_key_path=entry['dir'] + '/key.pem', key_type=settings.get('key_type') or 'ec-p256',
                rotate_key=boolean(settings.get('rotate_key') or False, strict=False), owner=entry['owner'],
                group=entry['group'],
                mode=entry['key_mode'], common_name=entry['common_name'],
                organization=settings.get('organization') or None, dns_names=[], ip_addresses=[],
                subject_alt_names=list(entry['subject_alt_names']), certificate_path=entry['dir'] + '/cert.pem',
                profile=entry['profile'], create_directory=True, directory_owner='root',
                directory_group=entry['group'], directory_mode='0750')


def usable_key(data, source):
    """The key in ``data`` when a service could use it (unencrypted RSA or EC), else None."""
    if data is None:
        return None
    try:
        return pki.load_private_key(data, None, source)
    except pki.PKIError:
        return None


def describe_key(data):
    """What a diff may say about a key file: its public key fingerprint, never the key."""
    if data is None:
        return 'absent'
    key = usable_key(data, 'key')
    return 'public key sha256 %s' % pki.public_key_fingerprint(key) if key is not None else 'key present (unreadable)'


def private_mode_ok(path, mode):
    """True when the file at ``path`` is a regular file that nobody beyond ``mode`` could have read."""
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    allowed = octal_mode(mode)
    current = stat.S_IMODE(os.stat(path).st_mode)
    if allowed is None:
        return not current & 0o007
    return not current & ~allowed & 0o777


def live_attributes(params, key_path):
    """Owner and group for the staged key: as asked, or else those of the live key."""
    owner, group = params['owner'], params['group']
    if (owner is None or group is None) and os.path.exists(key_path):
        info = os.stat(key_path)
        owner = owner if owner is not None else str(info.st_uid)
        group = group if group is not None else str(info.st_gid)
    return owner, group


def decide_key(live_data, staged_data, key_type, rotate_key, staged_ok):
    """Return (key, reason, new_key, staged) for the key the CSR is made for.

    ``staged`` tells that the key goes to the staged path and the live key stays as it is.
    ``reason`` is empty when no file has to change.
    """
    if live_data is None:
        return pki.generate_private_key(key_type), 'no key yet', True, False
    live = usable_key(live_data, 'existing private key')
    if live is None:
        if rotate_key:
            # A key no service can read pairs with nothing: replace it where it is.
            return pki.generate_private_key(key_type), 'rotate_key requested', True, False
        try:
            pki.load_private_key(live_data, None, 'existing private key')
        except pki.PKIError as exc:
            raise pki.PKIError('existing private key can not be used (%s). The key must be an unencrypted RSA or EC '
                               'key that the service can read: set rotate_key to replace it'
                               % str(exc).split(': set the passphrase option', 1)[0])
    if rotate_key:
        need = 'rotate_key requested'
    elif pki.key_type_of(live) != key_type:
        need = 'key type changed (%s -> %s)' % (pki.key_type_of(live), key_type)
    else:
        if pki.private_key_format(live_data) != 'pkcs8':
            return live, 'rewritten as PKCS#8 (was %s)' % pki.private_key_format(live_data), False, False
        return live, '', False, False
    # The live key keeps working with its certificate until the new one is installed.
    staged = usable_key(staged_data, 'staged private key')
    if (staged is not None and staged_ok and pki.key_type_of(staged) == key_type
            and pki.private_key_format(staged_data) == 'pkcs8'
            and pki.public_key_fingerprint(staged) != pki.public_key_fingerprint(live)):
        return staged, '%s: the key staged by an earlier run is used again (its certificate is not installed yet)' \
            % need, True, True
    return pki.generate_private_key(key_type), need, True, True


def make_csr(module, params):
    """Keep or make the private key and build the CSR (x509_csr's options in ``params``); x509_csr's result.

    ``module``: for check mode, diff mode and file writes only; every option is read from ``params``, so that
    host_state can prepare the CSRs of a plan in the same call that reads the host.
    """
    key_path = params['private_key_path']
    staged_path = staged_key_path(key_path)
    dir_changed = False
    if params['create_directory']:
        dir_changed = ensure_directory(module, os.path.dirname(os.path.abspath(key_path)),
                                       owner=params['directory_owner'], group=params['directory_group'],
                                       mode=params['directory_mode'])
    check_parent(key_path, 'private key', module.check_mode)
    check_parent(staged_path, 'staged private key', module.check_mode)
    extra_dns, extra_ips = pki.split_names(params['subject_alt_names'])
    dns, ips = pki.normalize_sans(params['dns_names'] + extra_dns, params['ip_addresses'] + extra_ips)
    live_before = existing = read_file(key_path, 'private key')
    staged_before = staged_data = read_file(staged_path, 'staged private key')

    existing_cert, cert = '', None
    if params['certificate_path']:
        data = read_file(params['certificate_path'], 'certificate')
        if data:
            try:
                cert = pki.load_certificate(data)
                existing_cert = to_text(pki.certificate_pem(cert))
            except pki.PKIError:
                # An unreadable certificate is as good as none: the signer re-issues it.
                cert, existing_cert = None, ''

    # An installation cut short between the certificate and the key (or a certificate kept
    # elsewhere, as on the CA host) leaves the staged key as the one the certificate belongs
    # to: move it into place before anything else.
    promoted = False
    if staged_data is not None and cert is not None:
        staged_key, live_key = usable_key(staged_data, 'staged key'), usable_key(existing, 'key')
        if (staged_key is not None and pki.key_matches_certificate(staged_key, cert)
                and not (live_key is not None and pki.key_matches_certificate(live_key, cert))):
            move_into_place(module, staged_path, key_path)
            existing, staged_data, promoted = staged_data, None, True

    # A staged key is used again only when nobody beyond the live key's owner and mode could have read it.
    staged_ok = (staged_data is not None and private_mode_ok(staged_path, params['mode'])
                 and (not os.path.exists(key_path) or os.stat(staged_path).st_uid == os.stat(key_path).st_uid))
    key, reason, new_key, staged = decide_key(existing, staged_data, params['key_type'], params['rotate_key'],
                                              staged_ok)
    if promoted:
        reason = '; '.join(filter(None, [
            'the staged key %s was moved into place: the installed certificate belongs to it' % staged_path, reason]))
        new_key = True

    if staged:
        # Content of the live key untouched; its owner, group and mode kept in line, and the
        # staged key gets the same, so that neither is ever readable beyond the other.
        changed = write_file(module, key_path, existing, params['owner'], params['group'], params['mode'])
        owner, group = live_attributes(params, key_path)
        changed = write_file(module, staged_path, pki.private_key_to_pkcs8(key), owner, group,
                             params['mode']) or changed
    else:
        changed = write_file(module, key_path, pki.private_key_to_pkcs8(key) if reason else existing,
                             params['owner'], params['group'], params['mode'])
    changed = changed or dir_changed or promoted
    csr = pki.build_csr(key, params['common_name'], params['organization'], dns, ips, params['profile'])

    fingerprint = pki.public_key_fingerprint(key)
    result = dict(changed=changed, csr=to_text(pki.csr_pem(csr)), existing_certificate=existing_cert,
                  key_type=pki.key_type_of(key), public_key_fingerprint=fingerprint,
                  private_key_changed=new_key, private_key_reason=reason, staged=staged,
                  staged_private_key_path=staged_path, staged_key_promoted=promoted)
    if module._diff:
        if staged or promoted:
            before = '%s: %s\n%s: %s\n' % (key_path, describe_key(live_before), staged_path, describe_key(staged_before))
            after = '%s: %s\n%s: %s\n' % (
                key_path, describe_key(existing), staged_path,
                describe_key(pki.private_key_to_pkcs8(key)) if staged else describe_key(staged_data))
            result['diff'] = dict(before_header=key_path, after_header=key_path, before=before, after=after)
        else:
            fingerprint_before = ''
            if live_before is not None and new_key:
                # rotate_key replaces a key that can not be read (encrypted, damaged): nothing to show.
                live = usable_key(live_before, 'key')
                fingerprint_before = pki.public_key_fingerprint(live) if live is not None else 'unreadable'
            result['diff'] = dict(
                before_header=key_path, after_header=key_path,
                before='' if live_before is None else 'public key sha256: %s\n' % (fingerprint_before or fingerprint),
                after='public key sha256: %s\n' % fingerprint)
    return result
