# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in its venvs.

ansible-test fetches get-pip.py from a host outside the package registries, which
this project's machines cannot reach. It first looks for a cached copy, so
tests/sanity/run.sh installs this file there. It does what get-pip.py does,
with what every machine has: pip from Python's bundled ensurepip wheel, then
the requested packages (pip==X, setuptools, ...) from the package index that
pip is configured to use.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ensurepip
import os
import subprocess
import sys


def main():
    # ensurepip hides pip's configuration (PIP_CONFIG_FILE=/dev/null) in this
    # process; the install below must see the machine's index and certificates.
    environment = dict(os.environ)
    ensurepip.bootstrap(upgrade=True, default_pip=True)
    # get-pip.py's own switches; plain pip does not know them.
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args, env=environment))


if __name__ == '__main__':
    main()
