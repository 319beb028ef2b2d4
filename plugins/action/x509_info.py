# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""otlp.tls.x509_info: the module on the host, and only its own return values back.

The exporter role runs it run_once, delegated to each collector (roles/exporter/tasks/collectors.yml). A run_once
task's ansible_facts land on every host of the play, and a fact outranks the inventory: a compromised collector could
otherwise set otlp_tls_exporter_tls_mode=none (or any other variable) on every app host of the batch. So only
x509_info's documented return values, each of its type, are kept; ansible_facts, add_host and the rest are dropped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

# x509_info's RETURN, plus what every module may return. None: the value may also be null.
RESULT_KEYS = {
    'changed': (bool,), 'failed': (bool,), 'msg': (str,), 'exists': (bool,), 'problems': (list,), 'info': (dict,),
    'certificates_in_file': (int,), 'key_matches': (bool, type(None)), 'chain_verified': (bool, type(None)),
    'private_key': (dict,),
}


def _of(value, kinds):
    # bool is an int to isinstance: a count must not be True.
    return isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))


def kept(result):
    """The keys of RESULT_KEYS of a module result, each of its type (problems: text only)."""
    out = dict((key, result[key]) for key, kinds in RESULT_KEYS.items() if key in result and _of(result[key], kinds))
    if 'problems' in out:
        out['problems'] = [p for p in out['problems'] if isinstance(p, str)]
    return out


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        result.update(kept(self._execute_module(module_name='otlp.tls.x509_info', module_args=dict(self._task.args),
                                                task_vars=task_vars)))
        return result
