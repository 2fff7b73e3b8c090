"""Child processes that never outlive the runner: servers and cell pytest runs.

Each child gets a process group of its own (so it can be stopped with everything it started)
and, on Linux, PR_SET_PDEATHSIG: even a runner killed outright (SIGKILL) takes them along.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _child_setup(parent: int) -> Callable[[], None]:
    """What the child runs before exec: a process group of its own, and death with its parent."""
    prctl = _PRCTL

    def setup() -> None:
        os.setpgid(0, 0)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), signal.SIGKILL)

    return setup


# PR_SET_PDEATHSIG fires when the *thread* that forked the child exits, not the process. A
# child started from a short-lived thread (a worker pool) is therefore forked from one
# long-lived thread instead, so that it lives as long as the process that started it.
_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def spawn(
    argv: list[str],
    *,
    env: dict[str, str],
    stdout: IO[str] | IO[bytes] | int,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as a tied child (own process group, dies with the runner)."""

    def popen() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            close_fds=True,
            preexec_fn=_child_setup(os.getpid()),
        )

    if threading.current_thread() is threading.main_thread():
        return popen()
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(1, thread_name_prefix="streammatrix-spawn")
    return _spawner.submit(popen).result()
