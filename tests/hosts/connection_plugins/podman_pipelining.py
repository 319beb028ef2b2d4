# -*- coding: utf-8 -*-
# Test-only connection plugin: containers.podman's podman connection with
# pipelining. That plugin runs `podman exec` without `-i`, so module data sent
# on stdin never arrives and it declares has_pipelining = False; every task
# then costs ~4 `podman exec` calls (mkdir, chmod, run, rm), ~150 ms each.
# Passing `-i` when there is stdin data is all pipelining needs: one exec
# per module. Everything else (mount-based put/fetch) is inherited.
from __future__ import annotations

DOCUMENTATION = """
    name: podman_pipelining
    short_description: containers.podman.podman connection with pipelining
    description:
        - Same as containers.podman.podman, but supports pipelining
          (module code goes to C(python3) over stdin in a single C(podman exec -i)).
    extends_documentation_fragment:
        - connection_pipelining
    options:
      remote_addr:
        description: The ID of the container you want to access.
        default: inventory_hostname
        vars:
          - name: ansible_host
          - name: inventory_hostname
          - name: ansible_podman_host
      remote_user:
        description: User to run commands as inside the container.
        ini:
          - section: defaults
            key: remote_user
        env:
          - name: ANSIBLE_REMOTE_USER
        vars:
          - name: ansible_user
      podman_extra_args:
        description: Extra arguments to pass to the podman command line.
        default: ''
        ini:
          - section: defaults
            key: podman_extra_args
        vars:
          - name: ansible_podman_extra_args
        env:
          - name: ANSIBLE_PODMAN_EXTRA_ARGS
      podman_executable:
        description: Executable for podman command.
        default: podman
        vars:
          - name: ansible_podman_executable
        env:
          - name: ANSIBLE_PODMAN_EXECUTABLE
"""

import os
import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import (
    Connection as PodmanConnection,
)


class Connection(PodmanConnection):
    transport = "podman_pipelining"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        # tests/bench counts the remote calls per host: one line per `podman exec`.
        count_file = os.environ.get("OTLP_TLS_COUNT_EXEC")
        if count_file:
            with open(count_file, "a") as handle:
                handle.write("%s\n" % self._container_id)
        args = ["exec"]
        if in_data is not None:
            args.append("--interactive")
        if self.user:
            args.extend(("--user", self.user))
        cmd_args = shlex.split(to_native(cmd, errors="surrogate_or_strict"))
        return self._podman(args, cmd_args, in_data)
