# -*- coding: utf-8 -*-
# Copyright (c) otlp.tls contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the CA host keeps beside the CA: a lock for every CA-side write, and the issuance ledger.

Several runs may work on one CA at once (AWX job slices, two operators): every CA-side write
(creating the CA, the rotation state, the ledger) happens while holding an exclusive lock on
``<ca dir>/.lock``. The kernel drops the lock when its holder dies, so a lock that is held
belongs to a live run; the holder writes who it is into the file, and a run that waits too
long says who holds it.

The ledger (``ledger.jsonl``) has one JSON line per certificate issued: serial, host, entry,
subject, names, profile, validity, public-key and issuing-CA fingerprints. It is only ever
appended to, one ``write`` per batch under the lock, and synced; a line cut short by a crash
is dropped before the next append.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import socket
import time

LOCK_NAME = '.lock'
LEDGER_NAME = 'ledger.jsonl'


class LockTimeout(Exception):
    """The CA's lock was held by another run for longer than we were willing to wait."""


class CALock(object):
    """Exclusive lock on a CA directory: ``with CALock(directory, timeout, purpose):``."""

    def __init__(self, directory, timeout=120, purpose='otlp.tls', check_mode=False):
        self.path = os.path.join(directory, LOCK_NAME)
        self.timeout = timeout
        self.purpose = purpose
        self.check_mode = check_mode
        self.handle = None

    def _holder(self):
        try:
            with open(self.path) as handle:
                return json.loads(handle.read() or '{}')
        except (IOError, OSError, ValueError):
            return {}

    def __enter__(self):
        directory = os.path.dirname(self.path)
        if self.check_mode or not os.path.isdir(directory):
            # A check run writes nothing (every write is an atomic rename, so what it reads is
            # whole); a missing directory has nothing to protect yet.
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self.handle = os.fdopen(fd, 'r+')
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.time() >= deadline:
                    holder = self._holder()
                    self.handle.close()
                    self.handle = None
                    raise LockTimeout(
                        'the CA in %s is locked by another run (%s, pid %s on %s, since %s) and was not free within '
                        '%d s: wait for that run to finish and try again, or raise lock_timeout. A lock is released '
                        'when its holder exits, so a held lock belongs to a run that is still going.' % (
                            directory, holder.get('purpose', 'unknown'), holder.get('pid', '?'),
                            holder.get('host', '?'), holder.get('since', '?'), self.timeout))
                time.sleep(0.1)
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps(dict(pid=os.getpid(), host=socket.gethostname(), purpose=self.purpose,
                                          since=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))))
        self.handle.flush()
        return self

    def __exit__(self, *exc_info):
        if self.handle is not None:
            try:
                self.handle.seek(0)
                self.handle.truncate()
                self.handle.flush()
            finally:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
                self.handle.close()
                self.handle = None
        return False


def read_ledger(path):
    """Every complete record of the ledger at ``path`` (a missing ledger has none)."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return []
        raise
    records = []
    for line in data.split(b'\n'):
        line = line.strip()
        if not line:
            continue
        try:
            records.append(json.loads(line.decode('utf-8')))
        except ValueError:
            continue  # a line cut short by a crash
    return records


def append_ledger(path, records):
    """Append ``records`` (dicts) to the ledger in one write; call it while holding the CA lock."""
    if not records:
        return 0
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size:
            # Drop a partial last line (a crash in the middle of an earlier write).
            os.lseek(fd, max(0, size - 65536), os.SEEK_SET)
            tail = os.read(fd, 65536)
            if not tail.endswith(b'\n'):
                cut = tail.rfind(b'\n')
                os.ftruncate(fd, size - len(tail) + cut + 1 if cut >= 0 else size - len(tail))
        data = b''.join(json.dumps(record, sort_keys=True).encode('utf-8') + b'\n' for record in records)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(records)
