# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``main()`` every otlp.tls module shares.

``run_module(argument_spec, run)`` parses the arguments, checks that ``cryptography`` is there,
calls ``run(module)`` and turns its dict into ``exit_json``. The errors this collection words for
the user (``pki.PKIError``, ``files.FileProblem``, ``ca_store.LockTimeout``, ``ModuleFailure``)
become ``fail_json`` with their message and nothing else: no traceback, and so no key material
that a traceback could carry. Any other exception is a bug and is left to Ansible's own handler.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.otlp.tls.plugins.module_utils import ca_store, pki
from ansible_collections.otlp.tls.plugins.module_utils.files import FileProblem


class ModuleFailure(Exception):
    """Fail the task with this message and these result keys (``raise ModuleFailure(msg, stage='verify')``)."""

    def __init__(self, msg, **result):
        super(ModuleFailure, self).__init__(msg)
        self.result = result


# Options that several modules take, by group. files and checks are documented in the doc fragments of
# the same names (plugins/doc_fragments/common.py: FILES, CHECKS); the other groups in each module, whose
# wording differs (x509_ca and x509_sign apply name constraints differently).
OPTION_GROUPS = {
    'files': dict(
        owner=dict(type='str'),
        group=dict(type='str'),
    ),
    'checks': dict(
        required_names=dict(type='list', elements='str', default=[]),
        profile=dict(type='str', choices=list(pki.PROFILES)),
        min_days_left=dict(type='int', default=0),
    ),
    'name_constraints': dict(
        permitted_dns_domains=dict(type='list', elements='str', default=[]),
        permitted_ip_ranges=dict(type='list', elements='str', default=[]),
    ),
    'lock': dict(
        lock_timeout=dict(type='int', default=120),
    ),
    # The mode of a private key file the module writes (no_log=False: a mode is no secret, whatever its name).
    'key_mode': dict(
        private_key_mode=dict(type='str', default='0600', no_log=False),
    ),
}


def argument_spec(groups=(), **options):
    """An argument spec: the options of each group of ``OPTION_GROUPS`` named in ``groups``, then ``options``."""
    spec = {}
    for group in groups:
        spec.update(copy.deepcopy(OPTION_GROUPS[group]))
    spec.update(options)
    return spec


# Errors whose message is written for the user; each becomes fail_json(msg=...).
USER_ERRORS = (pki.PKIError, FileProblem, ca_store.LockTimeout)


def run_module(argument_spec, run, needs_cryptography=True, module_class=AnsibleModule, **kwargs):
    """Build the AnsibleModule (check mode supported), run ``run(module)`` and exit with its result.

    ``kwargs`` go to AnsibleModule (``required_together``, ``mutually_exclusive``...).
    ``needs_cryptography``: fail with Ansible's missing-library message when it is not importable.
    ``module_class``: for tests.
    """
    kwargs.setdefault('supports_check_mode', True)
    module = module_class(argument_spec=argument_spec, **kwargs)
    if needs_cryptography and not pki.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=str(pki.CRYPTOGRAPHY_IMPORT_ERROR))
        return None
    try:
        result = run(module)
    except ModuleFailure as exc:
        module.fail_json(msg=to_text(exc), **exc.result)
        return None
    except USER_ERRORS as exc:
        module.fail_json(msg=to_text(exc))
        return None
    module.exit_json(**result)
    return result
