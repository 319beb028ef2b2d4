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
description:
  - Writes one drop-in file per unit (C(<systemd_dir>/<unit>.d/<name>)), each atomically and only when its content
    differs, creating the drop-in directory when it is missing.
  - When the content of any drop-in changed, runs C(systemctl daemon-reload) once, before any restart, so that stopped units also see
    the new drop-in at their next start.
  - Then restarts the units that are running and whose drop-in content or secret environment changed, or that are listed in O(restart_units) (for
    example because their certificate changed, since OpenTelemetry SDKs read certificate files only at start). Units
    that are not running are left stopped.
  - A unit's O(dropins[].secret_environment) (API keys, tokens) goes into its own C(EnvironmentFile=),
    C(<environment_dir>/<unit>.env), mode C(0640), owner C(root), group O(dropins[].secret_group), in a directory
    that only root can list (C(0711)); the drop-in gets the C(EnvironmentFile=) line and holds no secret value. The
    file is written atomically (a temporary file with the final owner, group and mode renamed over it) and only when
    it differs; a unit whose secret environment became empty has its file removed. A changed secret environment
    restarts a running unit like a changed drop-in.
  - Secret values never appear in the module's output, not at any verbosity (the option is C(no_log)) and not in
    the diff, which shows the variable names with the values masked.
  - Does in one remote call what otherwise takes four tasks per host (directory, file, daemon-reload, restart).
  - With O(certificates), first installs the units' signed certificates as M(otlp.tls.x509_install) does (every
    check, then atomic writes, a staged key swapped in with its certificate), and restarts the running units named in
    each certificate's O(certificates[].units) when its files changed (SDKs read certificate files only at start);
    certificates, drop-ins and restarts in one remote call. A certificate that fails its checks fails the module
    before any drop-in is written.
  - Every unit name, variable name and value is checked before anything is written.
version_added: 0.2.0
attributes:
  action:
    support: full
    description: An action plugin fails the host on the controller when O(refused) is not empty, and runs the module on
      the host otherwise.
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reports which drop-ins would change and which running units would restart; writes and restarts nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: One diff per changed drop-in, with its whole content, and one per changed environment file, with the
      variable names and every value masked (a changed value is marked as such).
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
requirements:
  - systemd (C(systemctl)) on the host
  - cryptography >= 3.3 on the host, with O(certificates) only
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
        description:
          - The whole content of the drop-in file, without secrets (it is world-readable, 0644).
          - With a non-empty O(dropins[].secret_environment) the module adds C(EnvironmentFile=<file>) to its
            C([Service]) section.
        type: str
        required: true
      secret_environment:
        description:
          - Secret environment variables of the unit (names and values), written to
            C(<environment_dir>/<unit>.env) and referenced by the drop-in. Values are written so that systemd reads
            them back unchanged (in double quotes, with backslashes, double quotes, dollar signs and backquotes escaped); a value with a newline
            or another control character is refused before anything is written.
          - Empty removes the unit's environment file, if there is one.
          - Never shown in the output (C(no_log)).
        type: dict
        default: {}
      secret_group:
        description: Group of the environment file (the unit's group); only root and this group can read it.
        type: str
        default: root
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
  refused:
    description:
      - Why the CA signed nothing for this host's O(certificates) (its refusals, as the caller worked them out from
        M(otlp.tls.x509_sign)'s result).
      - When not empty, the task fails with them and nothing is written; the action plugin fails it on the controller,
        before the host is called.
    type: list
    elements: str
    default: []
  certificates:
    description:
      - Certificates to install before the drop-ins are written, each with the options of M(otlp.tls.x509_install)
        plus O(certificates[].name) and O(certificates[].units).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The certificate's name, for messages and RV(certificates).
        type: str
        required: true
      units:
        description:
          - Units to restart, when they are running, if this certificate's files changed.
        type: list
        elements: str
        default: []
      certificate:
        description:
          - The certificate, PEM.
        type: str
        required: true
      certificate_path:
        description:
          - Where to write the certificate (the leaf only).
        type: path
        required: true
      chain:
        description:
          - Certificates that issued it, PEM, issuer first.
        type: str
        default: ''
      chain_path:
        description:
          - Where to write O(certificates[].chain).
        type: path
      fullchain_path:
        description:
          - Where to write the certificate followed by O(certificates[].chain).
        type: path
      trust_bundle:
        description:
          - CA certificates that peers are trusted by, PEM. The certificate must verify against it.
        type: str
        default: ''
      trust_bundle_path:
        description:
          - Where to write O(certificates[].trust_bundle).
        type: path
        aliases: [ca_path, ca_file]
      private_key_path:
        description:
          - Path of the private key that belongs to the certificate (a key staged at C(<path>.next) is moved
            here when the certificate belongs to it).
        type: path
        required: true
      private_key:
        description:
          - A private key to install at O(certificates[].private_key_path), written as PKCS#8.
        type: str
      private_key_passphrase:
        description:
          - Passphrase of O(certificates[].private_key) when it is encrypted.
        type: str
      private_key_mode:
        description:
          - Mode of the private key file.
        type: str
        default: '0600'
      mode:
        description:
          - Mode of the certificate, chain and bundle files.
        type: str
        default: '0644'
      owner:
        description:
          - Owner of the written files.
        type: str
      group:
        description:
          - Group of the written files.
        type: str
      required_names:
        description:
          - Names the certificate's subjectAltNames must cover.
        type: list
        elements: str
        default: []
      profile:
        description:
          - Usage the certificate must allow.
        type: str
        choices: [server, client, both]
      min_days_left:
        description:
          - The fewest whole days the certificate must still be valid.
        type: int
        default: 0
  environment_dir:
    description:
      - Directory of the units' secret environment files, one per unit named after the unit with its suffix
        (C(checkout.service.env)), created C(0711 root:root) (others can reach a file by name but not list the
        directory) when a unit has a secret environment.
    type: path
    default: /etc/otlp-tls/env
notes:
  - systemd reads C(EnvironmentFile=) as root when it starts the unit, so the unit needs no access to the file; the
    unit's group may read it because the process holds those values in its environment anyway.
author:
  - otlp.tls maintainers (@otlp-tls)
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

- name: An API key as a header, in a file only root and the unit's group can read
  otlp.tls.systemd_dropin:
    dropins:
      - content: "[Service]\nEnvironment=\"OTEL_EXPORTER_OTLP_ENDPOINT=https://collector1:4317\"\n"
        unit: checkout.service
        secret_environment:
          OTEL_EXPORTER_OTLP_HEADERS: "x-api-key={{ vault_checkout_api_key }}"
        secret_group: checkout
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
    environment_file:
      description: Path of the unit's secret environment file, or null when it has none.
      type: str
    changed:
      description: Whether the drop-in or the environment file was (or in check mode would be) written, removed or had
        its ownership or mode fixed. A fix of ownership or mode alone causes no daemon-reload and no restart.
      type: bool
changed_units:
  description: Units whose drop-in or environment file changed (content, ownership or mode).
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
certificates:
  description: Each certificate of O(certificates), in the order given, as M(otlp.tls.x509_install) returns it.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: O(certificates[].name).
      type: str
    changed:
      description: Whether any of its files was (in check mode, would be) written.
      type: bool
    changed_files:
      description: The files written.
      type: list
      elements: str
    info:
      description: Facts about the certificate (see M(otlp.tls.x509_info)).
      type: dict
    staged_private_key_installed:
      description: Whether a staged key was moved into place with it.
      type: bool
'''

import os
import re

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.otlp.tls.plugins.module_utils import pki
from ansible_collections.otlp.tls.plugins.module_utils.cert_install import (
    check as check_certificate, install_spec, write_checked,
)
from ansible_collections.otlp.tls.plugins.module_utils.common import run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem, ensure_directory, read_file, write_file
from ansible_collections.otlp.tls.plugins.module_utils.systemd_env import (
    environment_file_content, environment_problems, masked, parse_environment_file, with_environment_file,
)

# systemd unit names: letters, digits and :-_.\@ (systemd.unit(5)); no path separators.
UNIT_NAME = re.compile(r'^[A-Za-z0-9:_.\\@-]+$')
UNIT_TYPES = ('service', 'socket', 'timer', 'path', 'mount', 'target', 'slice', 'scope')
# A directory systemd takes verbatim in EnvironmentFile= (no specifier %, no whitespace, no quotes).
SAFE_DIR = re.compile(r'^/[A-Za-z0-9._/@:+-]*$')


def unit_name(name):
    """The unit with its .service suffix, or None when the name is not a unit name."""
    name = (name or '').strip()
    if not name or not UNIT_NAME.match(name) or name.startswith('.'):
        return None
    return name if '.' in name and name.rsplit('.', 1)[1] in UNIT_TYPES else name + '.service'


def check_arguments(params):
    """Every problem with the arguments, before anything is written. Never quotes a secret value."""
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
        problems.extend('dropins[%d].secret_environment: %s' % (index, problem)
                        for problem in environment_problems(item.get('secret_environment') or {}))
        if item.get('secret_environment') and not re.match(r'^[A-Za-z0-9_.-]+$', item.get('secret_group') or ''):
            problems.append('dropins[%d].secret_group %r is not a group name' % (index, item.get('secret_group')))
    extra = []
    for name in params['restart_units']:
        unit = unit_name(name)
        if unit is None:
            problems.append('restart_units entry %r is not a systemd unit name' % name)
        extra.append(unit)
    names = []
    for index, item in enumerate(params['certificates']):
        if item['name'] in names:
            problems.append('the certificate %s appears twice in certificates: give each one entry' % item['name'])
        names.append(item['name'])
        for name in item['units']:
            if unit_name(name) is None:
                problems.append('certificates[%d].units entry %r is not a systemd unit name' % (index, name))
    if not re.match(r'^[A-Za-z0-9_.@-]+\.conf$', params['name']):
        problems.append('name %r must be a file name ending in .conf (systemd reads no other drop-in)' % params['name'])
    if not SAFE_DIR.match(params['environment_dir']):
        problems.append('environment_dir %r must be an absolute path of letters, digits and ._/@:+- (systemd would '
                        'expand %% specifiers in it)' % params['environment_dir'])
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


def fail_after_certificates(module, systemctl, params, units, msg, **result):
    """Fail, but first restart the running units whose certificate was written in this call (with restart), since no
    later run would: it finds the certificate in place. The message names them either way."""
    restarted = []
    if params['restart'] and not module.check_mode:
        for unit in units:
            if systemctl.is_active(unit) and systemctl.run('restart', '--', unit)[0] == 0:
                restarted.append(unit)
    left = [unit for unit in units if unit not in restarted]
    if restarted:
        msg += '; restarted for their new certificate: %s' % ', '.join(restarted)
    if left:
        msg += '; their certificate changed, restart them by hand if they run: %s' % ', '.join(left)
    module.fail_json(msg=msg, restarted=restarted, changed=bool(units), **result)


def environment_file(module, path, env, group):
    """Write, keep or remove the unit's secret environment file.

    Returns (changed, content_changed, diff or None); the diff holds names and masks only.
    """
    before = read_file(path, 'environment file')
    old = dict(parse_environment_file(to_text(before, errors='surrogate_or_strict'))) if before is not None else {}
    if not env:
        if before is None:
            return False, False, None
        if not module.check_mode:
            try:
                os.unlink(path)
            except OSError as exc:
                raise FileProblem('cannot remove the environment file %s: %s' % (path, exc.strerror or exc))
        return True, True, dict(before_header=path, after_header=path + ' (removed)', before=masked(old), after='')
    content = environment_file_content(env)
    content_changed = before != to_bytes(content)
    changed = write_file(module, path, content, 'root', group, '0640')
    diff = None
    if content_changed:
        new_values = [key for key in env if old.get(key) != env[key]]
        diff = dict(before_header=path, after_header=path, before=masked(old) if before is not None else '',
                    after=masked(env, new_values if before is not None else ()))
    return changed, content_changed, diff


def run(module):
    params = module.params
    problems, units, extra = check_arguments(params)
    # The action plugin stops the host before the call; the module too, should it ever run without it.
    if params['refused']:
        module.fail_json(msg='The CA refused to sign for this host: %s. Nothing was written.' % ' | '.join(params['refused']))
    if problems:
        module.fail_json(msg='Nothing was written: ' + '; '.join(problems) + '.')
    systemctl = Systemctl(module)
    if params['certificates'] and not pki.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=str(pki.CRYPTOGRAPHY_IMPORT_ERROR))

    # The certificates before anything else, every one checked before any is written: a bad one stops the module
    # with nothing changed. A unit whose certificate was written is restarted even when a later step fails (the next
    # run would find the certificate in place and restart nothing).
    checked = []
    for item in params['certificates']:
        try:
            checked.append(check_certificate(module, item))
        except (pki.PKIError, FileProblem) as exc:
            module.fail_json(msg='certificate %s: %s. Nothing was written.' % (item['name'], to_text(exc)))
    certificates, diffs, cert_units = [], [], []
    for item, ready in zip(params['certificates'], checked):
        try:
            done = write_checked(module, item, ready)
        except FileProblem as exc:
            fail_after_certificates(module, systemctl, params, cert_units,
                                    'certificate %s: %s' % (item['name'], to_text(exc)), certificates=certificates)
        if module._diff and done.get('diff'):
            diffs.append(dict(before_header=item['certificate_path'], after_header=item['certificate_path'],
                              before=done['diff']['before'], after=done['diff']['after']))
        certificates.append(dict(name=item['name'], changed=done['changed'], changed_files=done['changed_files'],
                                 info=done['info'], staged_private_key_installed=done['staged_private_key_installed']))
        if done['changed']:
            cert_units.extend(u for u in (unit_name(unit) for unit in item['units']) if u not in cert_units)
    extra.extend(u for u in cert_units if u not in extra)

    try:
        # The secret environment files first, so that a drop-in never names a file that is not there.
        secrets = [dict((str(k), to_text(v)) for k, v in (item.get('secret_environment') or {}).items())
                   for item in params['dropins']]
        env_dir = params['environment_dir']
        env_paths = [os.path.join(env_dir, unit + '.env') for unit in units]
        env_results = {}
        dir_changed = False
        if any(secrets):
            dir_changed = ensure_directory(module, env_dir, owner='root', group='root', mode='0711')
        for unit, item, env, path in zip(units, params['dropins'], secrets, env_paths):
            if env or os.path.isdir(env_dir):
                env_results[unit] = environment_file(module, path, env, item.get('secret_group') or 'root')
            else:
                env_results[unit] = (False, False, None)

        # A drop-in whose content changed needs daemon-reload and its unit's restart; one whose
        # ownership or mode alone was fixed counts as changed but needs neither. A changed secret
        # environment needs the restart only (systemd reads EnvironmentFile= at each start).
        results, changed_units, new_dropins, new_content = [], [], [], []
        for unit, item, env, path in zip(units, params['dropins'], secrets, env_paths):
            directory = os.path.join(params['systemd_dir'], unit + '.d')
            dropin = os.path.join(directory, params['name'])
            content = with_environment_file(item['content'], path) if env else item['content']
            before = read_file(dropin, 'drop-in')
            exists = os.path.isdir(directory)
            changed = ensure_directory(module, directory, owner='root', group='root', mode='0755')
            if exists or not module.check_mode:
                changed = write_file(module, dropin, content, 'root', 'root', '0644') or changed
            env_changed, env_content_changed, env_diff = env_results[unit]
            results.append(dict(unit=unit, path=dropin, environment_file=path if env else None,
                                changed=changed or env_changed))
            if changed or env_changed:
                changed_units.append(unit)
            if before != to_bytes(content):
                new_dropins.append(unit)
                diffs.append(dict(before_header=dropin, after_header=dropin, before=to_text(before or ''), after=content))
            if env_diff:
                diffs.append(env_diff)
            if before != to_bytes(content) or env_content_changed:
                new_content.append(unit)
    except FileProblem as exc:
        fail_after_certificates(module, systemctl, params, cert_units, to_text(exc), certificates=certificates)

    reloaded = bool(new_dropins)
    if reloaded and not module.check_mode:
        rc, _out, err = systemctl.run('daemon-reload')
        if rc != 0:
            fail_after_certificates(
                module, systemctl, params, cert_units,
                'systemctl daemon-reload failed (%s) after writing the drop-ins of %s. They are in place, so a re-run '
                'finds them unchanged: once systemd works, run systemctl daemon-reload and restart those units by hand'
                % (err.strip() or 'rc %d' % rc, ', '.join(new_dropins)), dropins=results, certificates=certificates)

    restarted, failed = [], []
    if params['restart']:
        wanted = []
        for unit in new_content + extra:
            if unit not in wanted:
                wanted.append(unit)
        # Every unit gets its restart, also after one failed: a unit left out would keep old settings or an old
        # certificate that no later run restarts it for (it finds the files in place).
        for unit in wanted:
            if not systemctl.is_active(unit):
                continue
            if not module.check_mode:
                rc, _out, err = systemctl.run('restart', '--', unit)
                if rc != 0:
                    failed.append('%s (%s; see journalctl -u %s; its %s changed in this run and stays in place: '
                                  'restart it by hand once it works)'
                                  % (unit, err.strip() or 'rc %d' % rc, unit,
                                     'certificate' if unit in cert_units and unit not in new_content
                                     else 'drop-in or environment'))
                    continue
            restarted.append(unit)
    if failed:
        module.fail_json(msg='restarting failed: %s' % '; '.join(failed), dropins=results, restarted=restarted,
                         certificates=certificates, changed=True)

    result = dict(changed=bool(changed_units or restarted or dir_changed or any(c['changed'] for c in certificates)),
                  dropins=results, changed_units=changed_units, daemon_reloaded=reloaded, restarted=restarted,
                  certificates=certificates)
    if module._diff:
        result['diff'] = diffs
    return result


def main():
    run_module(dict(
        dropins=dict(type='list', elements='dict', required=True, options=dict(
            unit=dict(type='str', required=True),
            content=dict(type='str', required=True),
            secret_environment=dict(type='dict', default={}, no_log=True),
            # A group name, not a secret (validate-modules asks because of the name).
            secret_group=dict(type='str', default='root', no_log=False),
        )),
        name=dict(type='str', default='50-otlp-tls.conf'),
        restart=dict(type='bool', default=True),
        restart_units=dict(type='list', elements='str', default=[]),
        systemd_dir=dict(type='path', default='/etc/systemd/system'),
        environment_dir=dict(type='path', default='/etc/otlp-tls/env'),
        # refused: read by the action plugin (plugins/action/systemd_dropin.py), which never passes it on.
        refused=dict(type='list', elements='str', default=[]),
        certificates=dict(type='list', elements='dict', default=[], options=install_spec(
            name=dict(type='str', required=True),
            units=dict(type='list', elements='str', default=[]),
        )),
    ), run, needs_cryptography=False)


if __name__ == '__main__':
    main()
