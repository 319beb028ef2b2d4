# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The e2e fleet, for the pytest modules of tests/e2e (fixtures in conftest.py).

The fleet ``otlp-e2e`` (E2E_FLEET) has two collectors (mTLS and server TLS only) and one app
host for each, running every language's real SDK app over gRPC and HTTP/protobuf. The hosts
mix Debian releases (RELEASES): app-tls runs trixie (13), app-bullseye a third app host on
bullseye (11, mTLS) with the languages whose SDK runs on that release's own runtime
(e2e_runtime_unsupported in vars.yml; tests/e2e/test_runtimes.py checks that list). Bash does
the set-up only: tests/hosts/fleet.sh (containers, network, inventory, ansible.cfg) and
tests/e2e/apps/*/build.sh (the app builds). Everything else is here:

- ``ensure_up``: bring the fleet up, or reuse it when .tmp/e2e/fleet.json says it is up and
  converged with the same containers, languages and app bundles; on a fresh fleet run
  prepare.yml, the check run that must write nothing, and site.yml, once.
- ``Fleet``: run a playbook (rc + output, log file), podman exec, snapshots of the managed
  files, modes and PIDs, fingerprints of the certificates, journals.
- ``ensure_default``: a module that moves the fleet to another CA (secrets, compromised host)
  or leaves it half-way (a failed module) marks it in fleet.json; the next module that needs
  the fleet on its own CA (.tmp/e2e/ca) converges it back first (a resumed CA rotation and
  site.yml), so the modules run in any order, alone or together.
"""

from __future__ import absolute_import, division, print_function

import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
FLEET = os.environ.get('E2E_FLEET', 'otlp-e2e')
WORK = os.path.join(ROOT, '.tmp', 'e2e')
CA_DIR = os.path.join(WORK, 'ca')
STATE = os.path.join(WORK, 'fleet.json')
COLLECTORS = ['collector-mtls', 'collector-tls']
APPS = ['app-mtls', 'app-tls', 'app-bullseye']
HOSTS = COLLECTORS + APPS
GROUPS = {'collector-mtls': 'otlp_collectors', 'collector-tls': 'otlp_collectors',
          'app-mtls': 'otlp_apps', 'app-tls': 'otlp_apps', 'app-bullseye': 'otlp_apps', 'backend': 'otlp_backend'}
# The two-tier stage (test_two_tier.py): the backend, a host no playbook of the collection touches
# until then, and the collectors' shared name (a gateway pool behind one DNS name).
BACKEND = 'backend'
ALIASES = {'collector-mtls': 'otlp-gateway', 'collector-tls': 'otlp-gateway'}
# The Debian release of each host (tests/hosts/build-image.sh --suite); the rest run bookworm.
RELEASES = {'app-tls': 'trixie', 'app-bullseye': 'bullseye'}
# The Python app bundle's target per release other than bookworm (its python3 as major.minor;
# bookworm's 3.11 is the build's default): python-<release>.tar.gz, E2E_APP_PYTHON_<RELEASE>.
PYTHON_TARGETS = {'trixie': '3.13'}
ALL_LANGUAGES = ['python', 'go', 'java', 'nodejs']
PROTOCOLS = ['grpc', 'http']
MODES = ['mtls', 'tls']
# The collection under test: this checkout, or another one (E2E_CODE_ROOT, e.g. an unpacked
# `git archive` of a commit) whose playbooks/ run and which is linked as otlp.tls, while the
# tests, vars.yml and the fleet stay this checkout's. For telling a test's fault from the code's.
CODE_ROOT = os.path.abspath(os.environ.get('E2E_CODE_ROOT') or ROOT)
# What a check run must not create on a fresh host (tests/e2e/run.sh checked the same).
MANAGED_ROOTS = ['/etc/otlp-tls', '/etc/otelcol', '/opt/otlp-tls']


def languages():
    return (os.environ.get('E2E_LANGUAGES') or ' '.join(ALL_LANGUAGES)).split()


def release(host):
    return RELEASES.get(host, 'bookworm')


def unsupported():
    """release -> {language: why}: the SDKs that can not run on that release's own runtime
    (e2e_runtime_unsupported in vars.yml, which the playbooks read too)."""
    import yaml
    with open(os.path.join(HERE, 'vars.yml')) as handle:
        return yaml.safe_load(handle).get('e2e_runtime_unsupported') or {}


def host_languages(host):
    """The languages whose apps run on an app host: the selected ones its release supports."""
    skip = unsupported().get(release(host)) or {}
    return [language for language in languages() if language not in skip]


def cell_suffix(host):
    """The last part of an app host's cells and service names: mtls, tls, bullseye."""
    return host[len('app-'):]


LOGGERS = []  # conftest.py adds one that writes past pytest's output capture


def log(message):
    line = '%s e2e: %s' % (time.strftime('%H:%M:%S'), message)
    if LOGGERS:
        LOGGERS[-1](line)
    else:
        sys.stderr.write(line + '\n')
        sys.stderr.flush()


def load_env():
    """The variables of scripts/env.sh, when pytest was started without sourcing it."""
    if os.environ.get('OTLP_TLS_COLLECTOR_BIN') and os.environ.get('ANSIBLE_COLLECTIONS_PATH'):
        return
    proc = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'env.sh')], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True)
    for line in proc.stdout.decode().splitlines():
        match = re.match(r'export (\w+)=(.*)$', line)
        if match:
            value = subprocess.run(['bash', '-c', 'printf %s ' + match.group(2)], stdout=subprocess.PIPE,
                                   check=True).stdout.decode()
            os.environ[match.group(1)] = value


class Result(object):
    """What a playbook run did: rc, its output (stdout and stderr together), the log file."""

    def __init__(self, argv, rc, out, path):
        self.argv, self.rc, self.out, self.path = argv, rc, out, path

    def __repr__(self):
        return 'ansible-playbook %s: rc %d (log %s)\n%s' % (
            ' '.join(self.argv[-4:]), self.rc, self.path, self.out[-3000:])

    def recap(self, host):
        """The PLAY RECAP line of ``host``, spaces squeezed ('' when absent)."""
        text = self.out[self.out.rfind('PLAY RECAP'):] if 'PLAY RECAP' in self.out else ''
        for line in text.splitlines():
            if line.split(' ', 1)[0] == host:
                return re.sub(r'\s+', ' ', line.strip())
        return ''


# The steady-load drop-in of every unit given, then systemd told (Fleet.new_runs).
LOAD_SCRIPT = r"""for unit in "$@"; do mkdir -p /etc/systemd/system/$unit.service.d
    printf '%s' "$LOAD" > /etc/systemd/system/$unit.service.d/10-e2e-load.conf; done; systemctl daemon-reload; """


class Fleet(object):
    """The e2e fleet as the tests use it."""

    def __init__(self, name=FLEET, work=WORK):
        self.name, self.work, self.ca_dir = name, work, os.path.join(work, 'ca')
        self.collectors, self.apps, self.hosts = list(COLLECTORS), list(APPS), list(HOSTS)
        self.languages = languages()

    # -- environment and playbooks ------------------------------------------------------
    def env(self, **more):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(self.work, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_FORCE_COLOR='0', E2E_LANGUAGES=' '.join(self.languages),
                   E2E_RESULTS_DIR=os.path.join(self.work, 'results'),
                   E2E_EXPIRED_DIR=os.path.join(self.work, 'expired'))
        env.pop('PY_COLORS', None)
        if CODE_ROOT != ROOT:
            link = os.path.join(self.work, 'code-collections', 'ansible_collections', 'otlp', 'tls')
            if not os.path.islink(link) or os.readlink(link) != CODE_ROOT:
                os.makedirs(os.path.dirname(link), exist_ok=True)
                if os.path.lexists(link):
                    os.remove(link)
                os.symlink(CODE_ROOT, link)
            env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(self.work, 'code-collections') + ':' + \
                env.get('ANSIBLE_COLLECTIONS_PATH', '')
        for language in self.languages:
            env['E2E_APP_' + language.upper()] = os.path.join(self.work, 'bundles', language + '.tar.gz')
        if 'python' in self.languages:
            for rel in PYTHON_TARGETS:
                env['E2E_APP_PYTHON_' + rel.upper()] = os.path.join(self.work, 'bundles', 'python-%s.tar.gz' % rel)
        env.update(more)
        return env

    def extra(self, ca_dir=None, passphrase=None):
        first = {'otlp_tls_ca_dir': ca_dir or self.ca_dir}
        if passphrase:
            first['otlp_tls_ca_key_passphrase'] = passphrase
        return ['-e', json.dumps(first), '-e', '@tests/e2e/vars.yml']

    def out_dir(self, name):
        """``.tmp/e2e/<name>``, emptied: the module's logs and summaries."""
        path = os.path.join(self.work, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        return path

    def _argv(self, playbook, args, ca_dir, passphrase, verbose):
        if playbook.startswith('playbooks/'):
            playbook = os.path.join(CODE_ROOT, playbook)
        argv = ['ansible-playbook'] + self.extra(ca_dir, passphrase) + list(args) + [playbook]
        if verbose:
            argv.insert(1, verbose)
        return argv

    def play(self, playbook, *args, **kwargs):
        """Run ansible-playbook from the root with the fleet's -e arguments; return a Result.

        Keywords: log (path of the output file), ca_dir, passphrase, verbose ('-vvv'), env (dict
        of more variables), timeout (seconds, default 1800)."""
        argv = self._argv(playbook, args, kwargs.get('ca_dir'), kwargs.get('passphrase'), kwargs.get('verbose'))
        path = kwargs.get('log') or os.path.join(self.work, 'last-play.log')
        with open(path, 'w') as handle:
            proc = subprocess.run(argv, cwd=ROOT, env=self.env(**kwargs.get('env', {})), stdout=handle,
                                  stderr=subprocess.STDOUT, timeout=kwargs.get('timeout', 1800), check=False)
        with open(path, errors='replace') as handle:
            return Result(argv, proc.returncode, handle.read(), path)

    def play_ok(self, playbook, *args, **kwargs):
        result = self.play(playbook, *args, **kwargs)
        assert result.rc == 0, result
        return result

    def play_background(self, playbook, *args, **kwargs):
        """Start ansible-playbook in its own process group (``stop`` ends the group); output to log."""
        argv = self._argv(playbook, args, kwargs.get('ca_dir'), kwargs.get('passphrase'), kwargs.get('verbose'))
        handle = open(kwargs['log'], 'w')
        try:
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env(**kwargs.get('env', {})), stdout=handle,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            handle.close()
        proc.argv, proc.log = argv, kwargs['log']
        return proc

    @staticmethod
    def stop(proc, sig=signal.SIGTERM):
        """Signal the process group of a play_background run; wait for it (at most 120 s)."""
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)

    @staticmethod
    def result_of(proc):
        rc = proc.wait(1800)
        with open(proc.log, errors='replace') as handle:
            return Result(proc.argv, rc, handle.read(), proc.log)

    # -- the hosts ----------------------------------------------------------------------
    def container(self, host):
        return '%s-%s' % (self.name, host)

    def exec(self, host, *argv, **kwargs):
        """podman exec on ``host``; returns the CompletedProcess (stdout/stderr as text)."""
        cmd = ['podman', 'exec']
        if kwargs.get('input') is not None:
            cmd.append('-i')
        for key, value in sorted(kwargs.get('env', {}).items()):
            cmd += ['-e', '%s=%s' % (key, value)]
        proc = subprocess.run(cmd + [self.container(host)] + list(argv), input=kwargs.get('input'),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=kwargs.get('timeout', 300),
                              check=False)
        proc.stdout = proc.stdout.decode('utf-8', 'replace')
        proc.stderr = proc.stderr.decode('utf-8', 'replace')
        if kwargs.get('check', True) and proc.returncode != 0:
            raise AssertionError('podman exec %s %s: rc %d\n%s%s' % (
                host, ' '.join(argv), proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
        return proc

    def sh(self, host, script, *args, **kwargs):
        """A shell script on ``host``; returns its stdout."""
        return self.exec(host, 'sh', '-c', script, 'sh', *args, **kwargs).stdout

    def read(self, host, path):
        return self.exec(host, 'cat', path).stdout

    def running(self, every=False):
        """host -> container id, for the fleet's running containers (``every``: stopped ones too)."""
        argv = ['podman', 'ps'] + (['-a'] if every else []) + [
            '--filter', 'label=otlp-tls-fleet=%s' % self.name, '--format', '{{.Names}} {{.ID}}', '--no-trunc']
        proc = subprocess.run(argv, stdout=subprocess.PIPE, check=False)
        found = {}
        for line in proc.stdout.decode().splitlines():
            name, ident = line.split()
            found[name[len(self.name) + 1:]] = ident
        return found

    def address(self, host):
        return subprocess.run(['podman', 'inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
                               self.container(host)], stdout=subprocess.PIPE, check=True).stdout.decode().strip()

    def pid(self, host, unit='otelcol'):
        return self.exec(host, 'systemctl', 'show', '-p', 'MainPID', '--value', unit).stdout.strip()

    def restarts(self, host, unit='otelcol'):
        return self.exec(host, 'systemctl', 'show', '-p', 'NRestarts', '--value', unit).stdout.strip()

    def units(self, host):
        """The e2e app units of an app host (from otlp_tls_exporter_apps in vars.yml)."""
        return ['e2e-%s-%s' % (language, protocol) for language in host_languages(host) for protocol in PROTOCOLS] \
            if host in self.apps else []

    def snapshot(self, ca_dir=None):
        """Every managed file (mode, owner, sha256 prefix), every collector and app process (PID,
        state) on every host, and every file of the CA directory: one line each, sorted."""
        lines = []
        files = r'''find /etc/otlp-tls /etc/otelcol /opt/otlp-tls /etc/systemd/system -xdev \( -type f -o -type l \) \
            2>/dev/null | sort | while read -r f; do
            printf "%s %s %s\n" "$(stat -c "%a %U:%G" "$f")" "$(sha256sum < "$f" | cut -c1-16)" "$f"; done
            for u in otelcol $(systemctl list-units --plain --no-legend "e2e-*.service" | cut -d" " -f1); do
            echo "pid $u $(systemctl show -p MainPID --value "$u") $(systemctl is-active "$u")"; done'''
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(self.hosts)) as pool:
            found = list(pool.map(lambda host: self.sh(host, files), self.hosts))
        for host, text in zip(self.hosts, found):
            lines += ['%s %s' % (host, line) for line in text.splitlines()]
        for path in sorted(glob.glob(os.path.join(ca_dir or self.ca_dir, '**'), recursive=True)):
            if os.path.isfile(path):
                with open(path, 'rb') as handle:
                    lines.append('ca %s %s' % (hashlib.sha256(handle.read()).hexdigest(), path))
        return lines

    def fingerprints(self):
        """Every certificate on the fleet: 'host path fingerprint issuer'."""
        script = r'''for f in /etc/otlp-tls/*/cert.pem; do [ -e "$f" ] || continue
            printf "%s %s %s\n" "$(hostname)" "$f" "$(openssl x509 -in "$f" -noout -fingerprint -sha256 -issuer | tr "\n" " ")"
            done'''
        return [line for host in self.hosts for line in self.sh(host, script).splitlines()]

    def journal(self, host, since=None):
        """The e2e units' journal entries on ``host`` (dicts), all or since a Unix time."""
        argv = ['journalctl', '-o', 'json', '-u', 'e2e-*']
        if since is not None:
            argv += ['--since', '@%d' % since]
        return [json.loads(line) for line in self.exec(host, *argv).stdout.splitlines() if line.strip()]

    def count_spans(self, host, *args):
        """tests/files/count_spans.py run on ``host`` with its python3; its output lines."""
        with open(os.path.join(ROOT, 'tests', 'files', 'count_spans.py'), 'rb') as handle:
            script = handle.read()
        return self.exec(host, 'python3', '-', *args, input=script).stdout.splitlines()

    def stop_apps(self):
        for host in self.apps:
            self.sh(host, 'systemctl stop "e2e-*.service"')

    def new_runs(self, load=False):
        """A new run of every app unit, every app host at once (one podman exec each). With
        ``load``, first the drop-in that makes each unit send numbered spans without end at
        E2E_ROTATION_RATE spans a second (default 5), the steady load of the rotation tests."""
        script = LOAD_SCRIPT if load else ''
        rate = os.environ.get('E2E_ROTATION_RATE', '') or '5'
        assert rate.isdigit() and int(rate) > 0, 'E2E_ROTATION_RATE=%r is not a positive whole number' % rate

        def restart(host):
            self.exec(host, 'sh', '-c', script + 'systemctl restart "$@"', 'sh', *self.units(host),
                      env={'LOAD': '[Service]\nEnvironment=E2E_SPANS=0\nEnvironment=E2E_RATE=%s\n' % rate})
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(self.apps))) as pool:
            list(pool.map(restart, self.apps))

    def rotation_phase(self, ca_dir=None):
        path = os.path.join(ca_dir or self.ca_dir, 'rotation.json')
        if not os.path.exists(path):
            return None
        with open(path) as handle:
            return json.load(handle)

    # -- state shared by the modules --------------------------------------------------------
    def state(self):
        try:
            with open(STATE) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}

    def update_state(self, **values):
        state = self.state()
        state.update(values)
        with open(STATE + '.new', 'w') as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
        os.replace(STATE + '.new', STATE)

    def moved(self, why):
        """A module is about to change the fleet beyond a converge with its own CA."""
        self.update_state(moved=why)

    def ensure_default(self, out=None, site=True):
        """Converge the fleet back on .tmp/e2e/ca if a module moved it (another CA, a CA rotation
        left in a phase, a module that failed half-way). With ``site`` False the last step, a
        site.yml run, is left to the caller, whose own first step is one."""
        why = self.state().get('moved')
        if not why:
            return
        log('the fleet was moved (%s): converging it back on %s%s' % (
            why, self.ca_dir, '' if site else ", the module's own site.yml the last step"))
        out = out or self.work
        # A host a fault test killed and a failed test did not start again.
        for host in sorted(set(self.hosts) - set(self.running())):
            bring_back(self, host)
        state = self.rotation_phase()
        if state and state.get('phase') not in (None, 'done'):
            self.play_ok('playbooks/rotate.yml', '-e', 'otlp_tls_rotate=ca',
                         log=os.path.join(out, 'restore-rotate.log'))
        if site:
            self.play_ok('playbooks/site.yml', log=os.path.join(out, 'restore-site.log'))
            self.update_state(moved=None)


def kill_when(fleet, runner, host, pattern, seconds=300):
    """Kill ``host``'s container once ``pattern`` shows up in a play_background runner's log;
    False when the run ended (or the time passed) first."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        with open(runner.log, errors='replace') as handle:
            if re.search(pattern, handle.read()):
                subprocess.run(['podman', 'kill', fleet.container(host)], stdout=subprocess.DEVNULL, check=True)
                return True
        if runner.poll() is not None:
            return False
        time.sleep(0.25)
    return False


def bring_back(fleet, host):
    """Start a killed host's container again and wait until its systemd is up."""
    subprocess.run(['podman', 'start', fleet.container(host)], stdout=subprocess.DEVNULL, check=True)
    wait_booted(fleet, host)


def wait_booted(fleet, host, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = fleet.exec(host, 'systemctl', 'is-system-running', check=False).stdout.strip()
        if state in ('running', 'degraded'):
            return
        time.sleep(1)
    raise AssertionError('%s did not come back within %d s' % (host, seconds))


# -- bring-up ---------------------------------------------------------------------------

def build_bundles(fleet):
    """The apps, built on this machine and cached by their build.sh; one tar.gz each in
    .tmp/e2e/bundles (remade only when the build directory changed). Returns language -> build."""
    bundles = os.path.join(fleet.work, 'bundles')
    os.makedirs(bundles, exist_ok=True)
    builds = {}
    wanted = [(language, language, {}) for language in fleet.languages]
    if 'python' in fleet.languages:  # one Python bundle per release's python3 (.tar.gz per release)
        wanted += [('python-' + rel, 'python', {'E2E_PYTHON_TARGET': target})
                   for rel, target in sorted(PYTHON_TARGETS.items())]
    for name, language, more in wanted:
        script = os.path.join(HERE, 'apps', 'node' if language == 'nodejs' else language, 'build.sh')
        proc = subprocess.run(['bash', script], stdout=subprocess.PIPE, timeout=3600, check=True,
                              env=dict(os.environ, **more))
        directory = proc.stdout.decode().strip().splitlines()[-1]
        builds[name] = directory
        target = os.path.join(bundles, name + '.tar.gz')
        source = target + '.from'
        if os.path.exists(target) and os.path.exists(source) and open(source).read() == directory:
            continue
        subprocess.run(['tar', '-C', directory, '-czf', target + '.new', '.'], check=True)
        os.replace(target + '.new', target)
        with open(source, 'w') as handle:
            handle.write(directory)
    return builds


def reusable(fleet, builds):
    """Why the fleet can not be reused ('' when it can)."""
    if os.environ.get('E2E_FRESH', '') not in ('', '0'):
        return 'E2E_FRESH is set'
    state = fleet.state()
    if not state:
        return 'no %s' % STATE
    if state.get('fleet') != fleet.name or state.get('languages') != fleet.languages:
        return 'another fleet or other languages'
    if state.get('builds') != builds:
        return 'the app builds changed'
    if state.get('containers') != fleet.running(every=True):
        return 'the containers are not the ones that were converged'
    if not os.path.exists(os.path.join(fleet.ca_dir, 'ca.crt')):
        return 'no CA in %s' % fleet.ca_dir
    return ''


def check_run_wrote(fleet):
    """What the check run created: managed paths on the hosts, and the CA directory."""
    wrote = {}
    for host in fleet.hosts:
        found = fleet.sh(host, 'for p in "$@"; do [ ! -e "$p" ] || echo "$p"; done', *MANAGED_ROOTS).split()
        wrote[host] = found
    wrote['ca'] = [fleet.ca_dir] if os.path.exists(fleet.ca_dir) else []
    return wrote


def ensure_up(fleet):
    """Bring the fleet up (or reuse it) and converge it once; returns fleet.json's contents."""
    load_env()
    began = time.time()
    os.makedirs(fleet.work, exist_ok=True)
    builds = build_bundles(fleet)
    log('apps ready (%.0f s)' % (time.time() - began))
    why = reusable(fleet, builds)
    if not why:
        stopped = sorted(set(fleet.running(every=True)) - set(fleet.running()))
        for host in stopped:
            subprocess.run(['podman', 'start', fleet.container(host)], stdout=subprocess.DEVNULL, check=True)
            wait_booted(fleet, host)
            fleet.moved('%s was stopped' % host)
        log('reusing the fleet %s (converged %s)' % (fleet.name, fleet.state().get('converged_at')))
        return fleet.state()
    log('a fresh fleet %s: %s' % (fleet.name, why))
    subprocess.run(['bash', os.path.join(ROOT, 'tests', 'hosts', 'fleet.sh'), 'down', fleet.name],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    for entry in os.listdir(fleet.work):
        if entry != 'bundles':
            path = os.path.join(fleet.work, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
    os.makedirs(os.path.join(fleet.work, 'results'))
    subprocess.run(['bash', os.path.join(ROOT, 'tests', 'hosts', 'fleet.sh'), 'up', fleet.name, fleet.work]
                   + ['%s:%s%s%s' % (host, GROUPS[host], '@' + RELEASES[host] if host in RELEASES else '',
                                     '+' + ALIASES[host] if host in ALIASES else '')
                      for host in fleet.hosts + [BACKEND]], check=True)
    out = fleet.out_dir('setup')
    fleet.play_ok('tests/e2e/prepare.yml', log=os.path.join(out, 'prepare.log'))
    # A check run on the fresh fleet must succeed and write nothing, anywhere
    # (tests/e2e/test_check_run.py asserts what is recorded here).
    check = fleet.play('playbooks/site.yml', '--check', '--diff', log=os.path.join(out, 'check.log'))
    wrote = check_run_wrote(fleet)
    fleet.play_ok('playbooks/site.yml', log=os.path.join(out, 'site.log'))
    state = {'fleet': fleet.name, 'languages': fleet.languages, 'builds': builds,
             'containers': fleet.running(), 'converged_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
             'check_run': {'rc': check.rc, 'log': check.path, 'wrote': wrote}, 'moved': None,
             'setup_seconds': round(time.time() - began)}
    fleet.update_state(**state)
    log('fleet %s up and converged (%.0f s)' % (fleet.name, time.time() - began))
    return fleet.state()


def down(fleet):
    subprocess.run(['bash', os.path.join(ROOT, 'tests', 'hosts', 'fleet.sh'), 'down', fleet.name], check=False)
    if os.path.exists(STATE):
        os.remove(STATE)


# -- zero-loss accounting (test_rotation.py, test_revocation.py) -------------------------------

SENT = re.compile(r'e2e: sent (\d+) spans')
RUN = re.compile(r'e2e: run ([0-9a-f]{32})$')
# What the apps themselves wrote about TLS or a failed export (not systemd's lines about the units).
APP_ERROR = re.compile(r'x509|certificate|handshake|\btls\b|ssl|unavailable|export(ing)? failed|failed to export|'
                       r'deadline', re.I)


def sent_rows(journals, since=None):
    """(service, run, sent) of every run of every unit that reported what it sent, and the set of
    the runs that started at or after ``since`` (Unix seconds; every run the journals know when
    None); ``journals``: host -> every journal entry of the e2e units (Fleet.journal), in order.

    A "sent" line belongs to the run the launcher announced on the same process's stdout
    ("e2e: run ID", same _PID), not to the line's _SYSTEMD_INVOCATION_ID: journald stamps a
    line with the unit's current invocation when it gets to read it, so under load the last
    line of a run read after the unit restarted carries the next run's id (a CI run lost one
    such row). The journal's id is the fallback for a process that announced nothing."""
    rows, first = [], {}
    for host, entries in journals.items():
        mode = host[len('app-'):]
        announced = {}
        for entry in entries:
            when = int(entry.get('__REALTIME_TIMESTAMP', 0))
            message = str(entry.get('MESSAGE', ''))
            pid = entry.get('_PID')
            for field in ('_SYSTEMD_INVOCATION_ID', 'INVOCATION_ID'):
                if entry.get(field):
                    first[entry[field]] = min(first.get(entry[field], when), when)
            match = RUN.match(message)
            if match and pid:
                announced[pid] = match.group(1)
                first[match.group(1)] = min(first.get(match.group(1), when), when)
                continue
            match = SENT.match(message)
            if match and str(entry.get('_SYSTEMD_UNIT', '')).startswith('e2e-'):
                unit = entry['_SYSTEMD_UNIT'][len('e2e-'):-len('.service')]
                run = announced.get(pid) or entry.get('_SYSTEMD_INVOCATION_ID')
                rows.append(('%s-%s' % (unit, mode), run, match.group(1)))
    runs = set(run for run, when in first.items() if since is None or when >= since * 1000000)
    return rows, runs


def received_rows(fleet):
    """(service, run, spans, distinct, highest, missing) per run, from both collectors."""
    rows = []
    for host in fleet.collectors:
        lines = fleet.count_spans(host, '--name', 'e2e-span', '--by-run', '/var/lib/otelcol/traces.json')
        rows += [tuple(line.split()) for line in lines if len(line.split()) == 6]
    return rows


def app_errors(journals):
    """What an SDK logged about TLS or a failed export (app lines only)."""
    found = []
    for entries in journals.values():
        for entry in entries:
            message = str(entry.get('MESSAGE', ''))
            if not str(entry.get('_SYSTEMD_UNIT', '')).startswith('e2e-'):
                continue
            if APP_ERROR.search(message.replace('otlp.tls', '')) and not message.startswith('e2e: sent'):
                found.append('%s: %s' % (entry.get('_SYSTEMD_UNIT'), message[:300]))
    return found


def write_lines(path, rows):
    with open(path, 'w') as handle:
        handle.write(''.join(' '.join(str(part) for part in row) + '\n' for row in rows))
