# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The certificate metrics in an OpenTelemetry Collector file exporter output.

The file exporter writes one JSON ExportMetricsServiceRequest per line. For every data point of
tlscheck.time_left this reads the resource attributes the collector role adds (otlp_tls.host,
otlp_tls.entry, otlp_tls.role, otlp_tls.renew_before) and tlscheck.target. As a script it prints one
line per host and entry, the newest point: "<host> <entry> <role> <renew_before or -> <seconds left>
<time, Unix seconds> <points>", sorted. With --since T only points at or after Unix time T count.
Runs on the test hosts' own python3 (Python 3.5 and later) and is imported by the e2e tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys

METRIC = 'tlscheck.time_left'


def _attributes(items):
    out = {}
    for item in items or []:
        value = item.get('value', {})
        for kind in ('stringValue', 'intValue', 'boolValue', 'doubleValue'):
            if kind in value:
                out[item.get('key')] = value[kind]
    return out


def points(lines):
    """Every tlscheck.time_left point: dicts with host, entry, role, renew_before, target, value, time."""
    out = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError:
            continue  # a line the exporter is still writing
        for resource in request.get('resourceMetrics') or []:
            attributes = _attributes((resource.get('resource') or {}).get('attributes'))
            for scope in resource.get('scopeMetrics') or []:
                for metric in scope.get('metrics') or []:
                    if metric.get('name') != METRIC:
                        continue
                    for point in (metric.get('gauge') or {}).get('dataPoints') or []:
                        value = point.get('asInt', point.get('asDouble'))
                        out.append({'host': attributes.get('otlp_tls.host'), 'entry': attributes.get('otlp_tls.entry'),
                                    'role': attributes.get('otlp_tls.role'),
                                    'renew_before': attributes.get('otlp_tls.renew_before'),
                                    'target': attributes.get('tlscheck.target'), 'value': int(float(value)),
                                    'time': int(point.get('timeUnixNano', 0)) / 1e9,
                                    'cn': _attributes(point.get('attributes')).get('tlscheck.x509.cn')})
    return out


def newest(found, since=0):
    """(host, entry) -> the newest point at or after ``since``, with ``points``, how many there were."""
    out = {}
    for point in found:
        if point['time'] < since:
            continue
        key = (point['host'], point['entry'])
        count = out.get(key, {}).get('points', 0) + 1
        if key not in out or point['time'] >= out[key]['time']:
            out[key] = dict(point)
        out[key]['points'] = count
    return out


def main(argv):
    since = 0
    if len(argv) > 2 and argv[1] == '--since':
        since = float(argv[2])
        argv = argv[:1] + argv[3:]
    with open(argv[1]) as handle:
        latest = newest(points(handle), since)
    for key in sorted(latest, key=lambda k: (str(k[0]), str(k[1]))):
        point = latest[key]
        print('%s %s %s %s %d %d %d' % (point['host'], point['entry'], point['role'], point['renew_before'] or '-',
                                        point['value'], point['time'], point['points']))


if __name__ == '__main__':
    main(sys.argv)
