# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""otlp.tls.systemd_dropin: stop the host on the controller when its certificates were refused (O(refused)), or run the
module there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


def refusal(host, refused):
    """The failure for ``host`` when ``refused`` (the CA's reasons) is not empty, else None."""
    reasons = [str(reason) for reason in refused or [] if reason]
    if not reasons:
        return None
    return dict(failed=True, changed=False,
                msg='The CA refused to sign for %s: %s. No drop-in or certificate was written.' % (host, ' | '.join(reasons)))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        # Read here only, never passed on: the host is not called when it is to stop.
        stop = refusal((task_vars or {}).get('inventory_hostname'), args.pop('refused', None))
        if stop:
            result.update(stop)
            return result
        result.update(self._execute_module(module_name='otlp.tls.systemd_dropin', module_args=args, task_vars=task_vars))
        return result
