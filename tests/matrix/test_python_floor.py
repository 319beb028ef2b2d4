"""Host-side code parses and runs on Python 3.8, the oldest target ansible-core 2.19 supports.

Modules and module_utils run on the managed hosts' own Python (3.9 on Debian 11, 3.8 on
older targets), while the tests run on the controller's. vermin reads every file and names
the first construct or standard-library use that needs a newer Python.
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST_SIDE = ['plugins/modules', 'plugins/module_utils']
FLOOR = '3.8'


def vermin(*args):
    # vermin has no __main__; its script sits beside this interpreter (the test venv's).
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), 'vermin'), *args], cwd=ROOT,
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize('directory', HOST_SIDE)
def test_host_side_code_needs_no_newer_python_than_the_floor(directory):
    result = vermin('--no-tips', '--eval-annotations', '--backport', 'typing',
                    '-t=%s-' % FLOOR, '--violations', directory)
    assert result.returncode == 0, (
        'code in %s needs a Python newer than %s (a managed host may run %s):\n%s%s'
        % (directory, FLOOR, FLOOR, result.stdout, result.stderr))


def test_the_check_can_fail(tmp_path):
    """vermin really refuses what 3.8 can not run, so a pass above means something."""
    newer = tmp_path / 'newer.py'
    newer.write_text('def f(x):\n    match x:\n        case 1:\n            return "a".removeprefix("b")\n')
    result = vermin('--no-tips', '-t=%s-' % FLOOR, '--violations', str(newer))
    assert result.returncode != 0, result.stdout
    assert 'removeprefix' in result.stdout and 'pattern matching' in result.stdout, result.stdout + result.stderr
