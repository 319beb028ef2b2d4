# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The exporter role's plan for one host, checked against the host in one remote call (see the module doc)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.otlp.tls.plugins.filter.exporter_env import (exporter_dropins, exporter_env,
                                                                      systemd_environment_file)
from ansible_collections.otlp.tls.plugins.module_utils import cert_decision
from ansible_collections.otlp.tls.plugins.plugin_utils import host_plan
from ansible_collections.otlp.tls.plugins.plugin_utils.action import PlanAction, random_key, with_environment_file


class ActionModule(PlanAction):
    SETTINGS = ('tls_mode', 'certificate_scope', 'collector', 'collector_group', 'grpc_port', 'http_port', 'protocol',
                'signals', 'timeout', 'compression', 'resource_attributes')
    OPTIONS = ('apps', 'dropin_name', 'ca', 'certificate_settings', 'prepare_csrs', 'collectors')

    def plan(self, args, settings, host, task_vars):
        apps = args.get('apps') if args.get('apps') is not None else []
        problems = host_plan.exporter_input_problems(apps, settings, host)
        if problems:
            raise host_plan.PlanError(' '.join(problems))
        if not apps:
            return dict(changed=False, plan=[], certificates=[], certificates_todo=[], certificate_state={}, dropins_changed=[],
                        trust_changed=False, sign_prepared=False, work=False,
                        ansible_facts=dict(otlp_tls_exporter_plan=[]))
        units = host_plan.exporter_units(apps)
        dropin_name = args.get('dropin_name') or '50-otlp-tls.conf'
        paths = dict((unit, host_plan.dropin_paths(unit, dropin_name)) for unit in units)
        files = sorted(set(p for unit in units
                           for p in (paths[unit]['dir'], paths[unit]['dropin'], paths[unit]['env_dir'])))
        if settings['tls_mode'] == 'tls':
            files += [host_plan.TRUST_DIR, host_plan.TRUST_BUNDLE]
        certificates = [dict(name=c['name'], dir=c['dir']) for c in host_plan.exporter_certificates(apps, settings, host)]
        certificate_settings = args.get('certificate_settings') or {}
        ca = args.get('ca') or {}
        key = random_key()
        # Everything that does not depend on the host is checked before the one call, which may make keys: the plan
        # on units as if they were there and ran as root, so that an input it refuses changes nothing on the host.
        assumed = dict((unit, dict(load_state='loaded', active_state='inactive', user='root', group='root'))
                       for unit in units)
        assumed_plan, problems = host_plan.exporter_plan(apps, settings, host, assumed, exporter_env)
        if problems:
            raise host_plan.PlanError(' '.join(problems))
        # The collectors' certificates (roles/exporter/tasks/collectors.yml), judged before the one call: a name none
        # carries is refused below when a drop-in would point at it, and nothing is prepared on the host before that.
        collectors = args.get('collectors')
        checked = isinstance(collectors, dict) and 'check' in collectors
        collector_problems = []
        if checked and settings['tls_mode'] != 'none':
            collector_problems = host_plan.collector_problems(assumed_plan, collectors, host,
                                                              self._play_context.check_mode)
        prepare = self.prepare(assumed_plan, apps, settings, host, certificate_settings, ca, units, paths, key,
                               collectors_checked=checked)
        if collector_problems or not boolean(args.get('prepare_csrs', True), strict=False):
            prepare = None
        state = self.read_host(task_vars, dict(
            units=units, certificates=certificates if settings['tls_mode'] == 'mtls' else [], files=files,
            secret_files=[paths[unit]['env'] for unit in units], digest_key=key, prepare=prepare))

        plan, problems = host_plan.exporter_plan(apps, settings, host, state.get('units'), exporter_env)
        if problems:
            raise host_plan.PlanError(' '.join(problems))
        expected = self.expected_dropins(plan, apps, paths)
        certificates = host_plan.exporter_certificates(apps, settings, host, plan)
        todo = []
        if settings['tls_mode'] == 'mtls':
            # The client certificates' decision, as the certificate role would make it: the role runs only for a
            # host with a certificate to issue, renew or install (its checks run here too, every time).
            problems = host_plan.certificate_problems(certificates, certificate_settings, host)
            if problems:
                raise host_plan.PlanError(' '.join(problems))
            decisions = cert_decision.certificate_decisions(certificates, state.get('certificates') or {}, ca,
                                                            certificate_settings)
            todo = [c['name'] for c in certificates if decisions.get(c['name'])]
        prepared = host_plan.prepared_csrs(state.get('prepared'), certificates, todo)
        # Every CSR to sign made by the read, as the certificate role would make it: sign.yml signs them, in two
        # run_once tasks for the batch, instead of the certificate role's dozen rounds.
        sign_prepared = settings['tls_mode'] == 'mtls' and host_plan.signs_prepared(certificates, todo, prepared,
                                                                                    certificate_settings)
        dropins_changed = host_plan.dropin_changes(expected, state.get('files') or {}, key)
        if dropins_changed and collector_problems:
            raise host_plan.PlanError(' '.join(collector_problems))
        trust_changed = bool(settings['tls_mode'] == 'tls' and plan and host_plan.trust_differs(
            state.get('files') or {}, (args.get('ca') or {}).get('bundle')))
        # work: anything at all to do on this host; without it the role runs nothing else there.
        # changed: the call made a key for a CSR (prepared_csrs, which the certificate role's CSR task uses).
        return dict(changed=any(p.get('changed') for p in prepared.values()), plan=plan, certificates=certificates,
                    certificates_todo=todo, certificate_state=state.get('certificates') or {},
                    dropins_changed=dropins_changed, trust_changed=trust_changed, prepared_csrs=prepared,
                    sign_prepared=sign_prepared, work=bool(dropins_changed or todo or trust_changed), ansible_facts=dict(otlp_tls_exporter_plan=plan))

    @staticmethod
    def expected_dropins(plan, apps, paths):
        """Per unit, the drop-in and secret environment file the plan wants (host_plan.dropin_changes' ``expected``)."""
        expected = {}
        for item in exporter_dropins(plan, apps):
            unit = host_plan.unit_of(item['unit'])
            secret = item.get('secret_environment') or {}
            expected[unit] = dict(paths=paths[unit], group=item.get('secret_group') or 'root',
                                  dropin=with_environment_file(item['content'], paths[unit]['env']) if secret
                                  else item['content'],
                                  env=systemd_environment_file(secret) if secret else None)
        return expected

    def prepare(self, plan, apps, settings, host, certificate_settings, ca, units, paths, key, collectors_checked=True):
        """host_state's prepare option (keys and CSRs made in the one read), or None; raises what the plan would.

        ``plan``: the plan on units assumed present (checked by the caller). The collectors' certificates were
        checked before (``collectors_checked``, the caller gives none with a problem). Without that check (no
        ``collectors`` option), the read prepares nothing on a host where a drop-in or secret environment file is
        to change, so that a check after the read still finds the host unchanged.
        """
        if settings['tls_mode'] != 'mtls':
            return None
        certificates = host_plan.exporter_certificates(apps, settings, host, plan)
        problems = host_plan.certificate_problems(certificates, certificate_settings, host)
        if problems:
            raise host_plan.PlanError(' '.join(problems))
        option = host_plan.prepare_option(certificates, plan, settings, certificate_settings, ca, units)
        if option is not None and not collectors_checked:
            option['unchanged'] = host_plan.unchanged_files(self.expected_dropins(plan, apps, paths), key)
        return option
