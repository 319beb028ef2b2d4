# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a collector distribution has, from the output of ``otelcol components``.

That output is YAML: a section per kind at the left margin (``receivers:``, ``processors:``, ...), each with a list
of ``- name: <type>`` items. Read line by line, so that hosts need no YAML library. A requirement is
``<kind>/<type>[|<other name>...]``, for example ``receivers/tls_check|tlscheck`` (a component renamed upstream
answers to either name).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse(text):
    """``{kind: set of types}`` from ``otelcol components`` output."""
    found, kind = {}, None
    for line in (text or '').splitlines():
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if not line[0].isspace():
            kind = line.split(':', 1)[0].strip()
            continue
        item = line.strip()
        if kind and item.startswith('- name:'):
            found.setdefault(kind, set()).add(item[len('- name:'):].strip().strip('"\''))
    return found


def missing(text, required):
    """The requirements of ``required`` that the listing ``text`` does not meet, as ``receiver tls_check``."""
    found = parse(text)
    out = []
    for requirement in required or []:
        kind, _sep, names = str(requirement).partition('/')
        if not found.get(kind, set()).intersection(names.split('|')):
            out.append('%s %s' % (kind[:-1] if kind.endswith('s') else kind, names.split('|')[0]))
    return out
