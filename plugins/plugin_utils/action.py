# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the plan action plugins share: option checks, the one read of the host, a per-run digest key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import secrets

from ansible.plugins.action import ActionBase

from ansible_collections.otlp.tls.plugins.module_utils.systemd_env import with_environment_file  # noqa: F401 pylint: disable=unused-import
from ansible_collections.otlp.tls.plugins.plugin_utils.host_plan import PlanError


def random_key():
    """A key for the HMAC of secret files, made for this call and never shown or stored."""
    return secrets.token_hex(32)


class PlanAction(ActionBase):
    """An action that plans a host on the controller: ``plan()`` returns the result or raises PlanError(message)."""

    TRANSFERS_FILES = False
    OPTIONS = ()
    SETTINGS = ()

    def run(self, tmp=None, task_vars=None):
        result = super(PlanAction, self).run(tmp, task_vars)
        args = self._task.args
        allowed = set(self.OPTIONS) | set(self.SETTINGS)
        unknown = sorted(set(args) - allowed)
        if unknown:
            return dict(result, failed=True, msg='unknown options %s: use %s' % (', '.join(unknown), ', '.join(sorted(allowed))))
        settings = dict((key, args.get(key)) for key in self.SETTINGS)
        try:
            result.update(self.plan(args, settings, task_vars.get('inventory_hostname'), task_vars))
        except PlanError as exc:
            result.update(failed=True, msg=str(exc))
        return result

    def plan(self, args, settings, host, task_vars):
        raise NotImplementedError

    def read_host(self, task_vars, module_args):
        """Run otlp.tls.host_state on the host with ``module_args``: the one remote call of a plan."""
        read = self._execute_module(module_name='otlp.tls.host_state', module_args=module_args, task_vars=task_vars)
        read.pop('invocation', None)
        if read.get('failed'):
            raise PlanError('reading the host failed: %s' % read.get('msg', ''))
        return read
