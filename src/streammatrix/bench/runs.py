"""Real ``streammatrix run`` invocations in this process, timed phase by phase.

Each run is split into its phases: provider set-up, client environments, server starts, the
cells (the union of the intervals during which a cell's pytest process runs), the report merge.
The runner's overhead is the wall time during which no cell runs, plus the time a new process
takes to import what ``run`` imports (:func:`import_seconds`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streammatrix.bench.cells import pytest_seconds, statuses
from streammatrix.bench.floor import Slot, against_floor, machine_busy_seconds
from streammatrix.bench.loop import cpu_seconds, usable_cores
from streammatrix.bench.startup import cell_startups
from streammatrix.run.events import (
    CellEnded,
    CellStarted,
    EnvReady,
    EnvsReady,
    Event,
    Observer,
    ProviderReady,
    ReportWritten,
    ServerStarted,
)

# What a fresh `streammatrix run` process imports before its first cell.
RUN_IMPORTS = (
    "streammatrix.cli",
    "streammatrix.run.matrix",
    "streammatrix.report.build",
    "streammatrix.servers.select",
    "streammatrix.servers.binary.provider",
)


# A way to run one command line of the runner with extra observers: ``cli.main`` (quietly).
RunCommand = Callable[[list[str], Sequence[Observer]], int]


@dataclass
class Probe:
    """What one ``streammatrix run`` did, and when: an observer of its events."""

    provider: float = 0.0
    envs: float = 0.0
    envs_reused: list[bool] = field(default_factory=list)
    report: float = 0.0
    server_starts: list[float] = field(default_factory=list)
    cells: list[tuple[float, float]] = field(default_factory=list)  # (start, end), monotonic
    starts: dict[str, CellStarted] = field(default_factory=dict)  # by cell id
    slots: list[Slot] = field(default_factory=list)  # each started cell's worker

    def __call__(self, event: Event) -> None:
        if isinstance(event, CellStarted):
            self.starts[event.cell_id] = event
        elif isinstance(event, ProviderReady):
            self.provider += event.seconds
        elif isinstance(event, EnvReady):
            self.envs_reused.append(event.reused)
        elif isinstance(event, EnvsReady):
            self.envs += event.seconds
        elif isinstance(event, ServerStarted):
            self.server_starts.append(event.seconds)
        elif isinstance(event, CellEnded) and event.started is not None:
            self.cells.append((event.started, event.at))
            began = self.starts.get(event.result.cell.id)
            if began is not None and began.turn is not None:
                self.slots.append(
                    Slot(began.turn, began.waited_env, began.waited_server, began.waited_fork,
                         event.at)
                )  # fmt: skip
        elif isinstance(event, ReportWritten):
            self.report += event.seconds


def union_seconds(intervals: Sequence[tuple[float, float]]) -> float:
    """How long at least one of the intervals was running."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def import_seconds() -> float:
    """Wall time of a fresh interpreter that imports what ``streammatrix run`` imports."""
    code = "import " + ", ".join(RUN_IMPORTS)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - began


def matrix_run(
    label: str,
    *,
    config: Path,
    servers: Sequence[str],
    clients: Sequence[str],
    pythons: Sequence[str] | None,
    provider: str,
    protocols: Sequence[str] | None = None,
    parsers: Sequence[str] | None = None,
    topologies: Sequence[str] | None = None,
    workers: int,
    refresh: bool,
    report_dir: Path,
    envdir: Path,
    startup: float,
    run: RunCommand,
) -> dict[str, Any]:
    """One real ``streammatrix run`` in this process, timed phase by phase."""
    argv = [
        "run", "--config", str(config), "--provider", provider, "--workers", str(workers),
        "--report-dir", str(report_dir), "--envdir", str(envdir),
    ]  # fmt: skip
    if servers:  # none: matrix.yaml's default rows
        argv += ["--servers", ",".join(servers)]
    if clients:
        argv += ["--clients", ",".join(clients)]
    if pythons:
        argv += ["--python", ",".join(pythons)]
    if protocols:
        argv += ["--protocols", ",".join(protocols)]
    if parsers:
        argv += ["--parsers", ",".join(parsers)]
    if topologies:
        argv += ["--topologies", ",".join(topologies)]
    if refresh:
        argv.append("--refresh")
    probe = Probe()
    cpu, machine = cpu_seconds(), machine_busy_seconds()
    began = time.monotonic()
    code = run(argv, [probe])
    wall = time.monotonic() - began
    cpu = cpu_seconds() - cpu
    after = machine_busy_seconds()
    machine = after - machine if after is not None and machine is not None else None
    first = min((s.turn for s in probe.slots), default=began + probe.provider)
    before = min((start for start, _ in probe.cells), default=began) - began
    total = wall + startup
    cells_wall = union_seconds(probe.cells)
    overhead = total - cells_wall
    return {
        "label": label,
        "workers": workers,
        "envs": "created" if refresh or not all(probe.envs_reused) else "reused",
        "provider": provider,
        "exit_code": code,
        "cells": len(probe.cells),
        "statuses": statuses(report_dir / "cells"),
        "total_seconds": round(total, 3),
        "startup_seconds": round(startup, 3),
        "provider_seconds": round(probe.provider, 3),
        "envs_seconds": round(probe.envs, 3),
        "server_starts": len(probe.server_starts),
        "server_start_seconds": round(sum(probe.server_starts), 3),
        "cells_wall_seconds": round(cells_wall, 3),
        "cells_sum_seconds": round(sum(end - start for start, end in probe.cells), 3),
        "pytest_sum_seconds": round(pytest_seconds(report_dir / "cells"), 3),
        "report_seconds": round(probe.report, 3),
        # from the run's start to its first cell's: provider, that cell's environment, server
        # and fork server (the other environments are made while cells run)
        "before_cells_seconds": round(before, 3),
        "other_seconds": round(total - startup - before - cells_wall - probe.report, 3),
        "overhead_seconds": round(overhead, 3),
        "overhead_share": round(overhead / total, 4) if total else None,
        "report_dir": str(report_dir),
        **cell_startups(report_dir / "cells"),
        "floor": against_floor(
            # the import's CPU time: a fresh interpreter importing is one busy core
            wall=total,
            cpu=cpu + startup,
            cores=usable_cores(),
            start=startup + first - began,
            report=probe.report,
            slots=probe.slots,
            machine=machine,
        ),
    }
