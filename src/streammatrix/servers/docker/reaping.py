"""Run ids and the reaping of containers that a run killed outright left behind.

Every container the Docker provider starts carries three labels: ``io.streammatrix.runner=
streammatrix``, the run id of the process that started it (``<hostname>:<pid>:<process start
time>``) and the server entry's name. The start time makes a run id unique even when pids are
reused, so :func:`reap` removes exactly the containers of runs on this host that have ended.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from docker.errors import APIError, NotFound

from streammatrix.servers import base

if TYPE_CHECKING:
    import docker

log = logging.getLogger(__name__)

RUNNER = "streammatrix"
RUNNER_LABEL = f"{base.LABEL_PREFIX}.runner"
RUN_ID_LABEL = f"{base.LABEL_PREFIX}.run-id"
SERVER_LABEL = f"{base.LABEL_PREFIX}.server"


def _start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot) from /proc; None once it has ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return None if fields[0] in ("Z", "X") else fields[19]  # a zombie has ended too


def current_run_id() -> str:
    """``<hostname>:<pid>:<start time>`` of this process: unique even when pids are reused."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '-'}"


def run_is_alive(run_id: str) -> bool:
    """False only when ``run_id`` names a process on this host that is no longer running."""
    host, _, rest = run_id.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host's (or a foreign) run: not ours to judge
    if started == "-":  # no /proc where it was recorded: liveness by signal 0 only
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return _start_time(int(pid)) == started


def reap(client: docker.DockerClient) -> list[str]:
    """Remove the containers that runs no longer alive on this host left; return their names."""
    removed: list[str] = []
    # sparse: the list call alone, no inspection of each container, which another run may
    # remove between the list and the inspection (a NotFound that would end this run)
    found = client.containers.list(
        all=True, sparse=True, filters={"label": f"{RUNNER_LABEL}={RUNNER}"}
    )
    for container in found:
        labels = container.attrs.get("Labels") or {}
        name = (container.attrs.get("Names") or [container.short_id])[0].lstrip("/")
        run_id = labels.get(RUN_ID_LABEL, "")
        if not run_id or run_is_alive(run_id):
            continue
        try:
            container.remove(force=True, v=True)
        except NotFound:
            continue  # another process reaped it first
        except APIError as exc:
            if exc.status_code == 409:  # another process is removing it right now
                continue
            raise
        removed.append(name)
        log.warning(
            "removed container %s (server %s) left behind by run %s, which is no longer alive",
            name,
            labels.get(SERVER_LABEL, "?"),
            run_id,
        )
    return removed
