# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make this checkout importable as ansible_collections.otlp.tls, wherever it is cloned."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _collections_root():
    # Under ansible-test the checkout already sits in an ansible_collections tree.
    parts = REPO.split(os.sep)
    if len(parts) >= 3 and parts[-3] == 'ansible_collections':
        return os.sep.join(parts[:-3])
    root = os.path.join(REPO, '.tmp', 'collections')
    link = os.path.join(root, 'ansible_collections', 'otlp', 'tls')
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(REPO, os.path.dirname(link)), link)
    return root


COLLECTIONS_ROOT = _collections_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
