# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The CA and its rotation state machine, for otlp.tls.x509_ca.

A rotation replaces the CA without a moment in which a host trusts neither the old nor the
new CA. Its state is a JSON file beside the CA (``rotation.json``), the next CA lives in
``next/`` beside it, and each step is written so that a run killed at any point and started
again completes it:

========  ======================  ==============================
phase     who signs               trust bundle
========  ======================  ==============================
(none)    the CA                  the CA
trust     the old CA              old, new
reissue   the new CA              new, old
retire    the new CA, promoted    new (old certificate kept in retired/, its key deleted)
done      the CA                  the CA
========  ======================  ==============================

``rotation=start`` makes the next CA and enters ``trust``; ``record`` notes the hosts that
completed a phase; ``advance`` moves on only when every host completed it (``NEXT_PHASE``).
Before anything is read for signing, every run checks that the CA files on disk are the ones
the state recorded (``Rotation.verify``). The pair checks and their messages are in ``ca_checks``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import ca_checks, ca_store, pki, revocation
from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem, check_parent, read_file, write_file


PHASES = ('trust', 'reissue', 'retire')
NEXT_PHASE = {'trust': 'reissue', 'reissue': 'retire', 'retire': 'done'}


def summary(cert):
    if cert is None:
        return ''
    info = pki.certificate_info(cert)
    text = 'subject: %s\nserial: %s\nnot_after: %s\nfingerprint: %s\n' % (
        info['subject'], info['serial_number'], info['not_after'], info['fingerprint_sha256'])
    if pki.name_constraints_of(cert) is not None:
        text += 'name_constraints: %s\n' % describe_constraints(constraints_in(cert))
    return text


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
            ca_checks.check_pair(self.key, cert, key_path, cert_path)
            ca_checks.check_is_ca(cert, cert_path)
            if not allow_expired:
                ca_checks.check_not_expired(cert, cert_path)
            self.old_cert = cert
            self.cert = cert
        else:
            self.cert = pki.build_ca_certificate(self.key, params['common_name'], params['organization'],
                                                 params['validity_days'],
                                                 permitted_dns=params['permitted_dns_domains'],
                                                 permitted_ips=params['permitted_ip_ranges'])
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

    def abandon_hint(self):
        return 'remove %s and %s to abandon the rotation' % (self.state_path, self.next_dir)

    def _recorded(self, field):
        value = self.state.get(field)
        if not value:
            raise FileProblem('the CA rotation state %s records no %s: restore it from a backup, or %s'
                              % (self.state_path, field, self.abandon_hint()))
        return value

    def _expect_certificate(self, path, fields, what, fix):
        """The certificate at ``path`` must be the one recorded under one of ``fields``."""
        recorded = [self._recorded(field) for field in fields]
        data = read_file(path, what)
        if data is None:
            raise pki.PKIError('%s %s is missing; the CA rotation in %s (phase %s) recorded it as %s %s: %s'
                               % (what, path, self.state_path, self.phase, ' or '.join(fields),
                                  ' or '.join(recorded), fix))
        found = pki.certificate_fingerprint(pki.load_certificate(data, '%s %s' % (what, path)))
        if found not in recorded:
            raise pki.PKIError(
                '%s %s is not the one the CA rotation in %s (phase %s) recorded: recorded %s %s, found %s: %s'
                % (what, path, self.state_path, self.phase, ' or '.join(fields), ' or '.join(recorded), found, fix))
        return found

    def _expect_key(self, key_path, cert_paths, passphrase, fix):
        """The key at ``key_path`` must belong to one of the certificates at ``cert_paths``."""
        data = read_file(key_path, 'CA private key')
        if data is None:
            raise pki.PKIError('the CA key %s of %s is missing (CA rotation in %s, phase %s): %s'
                               % (key_path, ' or '.join(cert_paths), self.state_path, self.phase, fix))
        key = pki.load_private_key(data, passphrase, 'CA private key %s' % key_path)
        certs = [pki.load_certificate(read_file(path, 'CA certificate'), path) for path in cert_paths]
        ca_checks.check_key_belongs(key, key_path, certs, cert_paths,
                                    'CA rotation in %s, phase %s' % (self.state_path, self.phase), fix)

    def verify(self, passphrase):
        """Refuse to go on when the CA files on disk are not the ones this rotation recorded.

        A CA put into next/ (or in place of the current CA) after the rotation started would
        otherwise be distributed to every trust store and then promoted.
        """
        if not self.state:
            return
        hint = self.abandon_hint()

        def restore(path):
            return 'restore %s and its key from a backup, or %s' % (path, hint)

        def restore_key(path):
            return 'restore %s from a backup, or %s' % (path, hint)

        if self.phase in ('trust', 'reissue'):
            if not os.path.exists(self.next_cert_path):
                raise pki.PKIError('the CA rotation in %s is in phase %s but the next CA %s is missing: restore it from '
                                   'a backup, or %s' % (self.state_path, self.phase, self.next_cert_path, hint))
            self._expect_certificate(self.cert_path, ['old_fingerprint'], 'the CA certificate (the CA being replaced)',
                                     restore(self.cert_path))
            self._expect_certificate(self.next_cert_path, ['new_fingerprint'], 'the next CA certificate',
                                     restore(self.next_cert_path))
            self._expect_key(self.key_path, [self.cert_path], passphrase, restore_key(self.key_path))
            self._expect_key(self.next_key_path, [self.next_cert_path], passphrase, restore_key(self.next_key_path))
        elif self.phase == 'retire' and os.path.exists(self.next_cert_path):
            # The promotion is still to do (or was cut short: the key may already be the new one).
            self._expect_certificate(self.next_cert_path, ['new_fingerprint'], 'the next CA certificate',
                                     restore(self.next_cert_path))
            self._expect_certificate(self.cert_path, ['old_fingerprint', 'new_fingerprint'], 'the CA certificate',
                                     restore(self.cert_path))
            if os.path.exists(self.next_key_path):
                self._expect_key(self.next_key_path, [self.next_cert_path], passphrase,
                                 restore_key(self.next_key_path))
                self._expect_key(self.key_path, [self.cert_path, self.next_cert_path], passphrase,
                                 restore_key(self.key_path))
            else:
                # Cut short after next/ca.key was removed: the key had been moved already.
                self._expect_key(self.key_path, [self.next_cert_path], passphrase, restore_key(self.key_path))
        else:
            # After the promotion (retire, done) the CA is the one the rotation made.
            fix = ('restore %s and its key from a backup, or remove %s if the CA was replaced on purpose'
                   % (self.cert_path, self.state_path))
            self._expect_certificate(self.cert_path, ['new_fingerprint'], 'the CA certificate (promoted by the rotation)',
                                     fix)
            self._expect_key(self.key_path, [self.cert_path], passphrase, fix)

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
        # writes both again. (verify() checked both against the recorded new CA.)
        next_key = read_file(self.next_key_path, 'next CA key')
        if next_key is not None:  # else removed by a promotion cut short, after the key was moved
            self.changed |= write_file(self.module, self.key_path, next_key,
                                       params['owner'], params['group'], params['private_key_mode'])
        self.changed |= write_file(self.module, self.cert_path, read_file(self.next_cert_path, 'next CA certificate'),
                                   params['owner'], params['group'], params['certificate_mode'])
        if not self.module.check_mode:
            if next_key is not None:
                os.unlink(self.next_key_path)
            os.unlink(self.next_cert_path)
            os.rmdir(self.next_dir)
        self.changed = True


def record_hosts(state, hosts):
    """Add ``hosts`` to those that completed the state's phase; True when that changed the state."""
    done = state.setdefault('done', {})
    phase = state['phase']
    merged = sorted(set(done.get(phase, [])) | set(hosts))
    if merged == done.get(phase):
        return False
    done[phase] = merged
    return True


def advance(state, hosts, exempt=(), now=''):
    """Move ``state`` to the next phase when every host of ``hosts`` but ``exempt`` completed its phase.

    Raises PKIError naming the hosts that did not, and changes nothing then. ``now``: an ISO time
    for the record. Returns the new phase.
    """
    phase = state['phase']
    if phase not in NEXT_PHASE:
        raise pki.PKIError('the CA rotation is in phase %s, which has no next phase' % phase)
    missing = sorted(set(hosts) - set(exempt) - set(state.get('done', {}).get(phase, [])))
    if missing:
        raise pki.PKIError(
            'the CA rotation stays in phase %s: %d host(s) have not completed it: %s. Make them reachable (or '
            'remove them from the inventory) and run playbooks/rotate.yml -e otlp_tls_rotate=ca again'
            % (phase, len(missing), ', '.join(missing)))
    state['phase'] = NEXT_PHASE[phase]
    state.setdefault('phase_started', {})[state['phase']] = now
    if state['phase'] == 'done':
        state['finished'] = now
    return state['phase']


def who_signs(phase):
    """('current' or 'next', the CAs of the trust bundle in order) for a rotation phase (None: no rotation)."""
    if phase == 'reissue':
        return 'next', ('next', 'current')
    if phase == 'trust':
        return 'current', ('current', 'next')
    return 'current', ('current',)


def bundle_of(certs):
    seen, pem = set(), b''
    for cert in certs:
        fingerprint = pki.certificate_fingerprint(cert)
        if fingerprint not in seen:
            seen.add(fingerprint)
            pem += pki.certificate_pem(cert)
    return pem


def constraints_in(cert):
    """The permitted subtrees of a CA certificate, in the form of the options (empty lists when it has none)."""
    found = pki.name_constraints_of(cert) or ([], [])
    try:
        return dict(permitted_dns_domains=pki.normalize_constraint_dns(found[0]),
                    permitted_ip_ranges=pki.normalize_constraint_ips(found[1]))
    except pki.PKIError:
        # A CA made elsewhere may hold forms we would not write (a wildcard): report them as they are.
        return dict(permitted_dns_domains=sorted(found[0]), permitted_ip_ranges=sorted(found[1]))


def constraints_in_none():
    return dict(permitted_dns_domains=[], permitted_ip_ranges=[])


def describe_constraints(constraints):
    parts = []
    if constraints['permitted_dns_domains']:
        parts.append('DNS %s' % ', '.join(constraints['permitted_dns_domains']))
    if constraints['permitted_ip_ranges']:
        parts.append('IP %s' % ', '.join(constraints['permitted_ip_ranges']))
    return '; '.join(parts) or 'none'


def check_name_constraints(module, configured, signer, signer_path, nxt, rotation):
    """Compare the configured name constraints with the signing CA's; an existing CA is never rewritten."""
    in_certificate = constraints_in(signer.cert)
    matches = in_certificate == configured
    if not matches:
        rotate = 'playbooks/rotate.yml -e otlp_tls_rotate=ca'
        if nxt is not None and nxt is not signer:
            if constraints_in(nxt.cert) == configured:
                how = ('the next CA %s of the rotation under way carries them and signs from phase reissue'
                       % rotation.next_cert_path)
            else:
                how = ('neither does the next CA %s of the rotation under way (%s), which was made before: finish this '
                       'rotation, then start another one (%s), whose next CA gets them'
                       % (rotation.next_cert_path, describe_constraints(constraints_in(nxt.cert)), rotate))
        elif rotation.active:
            how = ('this CA was made by the rotation under way before they were configured: finish this rotation, then '
                   'start another one (%s), whose next CA gets them' % rotate)
        else:
            how = ('an existing CA is never rewritten; a CA rotation writes them: the next CA of a rotation started '
                   'now (%s) gets the configured constraints' % rotate)
        has = ('has the name constraints %s' % describe_constraints(in_certificate)
               if in_certificate != constraints_in_none() else 'has no name constraints')
        asked = ('ask for %s' % describe_constraints(configured) if configured != constraints_in_none()
                 else 'are empty')
        module.warn('the CA certificate %s %s but permitted_dns_domains and permitted_ip_ranges %s: %s'
                    % (signer_path, has, asked, how))
    return dict(configured=configured, in_certificate=in_certificate, matches=matches)


def beside_ca(module, option, name):
    return module.params[option] or os.path.join(os.path.dirname(module.params['certificate_path']), name)


def record_revocations(module, rotation, action):
    """Record O(revoke) / O(unrevoke) in the revocation list; return (newly revoked, path, state)."""
    params = module.params
    path = beside_ca(module, 'revocation_path', 'revoked.json')
    state = revocation.load_state(read_file(path, 'revocation list'))
    targets = [revocation.parse_target(value) for value in params['revoke']]
    released = [revocation.parse_target(value) for value in params['unrevoke']]
    new = [t for t in targets if t not in revocation.active_targets(state)]
    added = []
    if new:
        names = ', '.join(revocation.target_name(*t) for t in new)
        # In phase trust only the old CA has signed anything: retiring it at the end of this
        # rotation cuts the revoked off. From reissue on the next CA signs too, so a revocation
        # then needs a rotation of its own.
        if rotation.active and rotation.phase != 'trust':
            raise pki.PKIError(
                'a CA rotation is under way in phase %s (%s): finish it (playbooks/rotate.yml -e otlp_tls_rotate=ca) '
                'before revoking %s, then revoke: a revocation needs a rotation that retires every CA that issued the '
                'revoked certificates, and the next CA already signs in this phase.'
                % (rotation.phase, rotation.state_path, names))
        if action != 'start':
            raise pki.PKIError('revoking %s needs rotation=start: the revoked certificates are cut off by retiring '
                               'the CA that issued them (playbooks/revoke.yml does both)' % names)
        ledger = ca_store.read_ledger(beside_ca(module, 'ledger_path', ca_store.LEDGER_NAME))
        added = revocation.revoke(state, new, ledger, params['revoke_reason'], pki.utcnow())
        unknown = [revocation.target_name(*t) for t in new
                   if not any(revocation.covers(t, r.get('host'), r.get('entry')) for r in ledger)]
        if unknown:
            module.warn('the ledger holds no certificate of %s (issued before the ledger existed, or never): the CA '
                        'rotation still cuts them off, but the CRL can not list them' % ', '.join(unknown))
    removed = revocation.unrevoke(state, released) if released else []
    if added or removed:
        write_file(module, path, revocation.dump_state(state), params['owner'], params['group'], '0644')
    return added, path, state


def write_crl(module, state, cas):
    """The CRL of each CA here that issued revoked certificates, beside the bundle; (path, changed)."""
    params = module.params
    base = os.path.dirname(params['trust_bundle_path'] or params['certificate_path'])
    path = params['crl_path'] or os.path.join(base, 'crl.pem')
    by_fp = dict((pki.certificate_fingerprint(ca.cert), ca) for ca in cas)
    wanted = dict((fp, set(serials)) for fp, serials in state['serials'].items() if fp in by_fp and serials)
    if not wanted:
        return path, False
    existing = read_file(path, 'CRL')
    if not revocation.crl_needs_writing(existing, wanted, dict((fp, ca.cert) for fp, ca in by_fp.items())):
        return path, False
    pem = b''.join(pki.to_bytes(revocation.build_crl(by_fp[fp].key, by_fp[fp].cert, state['serials'][fp])
                                .public_bytes(pki.serialization.Encoding.PEM)) for fp in sorted(wanted))
    return path, write_file(module, path, pem, params['owner'], params['group'], params['certificate_mode'])


def converge(module):
    """One run of x509_ca (see its documentation): the CA, the rotation step asked for, the bundle, revocations."""
    params = module.params
    key_path, cert_path = params['private_key_path'], params['certificate_path']
    if params['trust_bundle_path']:
        check_parent(params['trust_bundle_path'], 'bundle', module.check_mode)
    extra = []
    for path in params['bundle_include']:
        data = read_file(path, 'bundle_include certificate')
        if data is None:
            raise FileProblem('bundle_include file %s does not exist: remove it from bundle_include or restore it' % path)
        extra.extend(pki.load_certificates(data, path))

    # Invalid name constraints fail before anything is written.
    configured = dict(permitted_dns_domains=pki.normalize_constraint_dns(params['permitted_dns_domains']),
                      permitted_ip_ranges=pki.normalize_constraint_ips(params['permitted_ip_ranges']))

    action = params['rotation']
    rotation = Rotation(module, cert_path, key_path)
    if action in ('record', 'advance') and not params['rotation_phase']:
        raise pki.PKIError('rotation=%s needs rotation_phase (trust, reissue or retire)' % action)
    # The CA files must be the ones the rotation recorded, before anything is bundled, signed or promoted.
    rotation.verify(params['private_key_passphrase'])
    # A rotation that reached "retire" finishes its promotion before anything else reads the CA.
    if rotation.phase == 'retire':
        rotation.promote()

    revoked_now, revocation_path, revocations = record_revocations(module, rotation, action)

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
        if nxt.old_cert is not None:
            ca_checks.check_distinct(nxt.cert, current.cert, rotation.next_dir)
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
        if record_hosts(rotation.state, params['rotation_hosts']):
            rotation.save()
    elif action == 'advance':
        # A host revoked as a whole gets nothing from this rotation: it need not complete it
        # (a compromised host that fails or hides must not hold the revocation up).
        revoked_hosts = set(host for host, entry in revocation.active_targets(revocations) if entry is None)
        advance(rotation.state, params['rotation_hosts'], revoked_hosts, now_iso())
        rotation.save()
        if rotation.phase == 'retire':
            rotation.promote()
            current = CAFiles(module, key_path, cert_path)
            nxt = None

    changed |= rotation.changed
    # Who signs and what is trusted, by phase.
    cas = dict(current=(current, (cert_path, key_path)), next=(nxt, (rotation.next_cert_path, rotation.next_key_path)))
    signs, trust_order = who_signs(rotation.phase)
    signer, signer_paths = cas[signs]
    trusted = [cas[which][0].cert for which in trust_order]
    ca_checks.check_not_expired(signer.cert, signer_paths[0])
    bundle_pem = bundle_of(trusted + extra)
    if params['trust_bundle_path']:
        changed |= write_file(module, params['trust_bundle_path'], bundle_pem, params['owner'], params['group'],
                              params['certificate_mode'])

    crl_path, crl_changed = write_crl(module, revocations, [current] + ([nxt] if nxt else []))
    changed |= bool(revoked_now) or crl_changed

    info = pki.certificate_info(signer.cert)
    if info['days_left'] < params['warn_before_days']:
        module.warn('the CA certificate %s expires in %d days (%s): plan a CA rotation (playbooks/rotate.yml '
                    '-e otlp_tls_rotate=ca)' % (signer_paths[0], info['days_left'], info['not_after']))
    name_constraints = check_name_constraints(module, configured, signer, signer_paths[0], nxt, rotation)
    state = dict(rotation.state or {}, phase=rotation.phase or 'none', state_path=rotation.state_path)
    result = dict(changed=changed, certificate=to_text(pki.certificate_pem(signer.cert)), bundle=to_text(bundle_pem),
                  info=info, private_key_created=current.key_created or bool(nxt and nxt.key_created),
                  signing_certificate_path=signer_paths[0], signing_private_key_path=signer_paths[1],
                  rotation=state, name_constraints=name_constraints,
                  revoked=[revocation.target_name(*t) for t in revocation.active_targets(revocations)],
                  newly_revoked=revoked_now, revocation_path=revocation_path, crl_path=crl_path)
    if module._diff:
        result['diff'] = dict(before=summary(current.old_cert), after=summary(current.cert),
                              before_header=cert_path, after_header=cert_path)
    return result
