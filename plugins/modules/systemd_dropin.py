#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: systemd_dropin
short_description: Write systemd drop-ins, reload systemd once and restart the running units that need it, in one call
version_added: 0.2.0
description:
  - Writes one drop-in file per unit (C(<systemd_dir>/<unit>.d/<name>)), each atomically and only when its content
    differs, creating the drop-in directory when it is missing.
  - When the content of any drop-in changed, runs C(systemctl daemon-reload) once, before any restart, so that stopped units also see
    the new drop-in at their next start.
  - Then restarts the units that are running and whose drop-in content changed, or that are listed in O(restart_units) (for
    example because their certificate changed, since OpenTelemetry SDKs read certificate files only at start). Units
    that are not running are left stopped.
  - Does in one remote call what otherwise takes four tasks per host (directory, file, daemon-reload, restart).
  - Every unit name is checked before anything is written.
author:
  - otlp.tls maintainers (@otlp-tls)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reports which drop-ins would change and which running units would restart; writes and restarts nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: One diff per changed drop-in, with its whole content.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
requirements:
  - systemd (C(systemctl)) on the host
options:
  dropins:
    description: The drop-ins to keep, one per unit.
    type: list
    elements: dict
    required: true
    suboptions:
      unit:
        description: The unit, with or without C(.service).
        type: str
        required: true
      content:
        description: The whole content of the drop-in file.
        type: str
        required: true
  name:
    description: File name of the drop-in inside each unit's C(.d) directory. Must end in C(.conf).
    type: str
    default: 50-otlp-tls.conf
  restart:
    description:
      - Restart running units whose drop-in changed or that are in O(restart_units). With V(false) nothing is
        restarted; the units see the new settings at their next start.
    type: bool
    default: true
  restart_units:
    description: Units to restart when they are running, even if their drop-in did not change.
    type: list
    elements: str
    default: []
  systemd_dir:
    description: Directory that holds the units' drop-in directories.
    type: path
    default: /etc/systemd/system
'''

EXAMPLES = r'''
- name: Exporter environment for two units; restart the one whose certificate changed too
  otlp.tls.systemd_dropin:
    dropins:
      - unit: checkout.service
        content: |
          [Service]
          Environment="OTEL_EXPORTER_OTLP_ENDPOINT=https://collector1:4317"
      - unit: billing.service
        content: |
          [Service]
          Environment="OTEL_EXPORTER_OTLP_ENDPOINT=https://collector1:4318"
    restart_units: [billing.service]
  register: dropins
'''

RETURN = r'''
dropins:
  description: Each drop-in, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    unit:
      description: The unit, with C(.service).
      type: str
    path:
      description: Path of the drop-in file.
      type: str
    changed:
      description: Whether the file was (or in check mode would be) written or had its ownership or mode fixed.
        A fix of ownership or mode alone causes no daemon-reload and no restart.
      type: bool
changed_units:
  description: Units whose drop-in file changed (content, ownership or mode).
  returned: success
  type: list
  elements: str
daemon_reloaded:
  description: Whether C(systemctl daemon-reload) ran (in check mode, would run).
  returned: success
  type: bool
restarted:
  description: Running units that were (in check mode, would be) restarted.
  returned: success
  type: list
  elements: str
'''

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem, ensure_directory, read_file, write_file

# systemd unit names: letters, digits and :-_.\@ (systemd.unit(5)); no path separators.
UNIT_NAME = re.compile(r'^[A-Za-z0-9:_.\\@-]+$')
UNIT_TYPES = ('service', 'socket', 'timer', 'path', 'mount', 'target', 'slice', 'scope')


def unit_name(name):
    """The unit with its .service suffix, or None when the name is not a unit name."""
    name = (name or '').strip()
    if not name or not UNIT_NAME.match(name) or name.startswith('.'):
        return None
    return name if '.' in name and name.rsplit('.', 1)[1] in UNIT_TYPES else name + '.service'


def check_arguments(params):
    """Every problem with the arguments, before anything is written."""
    problems = []
    units = []
    for index, item in enumerate(params['dropins']):
        unit = unit_name(item['unit'])
        if unit is None:
            problems.append('dropins[%d].unit %r is not a systemd unit name (letters, digits and :-_.\\@ only)'
                            % (index, item['unit']))
        elif unit in units:
            problems.append('the unit %s appears twice in dropins: give each unit one drop-in' % unit)
        units.append(unit)
    extra = []
    for name in params['restart_units']:
        unit = unit_name(name)
        if unit is None:
            problems.append('restart_units entry %r is not a systemd unit name' % name)
        extra.append(unit)
    if not re.match(r'^[A-Za-z0-9_.@-]+\.conf$', params['name']):
        problems.append('name %r must be a file name ending in .conf (systemd reads no other drop-in)' % params['name'])
    return problems, units, extra


class Systemctl(object):
    def __init__(self, module):
        self.module = module
        self.path = module.get_bin_path('systemctl', required=True)

    def run(self, *args):
        return self.module.run_command([self.path] + list(args))

    def is_active(self, unit):
        rc, out, _err = self.run('is-active', '--', unit)
        return rc == 0 and out.strip() == 'active'


def run(module):
    params = module.params
    problems, units, extra = check_arguments(params)
    if problems:
        module.fail_json(msg='Nothing was written: ' + '; '.join(problems) + '.')
    systemctl = Systemctl(module)

    # A drop-in whose content changed needs daemon-reload and its unit's restart; one whose
    # ownership or mode alone was fixed counts as changed but needs neither.
    results, changed_units, new_content, diffs = [], [], [], []
    for unit, item in zip(units, params['dropins']):
        directory = os.path.join(params['systemd_dir'], unit + '.d')
        path = os.path.join(directory, params['name'])
        before = read_file(path, 'drop-in')
        exists = os.path.isdir(directory)
        changed = ensure_directory(module, directory, owner='root', group='root', mode='0755')
        if exists or not module.check_mode:
            changed = write_file(module, path, item['content'], 'root', 'root', '0644') or changed
        results.append(dict(unit=unit, path=path, changed=changed))
        if changed:
            changed_units.append(unit)
        if before != to_bytes(item['content']):
            new_content.append(unit)
            diffs.append(dict(before_header=path, after_header=path,
                              before=to_text(before or ''), after=item['content']))

    reloaded = bool(new_content)
    if reloaded and not module.check_mode:
        rc, _out, err = systemctl.run('daemon-reload')
        if rc != 0:
            module.fail_json(msg='systemctl daemon-reload failed (%s) after writing the drop-ins of %s. They are in '
                                 'place, so a re-run finds them unchanged: once systemd works, run systemctl '
                                 'daemon-reload and restart those units by hand'
                                 % (err.strip() or 'rc %d' % rc, ', '.join(new_content)),
                             dropins=results, changed=True)

    restarted = []
    if params['restart']:
        wanted = []
        for unit in new_content + extra:
            if unit not in wanted:
                wanted.append(unit)
        for unit in wanted:
            if not systemctl.is_active(unit):
                continue
            if not module.check_mode:
                rc, _out, err = systemctl.run('restart', '--', unit)
                if rc != 0:
                    module.fail_json(msg='restarting %s failed (%s): see journalctl -u %s; its drop-in is %s and '
                                         'stays in place, and a re-run restarts it only if something changes again'
                                         % (unit, err.strip() or 'rc %d' % rc, unit,
                                            'new' if unit in new_content else 'unchanged'),
                                     dropins=results, restarted=restarted, changed=True)
            restarted.append(unit)

    result = dict(changed=bool(changed_units or restarted), dropins=results, changed_units=changed_units,
                  daemon_reloaded=reloaded, restarted=restarted)
    if module._diff:
        result['diff'] = diffs
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dropins=dict(type='list', elements='dict', required=True, options=dict(
                unit=dict(type='str', required=True),
                content=dict(type='str', required=True),
            )),
            name=dict(type='str', default='50-otlp-tls.conf'),
            restart=dict(type='bool', default=True),
            restart_units=dict(type='list', elements='str', default=[]),
            systemd_dir=dict(type='path', default='/etc/systemd/system'),
        ),
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except FileProblem as exc:
        module.fail_json(msg=to_text(exc))


if __name__ == '__main__':
    main()
