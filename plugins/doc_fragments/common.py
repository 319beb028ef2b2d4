# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Attributes and requirements shared by every otlp.tls module.
    DOCUMENTATION = r'''
requirements:
  - cryptography >= 3.3 on the host that runs the module (Debian 12 python3-cryptography 38 works)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - Diffs show certificate summaries (subject, SANs, serial, expiry) and key fingerprints, never key material.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
'''

    # Ownership options for files a module writes.
    FILES = r'''
options:
  owner:
    description:
      - Name of the user that should own the written files.
      - Left as it is when not set (new files belong to the connecting user).
    type: str
  group:
    description:
      - Name of the group that should own the written files.
    type: str
'''

    # What a certificate must satisfy (x509_info reports a failed check in its problems,
    # x509_install refuses the certificate and writes nothing).
    CHECKS = r'''
options:
  required_names:
    description:
      - Host names and IP addresses that the certificate's subjectAltNames must cover (an IP address only by an IP
        subjectAltName, a wildcard only one label).
    type: list
    elements: str
    default: []
  profile:
    description: Usage the certificate must allow (V(server) serverAuth, V(client) clientAuth, V(both) both).
    type: str
    choices: [server, client, both]
  min_days_left:
    description:
      - The fewest whole days the certificate must still be valid; one that expires sooner fails this check.
      - Every day count of otlp.tls names its unit (C(validity_days), C(renew_before_days), C(warn_before_days)).
    type: int
    default: 0
'''

    # Attributes of a module that reads and changes nothing (the plans, host_state, inventory_vars).
    READS = r'''
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so has nothing to show.
'''

    # With READS, the action attribute of a module that runs entirely in its action plugin on the
    # controller and connects to no host (inventory_vars).
    CONTROLLER = r'''
attributes:
  action:
    support: full
    description: Runs entirely in the action plugin on the controller.
'''

    # With READS, the action attribute of a role's plan (certificate_plan, exporter_plan): decided in
    # its action plugin on the controller, from what one otlp.tls.host_state call read of the host.
    PLAN = r'''
attributes:
  action:
    support: full
    description: Runs in the action plugin on the controller, with at most one remote call (M(otlp.tls.host_state)).
'''
