# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""otlp.tls.collector_release: send the collector file to the host and install it there, in two remote
commands and the transfer: a temporary directory, then the module, which removes the directory itself.

In check mode nothing is sent: the result says what a real run would install.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    # The temporary directory is made below, only when there is something to send.
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get('cleanup_dir'):
            result.update(failed=True, msg='cleanup_dir is set by the action itself: leave it out of the task')
            return result
        try:
            source = self._find_needle('files', args.get('src') or '')
        except AnsibleError as exc:
            result.update(failed=True, msg='The collector file %r is not on the controller: %s' % (args.get('src'), to_text(exc)))
            return result
        if self._task.check_mode:
            result.update(changed=True, msg='would install %s into %s' % (source, args.get('release_dir')))
            return result
        tmpdir = self._make_tmp_path()
        remote_src = self._connection._shell.join_path(tmpdir, os.path.basename(source))
        self._transfer_file(source, remote_src)
        self._fixup_perms2((tmpdir, remote_src), execute=False)
        args.update(src=remote_src, cleanup_dir=tmpdir)
        result.update(self._execute_module(module_name='otlp.tls.collector_release', module_args=args,
                                           task_vars=task_vars))
        # The module removed the directory (it says so, failed or not): no call for that. Otherwise (it never ran
        # its own code: a crash, arguments refused) Ansible's clean-up removes it as usual.
        if result.get('temporary_removed') is True:
            self._connection._shell.tmpdir = None
        return result
