# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Count the spans per service.name in an OpenTelemetry Collector file exporter output.

The file exporter writes one JSON ExportTraceServiceRequest per line. Prints one line
"<service> <spans>" per service, sorted, for the services named on the command line
(0 when absent) or for all of them. Runs on the test hosts' own python3.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import json
import sys


def count(path):
    spans = collections.Counter()
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            for resource_spans in json.loads(line).get('resourceSpans', []):
                attributes = resource_spans.get('resource', {}).get('attributes', [])
                service = next((a['value'].get('stringValue') for a in attributes if a.get('key') == 'service.name'),
                               'unknown')
                for scope_spans in resource_spans.get('scopeSpans', []):
                    spans[service] += len(scope_spans.get('spans', []))
    return spans


def main():
    spans = count(sys.argv[1])
    for service in sorted(sys.argv[2:] or spans):
        print('%s %d' % (service, spans.get(service, 0)))


if __name__ == '__main__':
    main()
