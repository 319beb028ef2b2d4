# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Spans in a collector's file exporter output, read on the collector host with its python3.

    python3 - /var/lib/otelcol/traces.json SERVICE < span_tools.py   # the newest span's end, Unix s

Fleet.run_script (tests/e2e/fleetlib.py) runs this file that way; the tests call last_end().
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys


def resource_attributes(resource_spans):
    return {item['key']: item['value'].get('stringValue')
            for item in resource_spans.get('resource', {}).get('attributes', [])}


def last_end(path, service):
    """End time (Unix seconds) of the newest span of ``service`` in ``path`` (0 when none)."""
    last = 0
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            for resource_spans in json.loads(line).get('resourceSpans', []):
                if resource_attributes(resource_spans).get('service.name') != service:
                    continue
                for scope_spans in resource_spans.get('scopeSpans', []):
                    for span in scope_spans.get('spans', []):
                        last = max(last, int(span.get('endTimeUnixNano', 0)))
    return last / 1e9


if __name__ == '__main__':
    print(last_end(sys.argv[1], sys.argv[2]))
