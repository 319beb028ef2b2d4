# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The README's matrix from the e2e results, and the README writer.

tests/e2e/test_matrix.py writes .tmp/e2e/results/matrix.json ({service: [spans, distinct,
highest]}, spans of this run of each app); conftest.py prints the matrix at the end of the
session and, with --e2e-readme (tests/e2e/run.sh --readme), writes it between the
e2e-matrix markers of README.md. By hand: python matrix.py RESULTS_JSON [README]; exit 1
when a cell failed or a refused client got through.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import sys

import fleetlib

LANGUAGES = [('python', 'Python (opentelemetry-sdk)'), ('go', 'Go (otel SDK, autoexport)'),
             ('java', 'Java (javaagent)'), ('nodejs', 'Node.js (sdk-node)')]
COLUMNS = [('grpc', 'mtls'), ('http', 'mtls'), ('grpc', 'tls'), ('http', 'tls')]
# The Debian 11 app host (mTLS): the languages whose SDK runs on its own runtimes.
BULLSEYE = [('grpc', 'bullseye'), ('http', 'bullseye')]
NEGATIVES = [('neg-no-certificate', 'no client certificate'), ('neg-other-ca', 'certificate from another CA'),
             ('neg-expired', 'expired certificate from the fleet CA')]
EXPECTED = 20


def load(path):
    with open(path) as handle:
        return {service: tuple(counts) for service, counts in json.load(handle).items()}


def complete(seen, languages, unsupported=None):
    """Whether every cell of ``languages`` and every refused client has a result."""
    skip = (unsupported or {}).get('bullseye') or {}
    services = ['%s-%s-%s' % (language, protocol, mode) for language in languages for protocol, mode in COLUMNS]
    services += ['%s-%s-%s' % (language, protocol, host) for language in languages if language not in skip
                 for protocol, host in BULLSEYE]
    return all(service in seen for service in services + [name for name, _title in NEGATIVES])


def write_readme(table, readme):
    with open(readme) as handle:
        text = handle.read()
    text = re.sub(r'(<!-- e2e-matrix:start -->\n).*?(\n<!-- e2e-matrix:end -->)',
                  lambda m: m.group(1) + table + m.group(2), text, flags=re.S)
    with open(readme, 'w') as handle:
        handle.write(text)


def cell(seen, service):
    spans, distinct, _highest = seen.get(service, (0, 0, 0))
    passed = distinct == EXPECTED
    return passed, 'pass (%d/%d spans)' % (distinct, EXPECTED) if passed else 'FAIL (%d/%d)' % (distinct, EXPECTED)


def render(seen, languages, unsupported=None):
    """The README's tables; ``unsupported``: e2e_runtime_unsupported of vars.yml."""
    ok = True
    skip = (unsupported or {}).get('bullseye') or {}
    lines = ['| SDK | gRPC, mTLS (Debian 12) | HTTP/protobuf, mTLS (Debian 12) | gRPC, TLS (Debian 13) '
             '| HTTP/protobuf, TLS (Debian 13) | gRPC, mTLS (Debian 11) | HTTP/protobuf, mTLS (Debian 11) |',
             '|---|---|---|---|---|---|---|']
    for language, title in LANGUAGES:
        if language not in languages:
            continue
        cells = []
        for protocol, mode in COLUMNS:
            passed, text = cell(seen, '%s-%s-%s' % (language, protocol, mode))
            ok &= passed
            cells.append(text)
        for protocol, host in BULLSEYE:
            if language in skip:
                cells.append('not run: %s' % skip[language])
                continue
            passed, text = cell(seen, '%s-%s-%s' % (language, protocol, host))
            ok &= passed
            cells.append(text)
        lines.append('| %s | %s |' % (title, ' | '.join(cells)))
    lines.append('')
    lines.append('| refused by the mTLS collector (real Go SDK client) | spans recorded |')
    lines.append('|---|---|')
    for service, title in NEGATIVES:
        spans = seen.get(service, (0, 0, 0))[0]
        ok &= spans == 0
        lines.append('| %s | %d%s |' % (title, spans, '' if spans == 0 else ' FAIL'))
    return '\n'.join(lines), ok


def main():
    languages = fleetlib.languages()
    table, ok = render(load(sys.argv[1]), languages, fleetlib.unsupported())
    print(table)
    if len(sys.argv) > 2:
        write_readme(table, sys.argv[2])
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
