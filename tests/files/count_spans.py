# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Count the spans per service.name in an OpenTelemetry Collector file exporter output.

The file exporter writes one JSON ExportTraceServiceRequest per line. Prints one line
"<service> <spans>" per service, sorted, for the services named on the command line
(0 when absent) or for all of them. With --name NAME only spans of that name count, and
each line gets three more numbers: the distinct values of the span attribute e2e.seq,
the highest one, and how many below the highest are missing (the apps number their spans
from 1, so 0 missing means nothing between was lost). With --by-run (after --name) the
counts are per run of a service, told apart by the resource attribute e2e.run, and each
line starts "<service> <run>". With --last-end SERVICE PATH it prints the end time (Unix seconds)
of the newest span of SERVICE instead. Runs on the test hosts' own python3.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import sys


def attribute(attributes, key):
    for item in attributes or []:
        if item.get('key') == key:
            value = item.get('value', {})
            return value.get('stringValue', value.get('intValue'))
    return None


def spans_of(path):
    """Each (resource attributes, span) in the file exporter output at ``path``."""
    with open(path) as handle:
        for line in handle:
            # The collector may be writing the last line right now: a line counts once it ends
            # with its newline (the next read sees it whole). A whole line that is not JSON fails.
            if not line.endswith('\n'):
                continue
            line = line.strip()
            if not line:
                continue
            for resource_spans in json.loads(line).get('resourceSpans', []):
                resource = resource_spans.get('resource', {}).get('attributes')
                for scope_spans in resource_spans.get('scopeSpans', []):
                    for span in scope_spans.get('spans', []):
                        yield resource, span


def count(path, name=None, by_run=False):
    spans = collections.Counter()
    seqs = collections.defaultdict(set)
    for resource, span in spans_of(path):
        service = attribute(resource, 'service.name') or 'unknown'
        if by_run:
            service = '%s %s' % (service, attribute(resource, 'e2e.run') or 'unknown')
        if name and span.get('name') != name:
            continue
        spans[service] += 1
        seq = attribute(span.get('attributes'), 'e2e.seq')
        if seq is not None:
            seqs[service].add(int(seq))
    return spans, seqs


def last_end(path, service):
    """End time (Unix seconds) of the newest span of ``service`` (0 when none)."""
    ends = [int(span.get('endTimeUnixNano', 0)) for resource, span in spans_of(path)
            if attribute(resource, 'service.name') == service]
    return max(ends or [0]) / 1e9


def main():
    args = sys.argv[1:]
    if args[:1] == ['--last-end']:
        print(last_end(args[2], args[1]))
        return
    name, by_run = None, False
    if args[:1] == ['--name']:
        name, args = args[1], args[2:]
    if args[:1] == ['--by-run']:
        by_run, args = True, args[1:]
    path, services = args[0], args[1:]
    spans, seqs = count(path, name, by_run)
    for service in sorted(services or spans):
        if name:
            highest = max(seqs[service] or [0])
            print('%s %d %d %d %d' % (service, spans.get(service, 0), len(seqs[service]), highest,
                                      highest - len(seqs[service])))
        else:
            print('%s %d' % (service, spans.get(service, 0)))


if __name__ == '__main__':
    main()
