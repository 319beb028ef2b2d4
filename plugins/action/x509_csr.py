# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""otlp.tls.x509_csr: the CSR a plan's one read of the host already made (O(prepared)), or the module on the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.otlp.tls.plugins.plugin_utils.host_plan import prepared_result, usable


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        prepared = args.pop('prepared', None)
        if prepared and usable(prepared, args):
            # Made on the host by this run's read (otlp.tls.host_state, prepare): no second call. Only x509_csr's
            # own return values, each of its type: the rest came from the host too (add_host, _ansible_*, ...).
            result.update(prepared_result(prepared))
            result['prepared'] = True
            return result
        result.update(self._execute_module(module_name='otlp.tls.x509_csr', module_args=args, task_vars=task_vars))
        result['prepared'] = False
        return result
