# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: ledger_report
short_description: The certificates the CA issued that are still valid but belong to nothing in the inventory
description:
  - Reads the issuance ledger (the text of C(ledger.jsonl) that M(otlp.tls.x509_sign) writes on the CA host) and returns a
    report row for every certificate that is still valid, was issued by a CA the fleet still trusts, is not revoked, and
    whose host is no longer in the inventory or whose entry that host no longer has.
  - Such a certificate still opens the collectors to whoever holds its key. Revoke it (C(playbooks/revoke.yml)).
  - Only the newest certificate of each host and entry is reported.
version_added: 0.2.0
options:
  _input:
    description: The ledger's text (JSON lines).
    type: str
    required: true
  entries:
    description:
      - By inventory host, the certificate entries it has now. A host that is in the inventory but not in this mapping
        (it did not answer) has its entries left alone.
    type: dict
    required: true
  inventory_hosts:
    description: Every host of the inventory.
    type: list
    elements: str
    required: true
  bundle:
    description: The CA bundle the fleet trusts now, PEM; certificates of other CAs no longer verify and are not reported.
    type: str
    required: true
  revocations:
    description: The text of C(revoked.json) beside the CA (empty when nothing is revoked).
    type: str
    default: ''
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Certificates that outlived their host or entry
  ansible.builtin.debug:
    msg: "{{ ledger_text | otlp.tls.ledger_report(entries, groups['all'], bundle_text, revoked_text) }}"
'''

RETURN = r'''
_value:
  description: One row per certificate, with C(host), C(entry), C(serial), C(subject), C(not_after), C(days_left), C(why).
  type: list
  elements: dict
'''

import datetime
import json

from ansible.errors import AnsibleFilterError

try:
    from ansible_collections.otlp.tls.plugins.module_utils import pki, revocation
except ImportError:  # pragma: no cover - only without cryptography on the controller
    pki = revocation = None


def ledger_report(ledger_text, entries, inventory_hosts, bundle, revocations='', now=None):
    if pki is None or not pki.HAS_CRYPTOGRAPHY:
        raise AnsibleFilterError('ledger_report needs the cryptography library on the controller')
    now = now or pki.utcnow()
    stamp = now.strftime('%Y-%m-%dT%H:%M:%SZ')
    trusted = set(pki.certificate_fingerprint(cert) for cert in pki.load_certificates(bundle, 'the CA bundle'))
    state = revocation.load_state(revocations or None)
    newest = {}
    for line in (ledger_text or '').splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        key = (record.get('host'), record.get('entry'))
        if key not in newest or record.get('issued_at', '') >= newest[key].get('issued_at', ''):
            newest[key] = record
    rows = []
    hosts = set(inventory_hosts)
    for (host, entry), record in sorted(newest.items()):
        if record.get('not_after', '') <= stamp or record.get('issuer_sha256') not in trusted:
            continue
        if revocation.is_revoked(state, host, entry):
            continue
        if host not in hosts:
            why = 'host %s is not in the inventory any more' % host
        elif host in entries and entry not in (entries[host] or []):
            why = 'host %s has no certificate entry %s any more' % (host, entry)
        else:
            continue
        end = datetime.datetime.strptime(record['not_after'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
        rows.append(dict(host=host, entry=entry, serial=record.get('serial'), subject=record.get('subject'),
                         not_after=record['not_after'], days_left=int((end - now).total_seconds() // 86400),
                         why=why + ': its certificate is still valid; revoke it with playbooks/revoke.yml '
                                   '-e otlp_tls_revoke=%s:%s' % (host, entry)))
    return rows


class FilterModule(object):
    def filters(self):
        return {'ledger_report': ledger_report}
