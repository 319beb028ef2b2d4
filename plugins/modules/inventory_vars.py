#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: inventory_vars
short_description: Read variables as the inventory and the playbook set them, with nothing a managed host reported
version_added: 0.2.0
description:
  - Works out, on the controller, the values of variables for hosts from a view that holds no facts as variables, no
    C(set_fact) and no registered result (inventory, group and host vars (files and plugins), role defaults and vars,
    play, block, task and include vars, extra vars). Facts stay readable under C(ansible_facts) only, for a setting that
    names them explicitly (and so trusts the host).
  - Use it for anything a managed host must not be able to change. A module result may carry C(ansible_facts). With
    Ansible's default C(inject_facts_as_vars=True) they become host variables that outrank the inventory and role
    defaults, a fact cache keeps them across runs, and C(run_once) or C(delegate_to) tasks are templated with the
    first host's variables. Register the result, since a registered value outranks any fact injected later.
  - Templates are rendered in that view too; a value that needs a fact, a C(set_fact) or a registered result fails with a
    message naming the variable and the host.
  - Runs on the controller only; connects to no host.
extends_documentation_fragment:
  - otlp.tls.common.reads
  - otlp.tls.common.controller
options:
  hosts:
    description: Inventory host names, for example C(ansible_play_batch) or C([inventory_hostname]).
    type: list
    elements: str
    required: true
  names:
    description: Names of the variables to read.
    type: list
    elements: str
    required: true
  strip_prefix:
    description: Drop this prefix from the names in the result (C(otlp_tls_ca_host) becomes C(host)).
    type: str
  same_for_all:
    description: Names whose value must be the same for every host of O(hosts); the task fails otherwise.
    type: list
    elements: str
notes:
  - Uses ansible-core's variable manager as the task executor does; it relies on its internal attributes
    (C(_variable_manager), C(_nonpersistent_fact_cache)) of ansible-core 2.16 to 2.19.
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Read where the CA lives from the inventory alone
  otlp.tls.inventory_vars:
    hosts: ["{{ inventory_hostname }}"]
    names: [otlp_tls_ca_host, otlp_tls_ca_dir]
    strip_prefix: otlp_tls_ca_
  run_once: true
  register: ca

- name: Use it; an injected fact named otlp_tls_ca_host changes nothing here
  ansible.builtin.file:
    path: "{{ ca.resolved.dir }}"
    state: directory
    mode: "0700"
  delegate_to: "{{ ca.resolved.host }}"
  run_once: true
'''

RETURN = r'''
hosts:
  description: By host name, the variables read (names with O(strip_prefix) dropped); undefined ones are left out.
  returned: success
  type: dict
resolved:
  description: The variables of the first host of O(hosts).
  returned: success
  type: dict
undefined:
  description: By host name, the variables that are not defined for it.
  returned: success
  type: dict
'''
