# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn the e2e results into the README's matrix, and fail unless every cell passed.

Usage: python matrix.py RESULTS_DIR [README]. RESULTS_DIR holds one JSON list per
collector of "service spans distinct_seq max_seq" lines (tests/files/count_spans.py).
Prints the matrix; with README, replaces the text between the e2e-matrix markers.
Exit 1 when an app's 20 numbered spans did not all arrive or a refused client got through.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import sys

LANGUAGES = [('python', 'Python (opentelemetry-sdk)'), ('go', 'Go (otel SDK, autoexport)'),
             ('java', 'Java (javaagent)'), ('nodejs', 'Node.js (sdk-node)')]
COLUMNS = [('grpc', 'mtls'), ('http', 'mtls'), ('grpc', 'tls'), ('http', 'tls')]
NEGATIVES = [('neg-no-certificate', 'no client certificate'), ('neg-other-ca', 'certificate from another CA'),
             ('neg-expired', 'expired certificate from the fleet CA')]
EXPECTED = 20


def load(results_dir):
    seen = {}
    for path in glob.glob(os.path.join(results_dir, '*.json')):
        with open(path) as handle:
            for line in json.load(handle):
                service, spans, distinct, highest = line.split()[:4]
                seen[service] = (int(spans), int(distinct), int(highest))
    return seen


def render(seen, languages):
    ok = True
    lines = ['| SDK | gRPC, mTLS | HTTP/protobuf, mTLS | gRPC, TLS | HTTP/protobuf, TLS |', '|---|---|---|---|---|']
    for language, title in LANGUAGES:
        if language not in languages:
            continue
        cells = []
        for protocol, mode in COLUMNS:
            spans, distinct, _highest = seen.get('%s-%s-%s' % (language, protocol, mode), (0, 0, 0))
            passed = distinct == EXPECTED
            ok &= passed
            cells.append('pass (%d/%d spans)' % (distinct, EXPECTED) if passed else 'FAIL (%d/%d)' % (distinct, EXPECTED))
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
    results_dir = sys.argv[1]
    languages = (os.environ.get('E2E_LANGUAGES') or 'python go java nodejs').split()
    table, ok = render(load(results_dir), languages)
    print(table)
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as handle:
            readme = handle.read()
        readme = re.sub(r'(<!-- e2e-matrix:start -->\n).*?(\n<!-- e2e-matrix:end -->)',
                        lambda m: m.group(1) + table + m.group(2), readme, flags=re.S)
        with open(sys.argv[2], 'w') as handle:
            handle.write(readme)
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
