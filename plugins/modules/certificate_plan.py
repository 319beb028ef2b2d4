#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: certificate_plan
short_description: Check a host's certificate entries and decide on the controller which ones need the signing path
version_added: 0.3.0
description:
  - The certificate role's plan. Checks the entries and settings (names, directories, profiles, key modes,
    renew_before_days below validity_days, the CA source), then compares each entry with what the host has, read with
    M(otlp.tls.host_state) (one remote call) or passed in O(state).
  - An entry needs the signing path when its certificate is missing or unreadable, expires within O(renew_before_days) days,
    was not issued by the current CA, has another subject, other subjectAltNames or profile, when its key is missing,
    does not belong to it, is not PKCS#8, is of another type or a staged key waits, when C(fullchain.pem) or C(ca.pem)
    differ from what the CA gives, when a file's owner, group or mode differ, and with O(force) or O(rotate_key).
    The rule for the certificate itself is the signer's own (C(renewal.renewal_reasons) in module_utils, which
    M(otlp.tls.x509_sign) calls too), so the plan and the signer never disagree. In doubt, it says the entry needs work
    (the signing path is always correct, only slower).
  - With O(source=provided) every entry is sent down the path (the files on the controller are checked each run).
extends_documentation_fragment:
  - otlp.tls.common.reads
  - otlp.tls.common.plan
options:
  entries:
    description: The role's entries (C(otlp_tls_certificate_wanted)).
    type: list
    elements: dict
    required: true
  source:
    description: V(generated) or V(provided).
    type: str
  ca_source:
    description: The CA role's C(otlp_tls_ca_source).
    type: str
  key_location:
    description: V(host) or V(ca_host).
    type: str
  validity_days:
    description: Validity of new certificates.
    type: int
  renew_before_days:
    description: Days before expiry from which a certificate is renewed.
    type: int
  force:
    description: Re-issue every entry.
    type: bool
  rotate_key:
    description: New keys for every entry.
    type: bool
  key_type:
    description: The key type wanted.
    type: str
  organization:
    description: Subject organization.
    type: str
  ca:
    description: The CA role's result - C(certificate) (the signing CA) and C(bundle) (the trust bundle), PEM.
    type: dict
  state:
    description: What M(otlp.tls.host_state) read of the entries' directories, by name; read here when not given.
    type: dict
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Plan this host's certificates
  otlp.tls.certificate_plan:
    entries: "{{ otlp_tls_certificate_wanted }}"
    source: generated
    ca_source: generated
    validity_days: 365
    renew_before_days: 30
    key_type: ec-p256
    ca: "{{ otlp_tls_ca_result }}"
  register: plan
'''

RETURN = r'''
entries:
  description: The checked entries.
  returned: success
  type: list
  elements: dict
decisions:
  description: By entry name, why it needs the signing path (empty list - it is good as it is).
  returned: success
  type: dict
todo:
  description: The names that need the signing path.
  returned: success
  type: list
  elements: str
'''
