#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: x509_csr
short_description: Keep a private key on the host that uses it and return a CSR for it
description:
  - Runs on the host that will use the key. Creates the private key when it is missing, keeps it otherwise, and writes it
    as unencrypted PKCS#8 (the only form every OpenTelemetry SDK reads; Java rejects PKCS#1 and SEC1).
  - A key in another format (PKCS#1, SEC1) is rewritten as PKCS#8 without changing the key itself.
  - Returns a certificate signing request for the requested subject and subjectAltNames, and the certificate currently
    installed at O(certificate_path), so that M(otlp.tls.x509_sign) can decide whether it is still good.
  - The CSR is returned, never written; it is a message to the CA, not state.
  - A usable key at O(private_key_path) is never overwritten by a new one (O(rotate_key), or a changed O(key_type)); the
    new key is staged beside it at C(<private_key_path>.next), written atomically as PKCS#8 with the same owner, group
    and mode, and the CSR is made for it (RV(staged)). The live key keeps working with its certificate until
    M(otlp.tls.x509_install) installs the certificate issued for the staged key and moves the staged key into place
    in the same call. If signing fails, nothing the service uses has changed.
  - A staged key left by an earlier run whose certificate was never installed is used again when a new key is asked
    for again (no new key on every retry). When no new key is asked for, the CSR is for the live key and the staged key
    is left where it is; it is used by the next rotation, or remove it to discard it.
  - A staged key that the certificate at O(certificate_path) belongs to (an installation cut short between the
    certificate and the key, or a certificate copy kept elsewhere) is moved into place first (RV(staged_key_promoted)).
  - Without a key (first issue), or in place of a key no service can read (encrypted, damaged; only with
    O(rotate_key)), the new key is written to O(private_key_path) directly.
version_added: 0.1.0
extends_documentation_fragment:
  - otlp.tls.common
  - otlp.tls.common.files
options:
  private_key_path:
    description: Path of the private key.
    type: path
    required: true
  key_type:
    description:
      - Type of the key. An existing key of another type is replaced by a new one of this type.
    type: str
    default: ec-p256
    choices: [ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096]
  rotate_key:
    description:
      - Replace the existing key with a new one. The new key is staged at C(<private_key_path>.next) until its
        certificate is installed by M(otlp.tls.x509_install); a key already staged there is used again.
    type: bool
    default: false
  mode:
    description:
      - Mode of the private key file (0600, or 0640 with a O(group) that the service runs as), and of a staged key.
    type: str
    default: '0600'
  common_name:
    description: Common name of the subject.
    type: str
    required: true
  organization:
    description: Organization of the subject.
    type: str
  dns_names:
    description: DNS subjectAltNames.
    type: list
    elements: str
    default: []
  ip_addresses:
    description: IP subjectAltNames.
    type: list
    elements: str
    default: []
  subject_alt_names:
    description:
      - Names and addresses in one list; each IP address becomes an IP subjectAltName, anything else a DNS one.
      - Added to O(dns_names) and O(ip_addresses).
    type: list
    elements: str
    default: []
  profile:
    description:
      - Usage to ask the CA for, carried in the CSR as a requested extendedKeyUsage. M(otlp.tls.x509_sign) uses it unless
        its request names a profile.
    type: str
    choices: [server, client, both]
  certificate_path:
    description: Path of the certificate installed for this key, returned as RV(existing_certificate) when it exists.
    type: path
  create_directory:
    description:
      - Create the key's directory when it is missing and keep it owned by O(directory_owner), with group
        O(directory_group) and mode O(directory_mode). Missing parents are created with mode 0755, so that every service
        can reach its own directory below them; existing parents are left as they are.
      - Saves a separate M(ansible.builtin.file) task, that is one remote call per host.
      - Without it the directory must exist (except in check mode).
    type: bool
    default: false
    version_added: 0.2.0
  directory_owner:
    description: Owner of the key's directory with O(create_directory). Left as it is when not set.
    type: str
    version_added: 0.2.0
  directory_group:
    description: Group of the key's directory with O(create_directory), usually the group the service runs as.
    type: str
    version_added: 0.2.0
  directory_mode:
    description: Mode of the key's directory with O(create_directory).
    type: str
    default: '0750'
    version_added: 0.2.0
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Key and CSR for the collector's server certificate
  otlp.tls.x509_csr:
    private_key_path: /etc/otelcol/tls/server.key
    group: otelcol
    mode: '0640'
    create_directory: true
    directory_group: otelcol
    common_name: "{{ inventory_hostname }}"
    dns_names:
      - "{{ inventory_hostname }}"
      - "{{ ansible_facts['fqdn'] }}"
    ip_addresses:
      - "{{ ansible_facts['default_ipv4']['address'] }}"
    certificate_path: /etc/otelcol/tls/server.crt
  register: otlp_csr
'''

RETURN = r'''
csr:
  description: The certificate signing request, PEM.
  returned: success
  type: str
existing_certificate:
  description: The certificate at O(certificate_path), PEM, or an empty string when there is none.
  returned: success
  type: str
key_type:
  description: Type of the key.
  returned: success
  type: str
  sample: ec-p256
public_key_fingerprint:
  description: SHA-256 of the public key the CSR is for (the staged key when RV(staged)), hex. Identifies the key
    without revealing it.
  returned: success
  type: str
private_key_changed:
  description:
    - Whether the CSR is for a new key, made now or staged by an earlier run (a format conversion alone is not a new
      key), or the staged key was moved into place.
  returned: success
  type: bool
private_key_reason:
  description: Why the key was created, staged, replaced or rewritten; empty when it was kept as it was.
  returned: success
  type: str
staged:
  description:
    - Whether the CSR is for a staged key at RV(staged_private_key_path) rather than the key at O(private_key_path),
      which stays as it is until M(otlp.tls.x509_install) installs the certificate of the staged key.
  returned: success
  type: bool
staged_private_key_path:
  description:
    - Where a staged key lives, C(<private_key_path>.next), whether or not there is one.
    - When RV(staged) is false a key may still be there, left by a rotation whose certificate was never installed.
  returned: success
  type: str
  sample: /etc/otlp-tls/collector/key.pem.next
staged_key_promoted:
  description:
    - Whether a key staged by an earlier run was moved to O(private_key_path) because the certificate at
      O(certificate_path) belongs to it.
  returned: success
  type: bool
'''

import os
import stat

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.common import argument_spec, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import (
    check_parent, ensure_directory, move_into_place, octal_mode, read_file, staged_key_path, write_file,
)


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


def run(module):
    params = module.params
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


def main():
    run_module(argument_spec(
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
    ), run)


if __name__ == '__main__':
    main()
