# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

from ansible_collections.otlp.tls.plugins.filter.ledger_report import ledger_report
from ansible_collections.otlp.tls.plugins.module_utils import pki

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)


def test_orphans_are_reported_and_nothing_else():
    key = pki.generate_private_key('ec-p256')
    ca = pki.build_ca_certificate(key, 'Ledger CA', now=NOW - datetime.timedelta(days=10))
    old = pki.build_ca_certificate(pki.generate_private_key('ec-p256'), 'Old CA', now=NOW - datetime.timedelta(days=10))
    fp, old_fp = pki.certificate_fingerprint(ca), pki.certificate_fingerprint(old)

    def rec(host, entry, serial, days=30, issuer=fp, at='2026-05-30T00:00:00Z'):
        end = (NOW + datetime.timedelta(days=days)).strftime('%Y-%m-%dT%H:%M:%SZ')
        return json.dumps(dict(host=host, entry=entry, serial=serial, subject='CN=' + host, not_after=end,
                               issuer_sha256=issuer, issued_at=at))
    ledger = '\n'.join([
        rec('gone', 'otlp', '1'),                    # host left the inventory: reported
        rec('app1', 'web', '2'),                     # still there: fine
        rec('app1', 'old-unit', '3'),                # entry gone: reported
        rec('app2', 'web', '4'),                     # app2 did not answer: left alone
        rec('gone2', 'otlp', '5', days=-1),          # expired: not reported
        rec('gone3', 'otlp', '6', issuer=old_fp),    # another CA, no longer trusted: not reported
        rec('gone4', 'otlp', '7'),                   # revoked: not reported
        rec('app1', 'web', '8', at='2026-05-31T00:00:00Z'),
        '{"broken',
    ])
    revoked = json.dumps(dict(revoked=[dict(host='gone4', entry=None)], serials={}))
    rows = ledger_report(ledger, {'app1': ['web']}, ['app1', 'app2'], pki.certificate_pem(ca).decode(), revoked,
                         now=NOW)
    assert [(r['host'], r['entry'], r['serial'], r['days_left']) for r in rows] == [
        ('app1', 'old-unit', '3', 30), ('gone', 'otlp', '1', 30)]
    assert rows[1]['why'].startswith('host gone is not in the inventory any more: its certificate is still valid')
    assert rows[1]['why'].endswith('-e otlp_tls_revoke=gone:otlp')
