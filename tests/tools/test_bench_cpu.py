# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/bench/bench.py: the CPU each measured run cost the controller and the machine, and its figures per host."""

from __future__ import absolute_import, division, print_function

import io
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BENCH = os.path.join(ROOT, 'tests', 'bench', 'bench.py')
sys.path.insert(0, os.path.dirname(BENCH))
import bench  # noqa: E402  pylint: disable=wrong-import-position

# About 0.4 s of CPU in a grandchild (waited for by its parent, as a worker's podman exec is).
SPIN = ('import subprocess, sys; subprocess.run([sys.executable, "-c", '
        '"import time\\nend = time.process_time() + 0.4\\nwhile time.process_time() < end: pass"], check=True); '
        'sys.exit(3)')


def test_the_cpu_of_everything_the_command_waited_for_is_counted_and_its_exit_status_kept(tmp_path):
    out = tmp_path / 'run.cpu'
    proc = subprocess.run([sys.executable, BENCH, 'cpu', str(out), sys.executable, '-c', SPIN], check=False)
    assert proc.returncode == 3
    found = json.loads(out.read_text())
    assert 0.35 <= found['controller_cpu_s'] < 2.0, found
    # The machine's count holds the controller's (and whatever else ran meanwhile).
    assert found['machine_cpu_s'] >= found['controller_cpu_s'] * 0.8, found


def measure(name, size, seconds, controller, machine):
    hosts = size + 1 if name.startswith('tt_') else size
    return dict(kind='measure', name=name, size=size, hosts=hosts, run=1, seconds=seconds, changed=1,
                controller_cpu_s=controller, machine_cpu_s=machine)


def test_cpu_per_host_and_its_growth_from_the_smallest_fleet_to_the_largest():
    lines = [measure('ours_first', 10, 20.0, 10.0, 30.0), measure('ours_first', 25, 40.0, 20.0, 70.0),
             measure('tt_first', 10, 77.0, 22.0, 110.0), measure('tt_first', 25, 208.0, 52.0, 286.0)]
    result = bench.summarize(lines)
    small, large = result['sizes']
    assert small['rows']['ours_first']['controller_cpu_per_host'] == 1.0
    assert large['rows']['tt_first']['controller_cpu_per_host'] == 2.0
    growth = result['per_host_growth']
    assert growth['controller_cpu_per_host'] == {'ours_first': 0.8, 'tt_first': 1.0}
    assert growth['machine_cpu_per_host'] == {'ours_first': 0.93, 'tt_first': 1.1}
    printed = io.StringIO()
    bench.print_tables(result, printed)
    text = printed.getvalue()
    assert 'Controller CPU per host at N=25 over N=10: ours_first 0.80, tt_first 1.00' in text
    assert '| two tiers: site.yml first converge |    2.00 |    2.00 |' in text


def test_runs_without_cpu_figures_still_report():
    result = bench.summarize([measure('ours_first', 10, 20.0, None, None), measure('ours_first', 25, 40.0, None, None)])
    assert 'controller_cpu_per_host' not in result['per_host_growth']
    printed = io.StringIO()
    bench.print_tables(result, printed)
    assert 'Controller CPU' not in printed.getvalue()
