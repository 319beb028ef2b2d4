# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""service_ready against real sockets on loopback, with systemctl replaced by a script that prints a state file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import threading
import time

import pytest

from ansible_collections.otlp.tls.plugins.modules.service_ready import parse_endpoint

from .conftest import fake_systemctl
from .test_modules import run_module


@pytest.fixture
def state(tmp_path, monkeypatch):
    """The unit's ActiveState, as the fake systemctl prints it: write to change it."""
    path = tmp_path / 'state'
    path.write_text('active\n')
    fake_systemctl(tmp_path, monkeypatch, '#!/bin/sh\ncat %s\n' % path)
    return path


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_ready_when_active_and_every_endpoint_accepts(state, listener):
    result = run_module('service_ready', dict(name='otelcol', endpoints=['0.0.0.0:%d' % listener, ':%d' % listener]))
    assert not result.get('failed'), result
    assert result['active_state'] == 'active' and not result['changed'] and result['waited'] < 5


def test_a_failed_unit_fails_at_once_and_says_where_to_look(state, listener):
    state.write_text('failed\n')
    start = time.monotonic()
    result = run_module('service_ready', dict(name='otelcol', endpoints=['127.0.0.1:%d' % listener], timeout=20))
    assert result['failed'] and time.monotonic() - start < 10
    assert 'otelcol.service is failed' in result['msg'] and 'journalctl -u otelcol.service' in result['msg']


def test_an_inactive_unit_counts_as_starting_for_the_grace_only(state, listener):
    state.write_text('inactive\n')
    result = run_module('service_ready', dict(name='otelcol', endpoints=['127.0.0.1:%d' % listener], grace=1))
    assert result['failed'] and 'is inactive' in result['msg'] and result['waited'] >= 1


def test_a_closed_port_times_out_naming_it(state, listener):
    closed = free_port()
    result = run_module('service_ready', dict(name='otelcol', timeout=1,
                                              endpoints=['127.0.0.1:%d' % listener, '127.0.0.1:%d' % closed]))
    assert result['failed'] and result['active_state'] == 'active'
    assert 'nothing accepts connections on 127.0.0.1:%d.' % closed in result['msg']
    assert '127.0.0.1:%d,' % listener not in result['msg']


def test_waits_for_a_unit_that_is_still_activating(state, tmp_path):
    state.write_text('activating\n')
    port = free_port()
    sock = socket.socket()

    def come_up():
        time.sleep(1)
        sock.bind(('127.0.0.1', port))
        sock.listen(8)
        state.write_text('active\n')

    thread = threading.Thread(target=come_up)
    thread.start()
    try:
        result = run_module('service_ready', dict(name='otelcol.service', endpoints=['127.0.0.1:%d' % port], timeout=15))
    finally:
        thread.join()
        sock.close()
    assert not result.get('failed'), result
    # Success means it waited: the port only listens once the unit is active. No lower bound on
    # the seconds, as the module may start late on a loaded machine.
    assert result['active_state'] == 'active' and result['waited'] > 0


def test_a_malformed_endpoint_is_named(state):
    result = run_module('service_ready', dict(name='otelcol', endpoints=['collector']))
    assert result['failed'] and "'collector' is not host:port" in result['msg']


@pytest.mark.parametrize('endpoint, expected', [
    ('0.0.0.0:4317', ('127.0.0.1', 4317)), (':4318', ('127.0.0.1', 4318)), ('[::]:4317', ('::1', 4317)),
    ('[::1]:4317', ('::1', 4317)), ('collector.example:4317', ('collector.example', 4317)),
])
def test_listen_addresses_map_to_where_to_connect(endpoint, expected):
    assert parse_endpoint(endpoint) == expected


@pytest.mark.parametrize('endpoint', ['4317', 'host:', 'host:0', 'host:70000', 'host:http'])
def test_bad_endpoints_are_refused(endpoint):
    with pytest.raises(ValueError):
        parse_endpoint(endpoint)
