#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: service_ready
short_description: Wait until a systemd service is active and accepts TCP connections on its ports
description:
  - After a start, restart or reload, waits until the unit O(name) is C(active) and every endpoint of O(endpoints)
    accepts a TCP connection, and fails when that does not happen within O(timeout) seconds.
  - Fails at once when the unit is C(failed), or is C(inactive) after O(grace) seconds (it stopped rather than
    starting), so a collector that exits on a bad certificate or a taken port is reported in seconds, not after the
    timeout.
  - One call does what a C(wait_for) per port and a C(systemctl is-active) would do in several.
version_added: 0.3.0
attributes:
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Changes nothing, and waits in check mode too (skip it there when nothing was started).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
requirements:
  - systemd (C(systemctl)) on the host
options:
  name:
    description: The systemd unit (with or without C(.service)).
    type: str
    required: true
  endpoints:
    description:
      - C(host:port) endpoints that must accept a connection; an empty host or C(0.0.0.0) is checked on
        C(127.0.0.1), C(::) on C(::1). IPv6 addresses go in brackets (C([::1]:4317)).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait in all.
    type: int
    default: 30
  grace:
    description: Seconds during which an C(inactive) unit counts as not started yet.
    type: int
    default: 5
author:
  - otlp.tls maintainers (@otlp-tls)
'''

EXAMPLES = r'''
- name: Wait for the collector's receivers
  otlp.tls.service_ready:
    name: otelcol
    endpoints: ['0.0.0.0:4317', '0.0.0.0:4318']
'''

RETURN = r'''
active_state:
  description: The unit's state when the module finished.
  returned: always
  type: str
  sample: active
waited:
  description: Seconds waited.
  returned: always
  type: float
  sample: 0.4
'''

import socket
import time

from ansible_collections.otlp.tls.plugins.module_utils.common import ModuleFailure, run_module

POLL = 0.25


def parse_endpoint(endpoint):
    """(host, port) to connect to for a listen address ``endpoint``; ValueError names what is wrong."""
    host, sep, port = endpoint.rpartition(':')
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError('%r is not host:port' % endpoint)
    host = host[1:-1] if host.startswith('[') and host.endswith(']') else host
    host = {'': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1'}.get(host, host)
    return host, int(port)


def accepts(host, port, timeout=1.0):
    """Whether a TCP connection to host:port succeeds."""
    try:
        conn = socket.create_connection((host, port), timeout=timeout)
    except (OSError, socket.error):
        return False
    conn.close()
    return True


def unit_state(module, systemctl, name):
    _rc, out, _err = module.run_command([systemctl, 'show', '-p', 'ActiveState', '--value', '--', name])
    return out.strip() or 'unknown'


def wait(module, clock=time.monotonic, sleep=time.sleep):
    params = module.params
    name = params['name'] if '.' in params['name'] else params['name'] + '.service'
    try:
        targets = [parse_endpoint(e) for e in params['endpoints']]
    except ValueError as exc:
        raise ModuleFailure('%s: endpoints are host:port, [IPv6]:port or :port.' % exc)
    systemctl = module.get_bin_path('systemctl', required=True)
    start = clock()
    while True:
        state = unit_state(module, systemctl, name)
        waited = clock() - start
        if state == 'failed' or (state == 'inactive' and waited >= params['grace']):
            raise ModuleFailure(
                '%s is %s: it stopped instead of serving. See `journalctl -u %s` on the host for why (a certificate '
                'it can not read, a port another program holds, a config the binary refuses).' % (name, state, name),
                active_state=state, waited=round(waited, 2))
        closed = ['%s:%d' % t for t in targets if not accepts(t[0], t[1])] if state == 'active' else []
        if state == 'active' and not closed:
            return dict(changed=False, active_state=state, waited=round(waited, 2))
        if waited >= params['timeout']:
            raise ModuleFailure(
                '%s did not get ready within %d seconds: %s. See `journalctl -u %s` on the host.' % (
                    name, params['timeout'], 'it is %s' % state if state != 'active'
                    else 'nothing accepts connections on ' + ', '.join(closed), name),
                active_state=state, waited=round(waited, 2))
        sleep(POLL)


def main():
    run_module(dict(
        name=dict(type='str', required=True),
        endpoints=dict(type='list', elements='str', default=[]),
        timeout=dict(type='int', default=30),
        grace=dict(type='int', default=5),
    ), wait, needs_cryptography=False)


if __name__ == '__main__':
    main()
