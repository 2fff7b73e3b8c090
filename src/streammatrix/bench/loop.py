"""The baseline the runner is measured against: the loop a user would otherwise write by hand.

One virtualenv per client (the bench's own, made once by the runner and reused here, so the
comparison is warm on both sides), one server per version started by hand from its cached
binary (``redis-server --port N``, polled with PING until it answers), one ``python -m pytest``
per cell with the suite's variables, the project's pytest plugin (as an installed project
registers it) and ``--junitxml``, everything sequential. The tests do the same work on both
sides, with the same bytecode cache; no fork server, no parallel cells, no report: what the
runner does beyond the loop is its cost or its gain.

:func:`against_loop` times the runner's warm run and this loop in turns, so that both see the
same load on a shared machine, and counts the CPU time each spent (this process and every
process it waited for: servers, fork servers and their cells, pytest runs; a container's
server is the engine's child and is not counted). That CPU time over the cores this process may
use is the least wall time a run of those cells can take here, whatever the runner does: the
ratio's floor.
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from streammatrix import processes
from streammatrix.config.model import Matrix
from streammatrix.plan import Cell
from streammatrix.plugin import outcomes as o
from streammatrix.plugin.resp import responsive
from streammatrix.run.cell import plugin_path
from streammatrix.run.envs import ensure_env
from streammatrix.run.launch import PLUGIN
from streammatrix.servers.binary import sources

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0


def hand_loop(matrix: Matrix, cells: Sequence[Cell], envdir: Path, out: Path) -> dict[str, Any]:
    """Run ``cells`` as the hand-written loop does; its wall time and pytest exit codes."""
    runnable = [c for c in cells if c.excluded is None]
    pythons = {  # made (or reused) before the clock starts: the loop's venvs exist already
        (c.client.name, c.python): ensure_env(c.client, c.python, envdir).python for c in runnable
    }
    binaries = {c.server.name: sources.fetch(c.server) for c in runnable}  # cached, not timed
    workdir = matrix.path.parent.resolve()
    suite = str((workdir / matrix.suite).resolve())
    out.mkdir(parents=True, exist_ok=True)
    plugin = plugin_path(envdir)
    codes: dict[str, int] = {}
    began = time.perf_counter()
    for name in dict.fromkeys(c.server.name for c in runnable):
        port = _free_port()
        with tempfile.TemporaryDirectory(prefix="streammatrix-loop-") as data:
            argv = binaries[name].command(["--port", str(port), "--bind", HOST, "--dir", data,
                                           "--save", "", "--appendonly", "no"])  # fmt: skip
            env = {**os.environ, **binaries[name].env()}
            server = processes.spawn(argv, env=env, stdout=subprocess.DEVNULL)
            processes.track_process(server)
            try:
                _wait_ready(port)
                for cell in (c for c in runnable if c.server.name == name):
                    python = pythons[(cell.client.name, cell.python)]
                    codes[cell.id] = _pytest(python, cell, suite, port, out, plugin, workdir)
            finally:
                processes.stop_group(server)
                processes.untrack_process(server)
    return {"seconds": round(time.perf_counter() - began, 3), "cells": len(codes), "codes": codes}


def _pytest(
    python: Path, cell: Cell, suite: str, port: int, out: Path, plugin: Path, cwd: Path
) -> int:
    env = {
        **os.environ,
        o.ENV_ENABLED: "true",
        o.ENV_URL: f"redis://{HOST}:{port}/0",
        o.ENV_PREFIX: f"loop:{cell.id}:",
        o.ENV_CLIENT_MODULE: cell.client.module,
        **({o.ENV_PROTOCOL: cell.protocol} if cell.protocol else {}),  # as the runner claims it
        "PYTHONPATH": str(plugin),
        "PYTHONPYCACHEPREFIX": str(plugin.parent / ".pycache"),  # the runner's: warm on both
    }
    env.pop("VIRTUAL_ENV", None)
    argv = [
        str(python),
        "-m",
        "pytest",
        suite,
        "-q",
        "-p",
        PLUGIN,
        f"--junitxml={out / cell.id}.xml",
    ]
    with (out / f"{cell.id}.log").open("w") as log:
        proc = processes.spawn(argv, env=env, stdout=log, cwd=cwd)
        processes.track_process(proc)
        try:
            return proc.wait()
        finally:
            processes.untrack_process(proc)


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not responsive(HOST, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"a hand-started server on port {port} never answered")
        time.sleep(0.01)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def usable_cores() -> int:
    """The cores this process may run on (its affinity), not the machine's count."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def cpu_seconds() -> float:
    """CPU time (user and system) of this process and of every process it has waited for,
    theirs included (a fork server's cells are counted once the runner reaps the server)."""
    own, waited = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + waited.ru_utime + waited.ru_stime


def against_loop(
    rounds: int,
    runner: Callable[[int], dict[str, Any]],
    loop: Callable[[int], dict[str, Any]],
    cores: int | None = None,
) -> dict[str, Any]:
    """``rounds`` turns of (the runner's warm run, the hand loop); medians, their ratio, the
    CPU time each spent, and the floor: the runner's CPU time over ``cores`` (the least wall
    time its run can take on them) over the loop's wall time."""
    cores = cores or usable_cores()
    turns = []
    for turn in range(rounds):
        before = cpu_seconds()
        ran = runner(turn)
        between = cpu_seconds()
        looped = loop(turn)
        turns.append(
            {
                "runner_seconds": ran["total_seconds"],
                "loop_seconds": looped["seconds"],
                "runner_cpu_seconds": round(between - before, 3),
                "loop_cpu_seconds": round(cpu_seconds() - between, 3),
                "runner_exit_code": ran["exit_code"],
                "runner_floor": ran.get("floor"),
                "loop_codes": looped["codes"],
            }
        )
    runner_median = statistics.median(t["runner_seconds"] for t in turns)
    loop_median = statistics.median(t["loop_seconds"] for t in turns)
    runner_cpu = statistics.median(t["runner_cpu_seconds"] for t in turns)
    return {
        "rounds": turns,
        "cells": ran["cells"],
        "workers": ran["workers"],
        "cores": cores,
        "runner_median_seconds": round(runner_median, 3),
        "loop_median_seconds": round(loop_median, 3),
        "ratio": round(runner_median / loop_median, 3) if loop_median else None,
        "runner_cpu_seconds": round(runner_cpu, 3),
        "loop_cpu_seconds": round(statistics.median(t["loop_cpu_seconds"] for t in turns), 3),
        "floor_ratio": round(runner_cpu / cores / loop_median, 3) if loop_median else None,
    }
