# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The zero-loss accounting of the e2e tests (tests/e2e/fleetlib.py, rotation_count.py): a run's
"sent" line belongs to the run its own process announced, whatever id journald stamped on it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'e2e'))

import fleetlib  # noqa: E402  pylint: disable=wrong-import-position
import rotation_count  # noqa: E402  pylint: disable=wrong-import-position

RUN3 = '3' * 32
RUN4 = '4' * 32


def entry(when, message, pid, invocation, unit='e2e-go.service'):
    return {'__REALTIME_TIMESTAMP': str(when * 1000000), 'MESSAGE': message, '_PID': pid,
            '_SYSTEMD_UNIT': unit, '_SYSTEMD_INVOCATION_ID': invocation}


def restart_read_late():
    """Run 3 (PID 100) ends while the unit restarts; journald reads run 3's last line after run 4
    began and stamps it with run 4's id. Run 4 (PID 200) reports normally."""
    return {'app-grpc-tls': [
        entry(10, 'e2e: run ' + RUN3, '100', RUN3),
        entry(20, 'e2e: sent 40 spans', '100', RUN4),
        entry(20, 'e2e: run ' + RUN4, '200', RUN4),
        entry(30, 'e2e: sent 25 spans', '200', RUN4),
    ]}


def test_sent_line_read_after_a_restart_stays_with_its_own_run():
    rows, runs = fleetlib.sent_rows(restart_read_late())
    assert sorted(rows) == [('go-grpc-tls', RUN3, '40'), ('go-grpc-tls', RUN4, '25')]
    assert runs == {RUN3, RUN4}
    received = [('go-grpc-tls', RUN3, '40', '40', '40', '0'), ('go-grpc-tls', RUN4, '25', '25', '25', '0')]
    _table, problems = rotation_count.account(rows, received, runs=runs)
    assert problems == []


def test_journal_id_alone_loses_the_run_this_fixes():
    """What the accounting did before: the journal's id puts both lines on run 4, run 3 is unreported."""
    rows = [('go-grpc-tls', e['_SYSTEMD_INVOCATION_ID'], fleetlib.SENT.match(e['MESSAGE']).group(1))
            for e in restart_read_late()['app-grpc-tls'] if fleetlib.SENT.match(e['MESSAGE'])]
    received = [('go-grpc-tls', RUN3, '40', '40', '40', '0'), ('go-grpc-tls', RUN4, '25', '25', '25', '0')]
    _table, problems = rotation_count.account(rows, received)
    assert any('never reported what it sent' in problem for problem in problems)


def test_unannounced_process_falls_back_to_the_journal_id():
    rows, _runs = fleetlib.sent_rows({'app-http-mtls': [entry(5, 'e2e: sent 20 spans', '7', RUN3,
                                                              unit='e2e-python.service')]})
    assert rows == [('python-http-mtls', RUN3, '20')]


def test_runs_since_counts_only_runs_that_started_after():
    _rows, runs = fleetlib.sent_rows(restart_read_late(), since=15)
    assert runs == {RUN4}


def test_lost_span_is_a_problem():
    rows, runs = fleetlib.sent_rows(restart_read_late())
    received = [('go-grpc-tls', RUN3, '39', '39', '40', '1'), ('go-grpc-tls', RUN4, '25', '25', '25', '0')]
    _table, problems = rotation_count.account(rows, received, runs=runs)
    assert problems == ['1 spans were lost']
