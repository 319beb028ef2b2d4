# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which SDK runs on which Debian release's own runtime, measured: the README's support table.

For every app host (Debian 11, 12 and 13) and language, the host's own runtime version (python3,
nodejs, java; Go apps are static binaries) is compared with what the app bundle the tests deploy
requires: the Python SDK's Requires-Python, the Node.js SDK's engines range, the class file
version of the Java app and agent, a Go binary without an ELF interpreter. A language must run
exactly where vars.yml's e2e_runtime_unsupported says it does; the matrix (test_matrix.py) then
proves the ones that run by their spans. The findings go to .tmp/e2e/results/runtimes.json. Each host's python3-cryptography must also
be one of the versions the unit tests run against (tests/matrix/cryptography.txt).
"""

from __future__ import absolute_import, division, print_function

import glob
import json
import os
import re
import struct
import zipfile

import pytest

import fleetlib

HOST_LANGUAGES = [(host, language) for host in fleetlib.APPS for language in fleetlib.languages()]
PROBE = r'''python3 -c 'import sys; print("python %d.%d.%d" % sys.version_info[:3])'
if command -v node >/dev/null; then echo "nodejs $(node --version | tr -d v)"; else echo "nodejs none"; fi
if command -v java >/dev/null; then echo "java $(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
else echo "java none"; fi
echo "glibc $(getconf GNU_LIBC_VERSION | cut -d' ' -f2)"
echo "systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')"
python3 -c 'import cryptography; print("cryptography " + cryptography.__version__)'
echo "openssl $(openssl version | cut -d' ' -f2)"
'''


def version(text):
    return tuple(int(part) for part in re.findall(r'\d+', text)[:3])


def python_requires(bundle):
    """The Python SDK's Requires-Python (e.g. '>=3.10') from the bundle's wheel metadata."""
    for path in glob.glob(os.path.join(bundle, 'site-packages', 'opentelemetry_sdk-*.dist-info', 'METADATA')):
        with open(path) as handle:
            for line in handle:
                if line.startswith('Requires-Python:'):
                    return line.split(':', 1)[1].strip()
    raise AssertionError('no opentelemetry_sdk metadata in %s' % bundle)


def python_ok(requires, found):
    from packaging.specifiers import SpecifierSet
    return '%d.%d.%d' % found in SpecifierSet(requires)


def node_engines(bundle):
    with open(os.path.join(bundle, 'node_modules', '@opentelemetry', 'sdk-node', 'package.json')) as handle:
        return json.load(handle)['engines']['node']


def node_ok(engines, found):
    """npm's range syntax as the SDK uses it: alternatives of '^x.y.z' and '>=x.y.z'."""
    for alternative in engines.split('||'):
        alternative = alternative.strip()
        low = version(alternative)
        if alternative.startswith('^') and found[0] == low[0] and found >= low:
            return True
        if alternative.startswith('>=') and found >= low:
            return True
    return False


def class_major(data):
    magic, _minor, major = struct.unpack('>IHH', data[:8])
    assert magic == 0xCAFEBABE, 'not a class file'
    return major - 44  # class file 55 is Java 11


def java_needs(bundle):
    """The newest Java release any class of the app or of the agent's entry point was built for."""
    needs = {}
    with zipfile.ZipFile(os.path.join(bundle, 'app.jar')) as jar:
        needs['app'] = max(class_major(jar.read(name)) for name in jar.namelist() if name.endswith('.class'))
    with zipfile.ZipFile(os.path.join(bundle, 'opentelemetry-javaagent.jar')) as jar:
        main = jar.read('META-INF/MANIFEST.MF').decode()
        entry = re.search(r'^Premain-Class: (\S+)', main, re.M).group(1)
        needs['agent'] = class_major(jar.read(entry.replace('.', '/') + '.class'))
    return needs


def go_static(bundle):
    """True when the Go app's ELF binary has no program interpreter (needs no libc)."""
    path = os.path.join(bundle, 'e2e-go')
    with open(path, 'rb') as handle:
        data = handle.read()
    assert data[:4] == b'\x7fELF' and data[4] == 2, '%s: not a 64-bit ELF file' % path
    phoff, = struct.unpack('<Q', data[32:40])
    phentsize, phnum = struct.unpack('<HH', data[54:58])
    types = [struct.unpack('<I', data[phoff + i * phentsize:phoff + i * phentsize + 4])[0] for i in range(phnum)]
    return 3 not in types  # PT_INTERP


@pytest.fixture(scope='module')
def runtimes(fleet):
    builds = fleet.state()['builds']
    found = {}
    for host in fleet.apps:
        rows = dict(line.split(' ', 1) for line in fleet.sh(host, PROBE).splitlines() if ' ' in line)
        found[host] = {'release': fleetlib.release(host), 'runtimes': rows}
    result = {'hosts': found, 'needs': {}}
    if 'python' in builds:
        result['needs']['python'] = python_requires(builds['python'])
    if 'nodejs' in builds:
        result['needs']['nodejs'] = node_engines(builds['nodejs'])
    if 'java' in builds:
        result['needs']['java'] = java_needs(builds['java'])
    if 'go' in builds:
        result['needs']['go'] = 'static' if go_static(builds['go']) else 'dynamic'
    os.makedirs(os.path.join(fleet.work, 'results'), exist_ok=True)
    with open(os.path.join(fleet.work, 'results', 'runtimes.json'), 'w') as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
    return result


def runs(runtimes, host, language):
    """Whether the bundle's SDK can run on the host's own runtime; and what was compared."""
    have = runtimes['hosts'][host]['runtimes']
    needs = runtimes['needs'][language]
    if language == 'python':
        return python_ok(needs, version(have['python'])), 'python3 %s, SDK needs %s' % (have['python'], needs)
    if language == 'nodejs':
        if have['nodejs'] == 'none':
            return False, 'no nodejs'
        return node_ok(needs, version(have['nodejs'])), 'nodejs %s, SDK needs %s' % (have['nodejs'], needs)
    if language == 'java':
        if have['java'] == 'none':
            return False, 'no java'
        major = version(have['java'])[0]
        return major >= max(needs.values()), 'java %s, app and agent need %s' % (have['java'], needs)
    return needs == 'static', 'Go app: %s binary, host glibc %s' % (needs, have['glibc'])


@pytest.mark.parametrize('host,language', HOST_LANGUAGES)
def test_runtime_support_is_what_vars_yml_says(runtimes, host, language):
    """The SDK runs on the host's runtime exactly when vars.yml does not list it as unsupported."""
    expected = language in fleetlib.host_languages(host)
    ok, why = runs(runtimes, host, language)
    assert ok == expected, '%s (%s) %s: %s, but vars.yml says it %s' % (
        host, fleetlib.release(host), language, why, 'runs' if expected else 'does not run')


@pytest.mark.parametrize('host', fleetlib.APPS)
def test_host_cryptography_is_in_the_matrix(runtimes, host):
    """The release's own python3-cryptography is a version `make matrix` runs the module tests on."""
    with open(os.path.join(fleetlib.ROOT, 'tests', 'matrix', 'cryptography.txt')) as handle:
        table = [line.split()[0] for line in handle if line.strip() and not line.startswith('#')]
    found = runtimes['hosts'][host]['runtimes']['cryptography']
    assert found in table, '%s (%s) has python3-cryptography %s, which tests/matrix/cryptography.txt lacks (%s)' % (
        host, fleetlib.release(host), found, ', '.join(table))
