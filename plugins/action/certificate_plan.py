# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The certificate role's plan for one host, and which certificates need the signing path (see the module doc)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.otlp.tls.plugins.module_utils import cert_decision
from ansible_collections.otlp.tls.plugins.plugin_utils import host_plan
from ansible_collections.otlp.tls.plugins.plugin_utils.action import PlanAction


class ActionModule(PlanAction):
    SETTINGS = ('source', 'ca_source', 'key_location', 'validity_days', 'renew_before_days', 'force', 'rotate_key',
                'key_type', 'organization')
    OPTIONS = ('entries', 'ca', 'state')

    def plan(self, args, settings, host, task_vars):
        entries = args.get('entries')
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise host_plan.PlanError('Invalid certificate settings for %s: otlp_tls_certificate_list must be a list '
                                      'of dicts, each with at least a name.' % host)
        problems = host_plan.certificate_problems(entries, settings, host)
        if problems:
            raise host_plan.PlanError(' '.join(problems))
        names = [e['name'] for e in entries]
        if settings['source'] == 'provided':
            # Provided files are checked on the controller at every run (their files may have changed there).
            return dict(changed=False, entries=entries, todo=names,
                        decisions=dict((name, ['provided files are checked at every run']) for name in names))
        state = args.get('state')
        if entries and (not isinstance(state, dict) or any(name not in state for name in names)):
            state = self.read_host(task_vars, dict(certificates=[dict(name=e['name'], dir=e['dir']) for e in entries]))
            state = state.get('certificates') or {}
        decisions = cert_decision.certificate_decisions(entries, state, args.get('ca') or {}, settings)
        return dict(changed=False, entries=entries, decisions=decisions,
                    todo=[name for name in names if decisions.get(name)])
