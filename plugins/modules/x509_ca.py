#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: x509_ca
short_description: Create or load the private CA that signs OTLP certificates
version_added: 0.1.0
description:
  - Creates a CA private key and a self-signed CA certificate when they do not exist, or loads and checks them when they do.
  - An existing CA is never replaced; a key and certificate that do not belong together, an expired CA certificate, or a
    wrong passphrase fail with a message that says how to fix it.
  - Optionally writes a trust bundle that holds the signing CA first, then the other CA of a rotation under way, then
    other CA certificates that stay trusted.
  - Rotates the CA in resumable phases with an overlapping trust bundle (see O(rotation)).
  - New keys are written as PKCS#8, encrypted with O(private_key_passphrase) when it is set.
author:
  - otlp.tls maintainers (@otlp-tls)
extends_documentation_fragment:
  - otlp.tls.common
  - otlp.tls.common.files
options:
  certificate_path:
    description: Path of the CA certificate (PEM).
    type: path
    required: true
  private_key_path:
    description: Path of the CA private key. It never leaves the host that runs this module.
    type: path
    required: true
  private_key_passphrase:
    description: Passphrase that encrypts the CA private key.
    type: str
  key_type:
    description: Type of a newly created CA key. An existing key is kept whatever its type.
    type: str
    default: ec-p256
    choices: [ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096]
  common_name:
    description: Common name of a newly created CA certificate.
    type: str
    default: otlp.tls CA
  organization:
    description: Organization of a newly created CA certificate.
    type: str
  validity_days:
    description: Lifetime of a newly created CA certificate, in days.
    type: int
    default: 3650
  private_key_mode:
    description: Mode of the CA private key file.
    type: str
    default: '0600'
  certificate_mode:
    description: Mode of the CA certificate and bundle files.
    type: str
    default: '0644'
  bundle_path:
    description:
      - Path of a trust bundle to write, with this CA's certificate first and then the certificates of O(bundle_include).
    type: path
  bundle_include:
    description:
      - Paths of other CA certificate files whose certificates stay in the bundle (for example the previous CA while a
        rotation is under way). Missing files are an error.
    type: list
    elements: path
    default: []
  warn_days:
    description: Warn when the CA certificate expires within this many days.
    type: int
    default: 90
  rotation:
    description:
      - What to do with a CA rotation. The state lives in O(rotation_state_path); the next CA in C(next/) beside the CA.
      - V(follow) changes no phase, but signs and bundles as the current phase says. Every run does this, so a plain
        converge during a rotation keeps the fleet consistent.
      - V(start) makes the next CA and enters phase C(trust), unless a rotation is already under way (then it resumes).
      - V(record) adds O(rotation_hosts) to the hosts that completed O(rotation_phase).
      - V(advance) moves from O(rotation_phase) to the next phase, only when every host of O(rotation_hosts) completed
        it. Moving to C(retire) makes the next CA the CA; the old certificate is kept in C(retired/), its key deleted.
      - "Phases: C(trust): the old CA signs, the bundle holds old and new. C(reissue): the new CA signs, the bundle holds
        new and old. C(retire): the new CA is the CA, the bundle holds it alone. C(done)."
    type: str
    default: follow
    choices: [follow, start, record, advance]
  rotation_phase:
    description: The phase that O(rotation=record) or O(rotation=advance) is about. Nothing happens when the rotation is
      in another phase.
    type: str
    choices: [trust, reissue, retire]
  rotation_hosts:
    description: Hosts that completed O(rotation_phase) (record), or that must have (advance).
    type: list
    elements: str
    default: []
  rotation_state_path:
    description: The rotation state file. Default C(rotation.json) beside O(certificate_path).
    type: path
'''

EXAMPLES = r'''
- name: Create or load the fleet CA on the controller
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    common_name: Example OTLP CA
    bundle_path: /srv/otlp-ca/bundle.crt
  delegate_to: localhost
  run_once: true
  register: otlp_ca

- name: Start a CA rotation (or resume one that is under way)
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    bundle_path: /srv/otlp-ca/bundle.crt
    rotation: start

- name: A CA key that is encrypted at rest
  otlp.tls.x509_ca:
    certificate_path: /srv/otlp-ca/ca.crt
    private_key_path: /srv/otlp-ca/ca.key
    private_key_passphrase: "{{ vault_otlp_ca_passphrase }}"
'''

RETURN = r'''
certificate:
  description: The certificate of the CA that signs in the current rotation phase, PEM.
  returned: success
  type: str
bundle:
  description: The trust bundle, PEM (this CA first). Equal to RV(certificate) when O(bundle_include) is empty.
  returned: success
  type: str
info:
  description: Facts about the CA certificate.
  returned: success
  type: dict
  contains:
    subject:
      description: Subject, RFC 4514.
      type: str
      sample: CN=otlp.tls CA
    not_after:
      description: Expiry, UTC, ISO 8601.
      type: str
      sample: '2036-11-24T10:00:00Z'
    days_left:
      description: Whole days until expiry.
      type: int
    fingerprint_sha256:
      description: SHA-256 fingerprint of the certificate, hex.
      type: str
    key_type:
      description: Key type of the CA.
      type: str
      sample: ec-p256
private_key_created:
  description: Whether a new CA key (the CA's or, starting a rotation, the next CA's) was created by this run.
  returned: success
  type: bool
signing_certificate_path:
  description: The certificate of the CA that signs in the current rotation phase.
  returned: success
  type: str
signing_private_key_path:
  description: The private key of the CA that signs in the current rotation phase.
  returned: success
  type: str
rotation:
  description: The rotation state.
  returned: success
  type: dict
  contains:
    phase:
      description: none (never rotated), trust, reissue, retire or done.
      type: str
    done:
      description: For each phase, the hosts that completed it.
      type: dict
    old_fingerprint:
      description: SHA-256 fingerprint of the CA being replaced.
      type: str
    new_fingerprint:
      description: SHA-256 fingerprint of the CA replacing it.
      type: str
    state_path:
      description: Where the state is kept.
      type: str
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem, read_file, write_file, check_parent


PHASES = ('trust', 'reissue', 'retire')
NEXT_PHASE = {'trust': 'reissue', 'reissue': 'retire', 'retire': 'done'}


def summary(cert):
    if cert is None:
        return ''
    info = pki.certificate_info(cert)
    return 'subject: %s\nserial: %s\nnot_after: %s\nfingerprint: %s\n' % (
        info['subject'], info['serial_number'], info['not_after'], info['fingerprint_sha256'])


def now_iso():
    return pki.utcnow().strftime('%Y-%m-%dT%H:%M:%SZ')


class CAFiles(object):
    """Load, check or create one CA key and certificate pair."""

    def __init__(self, module, key_path, cert_path, allow_expired=False):
        params = module.params
        self.module, self.key_path, self.cert_path = module, key_path, cert_path
        self.changed = False
        for path, what in ((key_path, 'CA private key'), (cert_path, 'CA certificate')):
            check_parent(path, what, module.check_mode)
        key_data = read_file(key_path, 'CA private key')
        cert_data = read_file(cert_path, 'CA certificate')
        self.key_created = False
        if key_data is None:
            if cert_data is not None:
                raise pki.PKIError(
                    'the CA certificate %s exists but its key %s does not: restore the key, or remove the certificate '
                    'to create a new CA (every certificate will then be re-issued)' % (cert_path, key_path))
            self.key = pki.generate_private_key(params['key_type'])
            self.key_created = True
        else:
            self.key = pki.load_private_key(key_data, params['private_key_passphrase'], 'CA private key %s' % key_path)
        self.old_cert = None
        if cert_data is not None:
            cert = pki.load_certificate(cert_data, 'CA certificate %s' % cert_path)
            if not pki.key_matches_certificate(self.key, cert):
                raise pki.PKIError(
                    'the CA key %s and certificate %s do not belong together: restore the matching pair (or remove '
                    'both to create a new CA)' % (key_path, cert_path))
            if not pki.is_ca(cert):
                raise pki.PKIError('%s is not a CA certificate (basicConstraints CA:FALSE): point certificate_path at '
                                   'the CA' % cert_path)
            if pki.not_after(cert) <= pki.utcnow() and not allow_expired:
                raise pki.PKIError(
                    'the CA certificate %s expired on %s: rotate the CA (ansible-playbook playbooks/rotate.yml '
                    '-e otlp_tls_rotate=ca) before issuing certificates'
                    % (cert_path, pki.not_after(cert).strftime('%Y-%m-%d')))
            self.old_cert = cert
            self.cert = cert
        else:
            self.cert = pki.build_ca_certificate(self.key, params['common_name'], params['organization'],
                                                 params['validity_days'])
        self.key_data = key_data

    def write(self):
        params = self.module.params
        if self.key_created:
            self.changed |= write_file(self.module, self.key_path,
                                       pki.private_key_to_pkcs8(self.key, params['private_key_passphrase']),
                                       params['owner'], params['group'], params['private_key_mode'])
        elif os.path.exists(self.key_path):
            self.changed |= write_file(self.module, self.key_path, self.key_data, params['owner'], params['group'],
                                       params['private_key_mode'])
        self.changed |= write_file(self.module, self.cert_path, pki.certificate_pem(self.cert), params['owner'],
                                   params['group'], params['certificate_mode'])
        return self.changed


class Rotation(object):
    """The CA rotation state: a JSON file beside the CA, and the next CA in next/.

    Phases: trust (old CA signs; bundle old + new), reissue (new CA signs; bundle new + old),
    retire (the new CA has become the CA; bundle new only), done. Each step is written so
    that a run killed at any point and started again completes it.
    """

    def __init__(self, module, cert_path, key_path):
        self.module = module
        base = os.path.dirname(os.path.abspath(cert_path))
        self.state_path = module.params['rotation_state_path'] or os.path.join(base, 'rotation.json')
        self.next_dir = os.path.join(base, 'next')
        self.next_cert_path = os.path.join(self.next_dir, 'ca.crt')
        self.next_key_path = os.path.join(self.next_dir, 'ca.key')
        self.retired_dir = os.path.join(base, 'retired')
        self.cert_path, self.key_path = cert_path, key_path
        data = read_file(self.state_path, 'CA rotation state')
        self.state = None
        if data is not None:
            try:
                self.state = json.loads(to_text(data))
            except ValueError as exc:
                raise FileProblem('the CA rotation state %s is not valid JSON (%s): restore it from a backup, or '
                                  'remove it and start the rotation again' % (self.state_path, exc))
            if self.state.get('phase') not in PHASES + ('done',):
                raise FileProblem('the CA rotation state %s has an unknown phase %r: restore it from a backup'
                                  % (self.state_path, self.state.get('phase')))
        self.changed = False

    @property
    def phase(self):
        return self.state['phase'] if self.state else None

    @property
    def active(self):
        return self.phase in PHASES

    def save(self):
        self.state['updated'] = now_iso()
        content = json.dumps(self.state, indent=2, sort_keys=True) + '\n'
        self.changed |= write_file(self.module, self.state_path, content, self.module.params['owner'],
                                   self.module.params['group'], '0600')

    def promote(self):
        """Make the next CA the CA (phase retire). Safe to repeat after a crash at any step."""
        if not os.path.exists(self.next_cert_path):
            return
        params = self.module.params
        current = read_file(self.cert_path, 'CA certificate')
        if current is not None:
            cert = pki.load_certificate(current, 'CA certificate %s' % self.cert_path)
            fingerprint = pki.certificate_fingerprint(cert)
            if fingerprint == self.state.get('old_fingerprint'):
                keep = os.path.join(self.retired_dir, '%s-%s' % (pki.utcnow().strftime('%Y%m%d%H%M%S'), fingerprint[:12]))
                if not self.module.check_mode and not os.path.isdir(keep):
                    os.makedirs(keep, 0o700)
                # Only the certificate is kept, to read old leaves by; the old key has no more use.
                self.changed |= write_file(self.module, os.path.join(keep, 'ca.crt'), current, params['owner'],
                                           params['group'], params['certificate_mode'])
        # Key before certificate: a crash in between leaves next/ in place, and the next run
        # writes both again.
        self.changed |= write_file(self.module, self.key_path, read_file(self.next_key_path, 'next CA key'),
                                   params['owner'], params['group'], params['private_key_mode'])
        self.changed |= write_file(self.module, self.cert_path, read_file(self.next_cert_path, 'next CA certificate'),
                                   params['owner'], params['group'], params['certificate_mode'])
        if not self.module.check_mode:
            os.unlink(self.next_key_path)
            os.unlink(self.next_cert_path)
            os.rmdir(self.next_dir)
        self.changed = True


def bundle_of(certs):
    seen, pem = set(), b''
    for cert in certs:
        fingerprint = pki.certificate_fingerprint(cert)
        if fingerprint not in seen:
            seen.add(fingerprint)
            pem += pki.certificate_pem(cert)
    return pem


def run(module):
    params = module.params
    key_path, cert_path = params['private_key_path'], params['certificate_path']
    if params['bundle_path']:
        check_parent(params['bundle_path'], 'bundle', module.check_mode)
    extra = []
    for path in params['bundle_include']:
        data = read_file(path, 'bundle_include certificate')
        if data is None:
            raise FileProblem('bundle_include file %s does not exist: remove it from bundle_include or restore it' % path)
        extra.extend(pki.load_certificates(data, path))

    action = params['rotation']
    rotation = Rotation(module, cert_path, key_path)
    if action in ('record', 'advance') and not params['rotation_phase']:
        raise pki.PKIError('rotation=%s needs rotation_phase (trust, reissue or retire)' % action)
    # A rotation that reached "retire" finishes its promotion before anything else reads the CA.
    if rotation.phase == 'retire':
        rotation.promote()

    # An expired CA may still be rotated away from; it may not sign anything else.
    current = CAFiles(module, key_path, cert_path, allow_expired=action != 'follow' or rotation.active)
    if current.key_created and rotation.active:
        raise pki.PKIError('a CA rotation is recorded in %s but the CA %s is missing: restore the CA from a backup'
                           % (rotation.state_path, cert_path))
    current.write()
    changed = current.changed

    nxt = None
    if action == 'start' and not rotation.active:
        if not module.check_mode and not os.path.isdir(rotation.next_dir):
            os.makedirs(rotation.next_dir, 0o700)
        nxt = CAFiles(module, rotation.next_key_path, rotation.next_cert_path)
        if nxt.old_cert is not None and pki.certificate_fingerprint(nxt.cert) == pki.certificate_fingerprint(current.cert):
            raise pki.PKIError('next/ca.crt is the current CA: remove %s and start again' % rotation.next_dir)
        nxt.write()
        rotation.state = dict(phase='trust', started=now_iso(), done={},
                              old_fingerprint=pki.certificate_fingerprint(current.cert),
                              new_fingerprint=pki.certificate_fingerprint(nxt.cert),
                              old_not_after=pki.certificate_info(current.cert)['not_after'],
                              new_not_after=pki.certificate_info(nxt.cert)['not_after'])
        rotation.save()
    elif rotation.phase in ('trust', 'reissue'):
        if not os.path.exists(rotation.next_cert_path):
            raise pki.PKIError('the CA rotation in %s is in phase %s but the next CA %s is missing: restore it from a '
                               'backup' % (rotation.state_path, rotation.phase, rotation.next_cert_path))
        nxt = CAFiles(module, rotation.next_key_path, rotation.next_cert_path)

    if action in ('record', 'advance') and rotation.phase != params['rotation_phase']:
        pass  # another phase: rotate.yml imports every phase, only the current one acts
    elif action == 'record':
        done = rotation.state.setdefault('done', {})
        hosts = sorted(set(done.get(rotation.phase, [])) | set(params['rotation_hosts']))
        if hosts != done.get(rotation.phase):
            done[rotation.phase] = hosts
            rotation.save()
    elif action == 'advance':
        missing = sorted(set(params['rotation_hosts']) - set(rotation.state.get('done', {}).get(rotation.phase, [])))
        if missing:
            raise pki.PKIError(
                'the CA rotation stays in phase %s: %d host(s) have not completed it: %s. Make them reachable (or '
                'remove them from the inventory) and run playbooks/rotate.yml -e otlp_tls_rotate=ca again'
                % (rotation.phase, len(missing), ', '.join(missing)))
        rotation.state['phase'] = NEXT_PHASE[rotation.phase]
        rotation.state.setdefault('phase_started', {})[rotation.state['phase']] = now_iso()
        if rotation.phase == 'done':
            rotation.state['finished'] = now_iso()
        rotation.save()
        if rotation.phase == 'retire':
            rotation.promote()
            current = CAFiles(module, key_path, cert_path)
            nxt = None

    changed |= rotation.changed
    # Who signs and what is trusted, by phase.
    if rotation.phase == 'reissue':
        signer, signer_paths, trusted = nxt, (rotation.next_cert_path, rotation.next_key_path), [nxt.cert, current.cert]
    elif rotation.phase == 'trust':
        signer, signer_paths, trusted = current, (cert_path, key_path), [current.cert, nxt.cert]
    else:
        signer, signer_paths, trusted = current, (cert_path, key_path), [current.cert]
    if pki.not_after(signer.cert) <= pki.utcnow():
        raise pki.PKIError(
            'the CA certificate %s expired on %s: rotate the CA (ansible-playbook playbooks/rotate.yml '
            '-e otlp_tls_rotate=ca) before issuing certificates'
            % (signer_paths[0], pki.not_after(signer.cert).strftime('%Y-%m-%d')))
    bundle_pem = bundle_of(trusted + extra)
    if params['bundle_path']:
        changed |= write_file(module, params['bundle_path'], bundle_pem, params['owner'], params['group'],
                              params['certificate_mode'])

    info = pki.certificate_info(signer.cert)
    if info['days_left'] < params['warn_days']:
        module.warn('the CA certificate %s expires in %d days (%s): plan a CA rotation (playbooks/rotate.yml '
                    '-e otlp_tls_rotate=ca)' % (signer_paths[0], info['days_left'], info['not_after']))
    state = dict(rotation.state or {}, phase=rotation.phase or 'none', state_path=rotation.state_path)
    result = dict(changed=changed, certificate=to_text(pki.certificate_pem(signer.cert)), bundle=to_text(bundle_pem),
                  info=info, private_key_created=current.key_created or bool(nxt and nxt.key_created),
                  signing_certificate_path=signer_paths[0], signing_private_key_path=signer_paths[1],
                  rotation=state)
    if module._diff:
        result['diff'] = dict(before=summary(current.old_cert), after=summary(current.cert),
                              before_header=cert_path, after_header=cert_path)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            certificate_path=dict(type='path', required=True),
            private_key_path=dict(type='path', required=True),
            private_key_passphrase=dict(type='str', no_log=True),
            key_type=dict(type='str', default='ec-p256', choices=list(pki.KEY_TYPES)),
            common_name=dict(type='str', default='otlp.tls CA'),
            organization=dict(type='str'),
            validity_days=dict(type='int', default=3650),
            private_key_mode=dict(type='str', default='0600', no_log=False),
            certificate_mode=dict(type='str', default='0644'),
            bundle_path=dict(type='path'),
            bundle_include=dict(type='list', elements='path', default=[]),
            warn_days=dict(type='int', default=90),
            owner=dict(type='str'),
            group=dict(type='str'),
            rotation=dict(type='str', default='follow', choices=['follow', 'start', 'record', 'advance']),
            rotation_phase=dict(type='str', choices=list(PHASES)),
            rotation_hosts=dict(type='list', elements='str', default=[]),
            rotation_state_path=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    if not pki.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=str(pki.CRYPTOGRAPHY_IMPORT_ERROR))
    if module.params['validity_days'] < 1:
        module.fail_json(msg='validity_days must be a positive number of days, got %d' % module.params['validity_days'])
    try:
        module.exit_json(**run(module))
    except (pki.PKIError, FileProblem) as exc:
        module.fail_json(msg=to_text(exc))


if __name__ == '__main__':
    main()
