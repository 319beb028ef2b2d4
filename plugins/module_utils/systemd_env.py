# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""systemd environment quoting, written once for the module and the filters.

``Environment=`` lines of a drop-in and ``EnvironmentFile=`` files are read by two different
systemd parsers with different quoting rules; both are here, with the checks that keep a
value from ending its line (and so from adding settings to a unit). Messages name variables,
never their values: the values may be secrets (API keys, tokens).

Used by ``otlp.tls.systemd_dropin`` (module) and the ``systemd_environment``,
``systemd_environment_file`` and ``exporter_dropins`` filters; pure Python, no side effects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Environment variable names: letters, digits, underscores, no leading digit.
ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
ENVIRONMENT_FILE_HEADER = ('# Managed by Ansible (otlp.tls): changes made here are overwritten.\n'
                           '# Secret environment, read by systemd (EnvironmentFile=); readable by root and the unit\'s group only.\n')
MASK = '********'


def has_control(text):
    """True when ``text`` holds a newline or another control character."""
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def environment_problems(env):
    """Why ``env`` (names and values) can not be written for systemd; empty when it can. Never quotes a value."""
    problems = []
    for key, value in sorted(((str(k), v) for k, v in env.items()), key=lambda item: item[0]):
        if not ENV_NAME.match(key):
            problems.append('%r is not an environment variable name: use letters, digits and underscores, not '
                            'starting with a digit' % key)
        elif value is None or isinstance(value, (dict, list)):
            problems.append('the value of %s must be a string or a number' % key)
        elif has_control(str(value)):
            problems.append('the value of %s holds a newline or another control character, which would end the line '
                            'systemd reads it from (and could add settings to the unit): remove it from the value; a '
                            'multi-line value (a PEM, say) belongs in a file whose path you pass instead' % key)
    return problems


def environment_line(key, value):
    r"""One ``Environment="NAME=value"`` line of a unit: \, " and % escaped so systemd reads the value back."""
    value = str(value).replace('\\', '\\\\').replace('"', '\\"').replace('%', '%%')
    return 'Environment="%s=%s"' % (key, value)


def environment_file_value(value):
    r"""A value in double quotes as systemd's EnvironmentFile= parser reads it back unchanged.

    Inside double quotes systemd turns \\, \", \$ and \` into the character and keeps every
    other character as it is (EnvironmentFile= knows no specifiers and expands no variables).
    """
    return '"%s"' % ''.join('\\' + char if char in '\\"$`' else char for char in str(value))


def environment_file_content(env):
    """The content of a file for EnvironmentFile=: NAME="value" lines, sorted, under a header comment."""
    return ENVIRONMENT_FILE_HEADER + ''.join(
        '%s=%s\n' % (key, environment_file_value(value)) for key, value in sorted((str(k), v) for k, v in env.items()))


def masked(env, changed=()):
    """An environment file as a diff may show it: the names, and every value masked."""
    return ''.join('%s=%s%s\n' % (key, MASK, ' (new value)' if key in changed else '') for key in sorted(env))


def _keep(buffer, char, last_ws):
    """Append ``char``; return where the run of trailing whitespace starts (None: no trailing whitespace)."""
    buffer.append(char)
    if char not in ' \t\n\r':
        return None
    return len(buffer) - 1 if last_ws is None else last_ws


def parse_environment_file(text):
    r"""The variables of an EnvironmentFile= as systemd reads them: [(name, value)] in file order.

    A port of parse_env_file_internal() (systemd src/basic/env-file.c): comments start with # or ;
    at the start of a line; unquoted values take backslash escapes and lose trailing whitespace;
    '...' is verbatim; "..." unescapes \\ \" \$ \` and keeps any other backslash; a backslash before
    a newline continues the line; quoted parts and what follows them are joined.
    """
    whitespace, newline = ' \t\n\r', '\n\r'
    out = []
    state, key, value = 'pre_key', [], None
    last_key_ws = last_value_ws = None

    def push():
        name = ''.join(key[:last_key_ws] if last_key_ws is not None else key)
        out.append((name, ''.join(value[:last_value_ws] if last_value_ws is not None else value or [])))

    opening = {"'": 'single', '"': 'double', '\\': 'value_escape'}
    for char in text:
        if state == 'pre_key':
            if char in '#;':
                state = 'comment'
            elif char not in whitespace:
                state, key, value, last_key_ws, last_value_ws = 'key', [char], None, None, None
        elif state == 'key':
            if char in newline:
                state = 'pre_key'
            elif char == '=':
                state, value = 'pre_value', []
            else:
                last_key_ws = _keep(key, char, last_key_ws)
        elif state in ('pre_value', 'value') and char in newline:
            push()
            state = 'pre_key'
        elif state == 'pre_value':
            if char in opening:
                state = opening[char]
            elif char not in whitespace:
                state = 'value'
                value.append(char)
        elif state == 'value':
            if char == '\\':
                state, last_value_ws = 'value_escape', None
            else:
                last_value_ws = _keep(value, char, last_value_ws)
        elif state == 'value_escape':
            state = 'value'
            if char not in newline:
                value.append(char)
        elif state in ('single', 'double') and char == {'single': "'", 'double': '"'}[state]:
            state = 'pre_value'
        elif state == 'single':
            value.append(char)
        elif state == 'double':
            if char == '\\':
                state = 'double_escape'
            else:
                value.append(char)
        elif state == 'double_escape':
            state = 'double'
            if char in '"\\`$':
                value.append(char)
            elif char != '\n':
                value.extend(['\\', char])
        elif state == 'comment':
            if char == '\\':
                state = 'comment_escape'
            elif char in newline:
                state = 'pre_key'
        elif state == 'comment_escape':
            state = 'pre_key' if char in newline else 'comment'
    if state in ('pre_value', 'value', 'value_escape', 'single', 'double', 'double_escape'):
        push()
    return out


def with_environment_file(content, path):
    """The drop-in content with EnvironmentFile= added to its [Service] section."""
    line = 'EnvironmentFile=%s\n' % path
    if content and not content.endswith('\n'):
        content += '\n'
    sections = re.findall(r'^\s*\[([^\]]+)\]', content, re.M)
    if not sections or sections[-1] != 'Service':
        # A second [Service] header continues the same section (systemd.syntax(7)).
        line = '[Service]\n' + line
    return content + line
