"""The bench's CPU accounting: a run's CPU time includes the processes it waited for, and
theirs (a fork server's cells are its children, not the runner's)."""

from __future__ import annotations

import subprocess
import sys

from streammatrix.bench.loop import cpu_seconds

# A child that forks a grandchild burning 0.3 s of CPU (by its own clock), and waits for it.
GRANDCHILD_BURNS = """
import os, time
pid = os.fork()
if pid == 0:
    while time.process_time() < 0.3:
        pass
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_cpu_seconds_count_a_waited_grandchild():
    before = cpu_seconds()
    subprocess.run([sys.executable, "-c", GRANDCHILD_BURNS], check=True)
    assert cpu_seconds() - before >= 0.29  # the kernel's accounting, to its tick
