# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sent, received and lost spans of the zero-loss tests (test_rotation.py, test_revocation.py).

account() is what they call; by hand: python rotation_count.py SENT_DIR RECEIVED_DIR
SENT_DIR: one file per app host, lines "<service> <run> <sent>" (from the units' journals:
each start of a unit is a run, identified by systemd's invocation id, and prints
"e2e: sent N spans" when stopped). RECEIVED_DIR: one file per collector, lines
"<service> <run> <spans> <distinct> <highest> <missing>" (count_spans.py --by-run).
A span counts as received when its e2e.seq arrived at least once. Prints a table per
service and the totals; exit 1 when anything was lost or a run is unaccounted for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import glob
import os
import sys


def read(directory, width):
    rows = []
    for path in sorted(glob.glob(os.path.join(directory, '*'))):
        with open(path) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == width:
                    rows.append(parts)
    return rows


def account(sent_rows, received_rows, runs=None):
    """(table text, problems): sent rows (service, run, sent), received rows (service, run, spans,
    distinct, highest, missing). Lost spans, a run whose highest seq is above what it says it sent,
    and spans from a run that never reported what it sent are problems. With ``runs`` (a set of
    run ids) only those runs count, on both sides: the runs a test started itself (a collector
    config reload re-creates the file exporter, which empties its file, so runs from before
    another test's reload can not be accounted for any more)."""
    if runs is not None:
        sent_rows = [row for row in sent_rows if row[1] in runs]
        received_rows = [row for row in received_rows if row[1] in runs]
    sent = {(s, r): int(n) for s, r, n in sent_rows}
    received = {(s, r): (int(distinct), int(highest)) for s, r, _spans, distinct, highest, _missing in received_rows}
    per_service = collections.defaultdict(lambda: [0, 0, 0, 0])
    problems = []
    for key, count in sorted(sent.items()):
        distinct, highest = received.get(key, (0, 0))
        if highest > count:
            problems.append('%s run %s: received seq %d but the app says it sent %d' % (key[0], key[1], highest, count))
        got = min(distinct, count)
        row = per_service[key[0]]
        row[0] += 1
        row[1] += count
        row[2] += got
        row[3] += count - got
    for key in sorted(set(received) - set(sent)):
        if key[1] != 'unknown':
            problems.append('%s run %s: spans arrived from a run that never reported what it sent' % key)
    lines = ['%-22s %5s %8s %9s %6s' % ('service', 'runs', 'sent', 'received', 'lost')]
    totals = [0, 0, 0, 0]
    for service in sorted(per_service):
        row = per_service[service]
        lines.append('%-22s %5d %8d %9d %6d' % ((service,) + tuple(row)))
        totals = [a + b for a, b in zip(totals, row)]
    lines.append('%-22s %5d %8d %9d %6d' % (('TOTAL',) + tuple(totals)))
    if totals[1] == 0:
        problems.append('no spans were sent at all')
    if totals[3]:
        problems.append('%d spans were lost' % totals[3])
    lines += ['PROBLEM: ' + problem for problem in problems]
    return '\n'.join(lines), problems


def main():
    table, problems = account(read(sys.argv[1], 3), read(sys.argv[2], 6))
    print(table)
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
