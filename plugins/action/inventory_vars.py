# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Variables as the inventory and the playbook set them, with nothing a managed host reported.

A module result may carry ``ansible_facts``; with ``inject_facts_as_vars`` (the default) they
become host variables that outrank the inventory and role defaults, and a fact cache keeps
them across runs. Registered results are the host's own words too, and so is every
``set_fact`` worked out from them. So anything that decides where CA work runs, what the CA
is, or what a host may get signed is read here, on the controller, from a view of each host's
variables that holds none of those: inventory, group and host vars, role defaults and vars,
play and include vars, extra vars. Facts stay readable under ``ansible_facts`` only (not
``ansible_local``), for a setting that names them explicitly (that setting then trusts the
host, and says so).

The values are returned, so the task that calls this must register them: a registered result
outranks any fact a host may inject afterwards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import defaultdict

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types
from ansible.plugins.action import ActionBase
from ansible.template import Templar

try:  # ansible-core >= 2.19 renders only strings marked as trusted templates
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core trusts every string
    def trust_as_template(value):
        return value

_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_OPTIONS = frozenset(('hosts', 'names', 'strip_prefix', 'same_for_all'))


def _untrusted_view(variable_manager, inventory, play, task, host_name):
    """``host_name``'s variables without injected facts, set_facts or registered results."""
    host = inventory.get_host(host_name)
    if host is None:
        raise AnsibleError('%s is not an inventory host' % host_name)
    saved_inject = C.INJECT_FACTS_AS_VARS
    saved_nonpersistent = variable_manager._nonpersistent_fact_cache
    try:
        C.INJECT_FACTS_AS_VARS = False
        variable_manager._nonpersistent_fact_cache = defaultdict(dict)
        view = variable_manager.get_vars(play=play, host=host, task=task, include_hostvars=False)
        # ansible-core promotes ansible_local (facts.d, written on the host) whatever the setting.
        view.pop('ansible_local', None)
        return view
    finally:
        C.INJECT_FACTS_AS_VARS = saved_inject
        variable_manager._nonpersistent_fact_cache = saved_nonpersistent


class ActionModule(ActionBase):
    """Resolve variables for hosts from the inventory's view only (see the module doc)."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        unknown = sorted(set(args) - _OPTIONS)
        if unknown:
            return dict(result, failed=True, msg='unknown options %s: use %s' % (', '.join(unknown), ', '.join(sorted(_OPTIONS))))
        hosts = args.get('hosts')
        names = args.get('names')
        if isinstance(hosts, string_types):
            hosts = [hosts]
        if not hosts or not isinstance(hosts, (list, tuple)) or not names or not isinstance(names, (list, tuple)):
            return dict(result, failed=True, msg='hosts and names must be non-empty lists of host and variable names')
        bad = [name for name in names if not isinstance(name, string_types) or not _NAME.match(name)]
        if bad:
            return dict(result, failed=True, msg='not variable names: %s' % ', '.join(map(to_text, bad)))
        prefix = args.get('strip_prefix') or ''
        same = list(args.get('same_for_all') or [])
        hostvars = task_vars.get('hostvars')
        variable_manager = getattr(hostvars, '_variable_manager', None)
        inventory = getattr(hostvars, '_inventory', None)
        if variable_manager is None or inventory is None:
            return dict(result, failed=True, msg='this ansible-core offers no variable manager to an action plugin; '
                                                 'otlp.tls needs ansible-core 2.16 or newer')
        play = self._task.get_play()
        resolved, undefined = {}, {}
        for host in hosts:
            host = to_text(host)
            view = _untrusted_view(variable_manager, inventory, play, self._task, host)
            templar = Templar(loader=self._loader, variables=view)
            values = {}
            for name in names:
                if name not in view:
                    undefined.setdefault(host, []).append(name)
                    continue
                try:
                    values[name[len(prefix):] if prefix and name.startswith(prefix) else name] = templar.template(
                        trust_as_template('{{ %s }}' % name))
                except AnsibleError as exc:
                    return dict(result, failed=True, msg='%s of %s can not be worked out from the inventory alone: %s. '
                                                         'Set it in the inventory, group_vars, host_vars, the play or '
                                                         'extra vars, not from facts or registered results.'
                                                         % (name, host, to_text(exc)))
            resolved[host] = values
        if same:
            first = hosts[0]
            for name in same:
                key = name[len(prefix):] if prefix and name.startswith(prefix) else name
                differ = sorted(h for h in resolved if resolved[h].get(key) != resolved[first].get(key))
                if differ:
                    return dict(result, failed=True, msg='%s must be the same for every host of the play, but %s has '
                                                         'another value than %s: set it once, for the group all'
                                                         % (name, ', '.join(differ[:5]), first))
        result.update(changed=False, hosts=resolved, resolved=resolved[to_text(hosts[0])], undefined=undefined)
        return result
