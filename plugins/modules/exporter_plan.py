#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: exporter_plan
short_description: Work out each app unit's exporter settings on the controller and compare them with the host in one call
version_added: 0.3.0
description:
  - The exporter role's plan. Checks O(apps) and the settings, reads the host once with M(otlp.tls.host_state) (the
    units and their users, the client certificate directories, the drop-ins and a keyed digest of each unit's secret
    environment file), and returns each unit's environment, its client certificate and which drop-ins differ.
  - Fails, before anything changes, with a message that names the host, the unit and the fix (a unit that does not
    exist, a language or protocol an SDK does not support, a header with a newline, units of several users sharing a
    host-scope certificate, a collector name that no collector certificate carries, see O(collectors)).
  - Header values (secrets) never appear in the result (the plan holds their names) and are compared by an HMAC under
    a key made for this call, never by a plain digest.
  - Sets the fact C(otlp_tls_exporter_plan) (the plan), used by C(playbooks/check.yml).
  - With O(tls_mode=mtls), keys made on the host and a known O(ca), the same call also keeps or makes the key and
    builds the CSR of each client certificate that needs the signing path (M(otlp.tls.host_state)'s C(prepare)), once
    every check that does not depend on the host passed; RV(prepared_csrs) hands them to the certificate role, whose
    M(otlp.tls.x509_csr) task then makes no call of its own.
extends_documentation_fragment:
  - otlp.tls.common.plan
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details: In check mode the read writes no key (the CSRs are made for keys in memory, as M(otlp.tls.x509_csr) does).
  diff_mode:
    support: none
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    details: The key diffs (public key fingerprints only) are shown by the certificate role's CSR task.
options:
  apps:
    description: The role's C(otlp_tls_exporter_apps).
    type: list
    elements: dict
    required: true
  tls_mode:
    description: V(none), V(tls) or V(mtls).
    type: str
    default: mtls
  certificate_scope:
    description: V(unit) (a certificate per unit) or V(host) (one for all units).
    type: str
    default: unit
  collector:
    description: Default collector host name.
    type: str
  collector_group:
    description: Inventory group of the collectors (named in messages).
    type: str
  grpc_port:
    description: The collector's OTLP/gRPC port.
    type: int
  http_port:
    description: The collector's OTLP/HTTP port.
    type: int
  protocol:
    description: Default protocol.
    type: str
  signals:
    description: Default signals.
    type: list
    elements: str
  timeout:
    description: Default export timeout, milliseconds.
    type: int
  compression:
    description: Default compression.
    type: str
  resource_attributes:
    description: Resource attributes of every app.
    type: dict
  dropin_name:
    description: File name of the drop-ins.
    type: str
    default: 50-otlp-tls.conf
  ca:
    description:
      - The CA role's result (C(certificate), the signing CA, and C(bundle), PEM), for the client certificates' renewal
        decision (O(tls_mode=mtls)) or the comparison of the trust bundle (O(tls_mode=tls)). Without it every client
        certificate is sent to the certificate role, and the trust bundle counts as changed.
    type: dict
  prepare_csrs:
    description:
      - Whether the read may make keys and CSRs (see the description). V(false) for a read that must change nothing,
        as C(playbooks/check.yml) does.
    type: bool
    default: true
  collectors:
    description:
      - What each collector's server certificate covers, as the filter C(otlp.tls.collector_coverage) builds it from
        C(roles/exporter/tasks/collectors.yml) (keys C(check), C(group), C(names) and C(certificates)).
      - Judged before the read. An app's collector name that no collector answers to, or that its collector's
        certificate does not carry, is refused when that app's drop-in would change, and nothing is prepared on the
        host first. With this option, keys and CSRs may be made in the read even where a drop-in is new (a first
        converge); without it, only where every drop-in and secret environment file is as planned.
    type: dict
  certificate_settings:
    description:
      - The certificate role's settings the decision needs (C(source), C(ca_source), C(key_location), C(validity_days),
        C(renew_before_days), C(force), C(rotate_key), C(key_type), C(organization)); see M(otlp.tls.certificate_plan).
    type: dict
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Plan each unit's exporter settings and compare them with the host
  otlp.tls.exporter_plan:
    apps: "{{ otlp_tls_exporter_apps }}"
    tls_mode: mtls
    collector: collector1
    grpc_port: 4317
    http_port: 4318
    protocol: grpc
  register: plan
'''

RETURN = r'''
plan:
  description: One entry per unit - unit, name, language, load_state, active, user, group, collector, env (without
    secrets), header_names and certificate (name, dir, profile, owner, group, key_mode, common_name, subject_alt_names).
  returned: success
  type: list
  elements: dict
certificates:
  description: The client certificates, as the certificate role's C(otlp_tls_certificate_list).
  returned: success
  type: list
  elements: dict
certificates_todo:
  description: The client certificates that need the certificate role (issue, renew or install); empty when all are good.
  returned: success
  type: list
  elements: str
certificate_state:
  description: What the host has in each certificate directory (M(otlp.tls.host_state)'s C(certificates)).
  returned: success
  type: dict
dropins_changed:
  description: Units whose drop-in or secret environment file differ from the plan.
  returned: success
  type: list
  elements: str
trust_changed:
  description: With O(tls_mode=tls), whether C(/etc/otlp-tls/trust/ca.pem) (or its directory) differs from the CA's
    bundle.
  returned: success
  type: bool
prepared_csrs:
  description: By client certificate name, the CSRs the read made for the certificates in RV(certificates_todo)
    (M(otlp.tls.x509_csr)'s result, and C(prepared_params), the options they were made with).
  returned: success
  type: dict
sign_prepared:
  description:
    - Whether every certificate in RV(certificates_todo) has a CSR in RV(prepared_csrs) made with exactly the options the
      certificate role's CSR task would pass, for a key made on the host (C(otlp_tls_certificate_source=generated),
      C(otlp_tls_certificate_key_location=host)).
    - The exporter role then signs them itself, for the whole batch in one call on the CA host
      (C(roles/exporter/tasks/sign.yml)), instead of through the certificate role.
  returned: success
  type: bool
work:
  description: Whether anything differs on this host (a drop-in, a certificate, the trust bundle); without it the
    exporter role runs nothing else there.
  returned: success
  type: bool
'''
