#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: config_file
short_description: Write a file rendered on the controller, only if it differs, after a validator accepted it
description:
  - Writes O(content) to O(path) atomically (a temporary file in the same directory, renamed over the file) when the
    content, owner, group or mode differ.
  - With O(validate), the new content is checked first, in the temporary file with its final owner, group and mode;
    when the validator fails, the file on the host is left as it was and the module fails with the validator's
    output.
  - The content is never shown, not in the result, nor in C(--diff), nor at C(-vvv), because a service's config may
    hold credentials. The result gives the SHA-256 of the content instead, to compare with M(otlp.tls.host_state).
  - One remote call, where a C(template) task takes three (stat, transfer, copy).
version_added: 0.3.0
extends_documentation_fragment:
  - otlp.tls.common.files
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Says whether the file would change; writes and validates nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: The content may hold secrets; compare the file on the host.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  path:
    description: The file. Its directory must exist, unless O(create_directory) is set.
    type: path
    required: true
  create_directory:
    description:
      - Create the file's directory when it is missing and keep it owned by O(directory_owner), with group
        O(directory_group) and mode O(directory_mode), as M(otlp.tls.x509_csr) does for a key's directory. Missing
        parents are created with mode 0755; existing parents are left as they are. A fix of the directory alone counts
        as a change.
      - Saves a separate M(ansible.builtin.file) task, that is one remote call per host.
    type: bool
    default: false
    version_added: 0.3.0
  directory_owner:
    description: Owner of the file's directory with O(create_directory). Left as it is when not set.
    type: str
    version_added: 0.3.0
  directory_group:
    description: Group of the file's directory with O(create_directory).
    type: str
    version_added: 0.3.0
  directory_mode:
    description: Mode of the file's directory with O(create_directory).
    type: str
    default: '0755'
    version_added: 0.3.0
  content:
    description: The whole content (rendered on the controller, for example with the C(template) lookup).
    type: str
    required: true
  mode:
    description: Mode of the file, octal (C('0640')).
    type: str
    default: '0644'
  validate:
    description:
      - A command run on the new content before it replaces the file; C(%s) is the path of the new content. Split
        like a shell would, but not run by a shell.
    type: str
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Write the collector's config if the collector accepts it
  otlp.tls.config_file:
    path: /etc/otelcol/config.yaml
    content: "{{ lookup('ansible.builtin.template', 'config.yaml.j2') }}"
    owner: root
    group: otelcol
    mode: '0640'
    validate: /usr/local/bin/otelcol validate --config=%s
'''

RETURN = r'''
validated:
  description: Whether O(validate) ran and accepted the new content (false when nothing was written).
  returned: always
  type: bool
'''

import os
import shlex

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.otlp.tls.plugins.module_utils.common import ModuleFailure, argument_spec, run_module
from ansible_collections.otlp.tls.plugins.module_utils.files import ensure_directory, write_file


def run(module):
    params = module.params
    if params['validate'] is not None and '%s' not in params['validate']:
        raise ModuleFailure('validate must contain %%s, where the path of the new content goes: %r' % params['validate'])
    validated = []
    directory_changed = False
    if params['create_directory']:
        directory = os.path.dirname(os.path.abspath(params['path']))
        # Its owner and mode would be set on the link, not on the directory it leads to.
        if os.path.islink(directory):
            raise ModuleFailure('%s is a symbolic link: make it the directory itself (owner, group and mode are kept '
                                'on it), or point the path at the real directory' % directory)
        directory_changed = ensure_directory(module, directory, params['directory_owner'], params['directory_group'],
                                             params['directory_mode'])

    def check(tmp_path):
        argv = [arg.replace('%s', tmp_path) for arg in shlex.split(params['validate'])]
        rc, out, err = module.run_command(argv)
        if rc != 0:
            raise ModuleFailure('%s was not replaced: `%s` failed (rc %d)' % (params['path'], params['validate'], rc),
                                rc=rc, stdout=out, stderr=err)
        validated.append(True)

    changed = write_file(module, params['path'], to_bytes(params['content']), params['owner'], params['group'],
                         params['mode'], check if params['validate'] else None)
    # No digest of the content: it may hold credentials, and an unsalted hash of a known template
    # would let a reader of the output try values for them.
    return dict(changed=changed or directory_changed, validated=bool(validated))


def main():
    run_module(argument_spec(
        ('files',),
        path=dict(type='path', required=True),
        content=dict(type='str', required=True, no_log=True),
        mode=dict(type='str', default='0644'),
        create_directory=dict(type='bool', default=False),
        directory_owner=dict(type='str'),
        directory_group=dict(type='str'),
        directory_mode=dict(type='str', default='0755'),
        validate=dict(type='str'),
    ), run, needs_cryptography=False)


if __name__ == '__main__':
    main()
