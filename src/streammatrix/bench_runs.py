"""Real ``streammatrix run`` invocations in this process, timed phase by phase.

Each run is split into its phases: provider set-up, client environments, server starts, the
cells (the union of the intervals during which a cell's pytest process runs), the report merge.
The runner's overhead is the wall time during which no cell runs, plus the time a new process
takes to import what ``run`` imports (:func:`import_seconds`).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streammatrix.bench_cells import pytest_seconds, statuses

# What a fresh `streammatrix run` process imports before its first cell.
RUN_IMPORTS = (
    "streammatrix.cli",
    "streammatrix.runner",
    "streammatrix.report",
    "streammatrix.servers.select",
    "streammatrix.servers.binary",
)


@dataclass
class Probe:
    """What one ``streammatrix run`` did, and when, seen from inside the process."""

    provider: float = 0.0
    envs: float = 0.0
    envs_reused: list[bool] = field(default_factory=list)
    report: float = 0.0
    server_starts: list[float] = field(default_factory=list)
    cells: list[tuple[float, float]] = field(default_factory=list)  # (start, end), monotonic


@contextlib.contextmanager
def _probed(probe: Probe) -> Iterator[None]:
    """Time the phases of ``cli.cmd_run`` by wrapping the functions it calls (restored after)."""
    import streammatrix.report as report_module
    import streammatrix.runner as runner
    import streammatrix.servers.select as select
    from streammatrix import cli

    originals = {
        (runner, "run_cell"): runner.run_cell,
        (runner, "make_envs"): runner.make_envs,
        (runner, "ServerPool"): runner.ServerPool,
        (report_module, "write_reports"): report_module.write_reports,
        (select, "make_provider"): select.make_provider,
    }

    def timed(target: Callable[..., Any], record: Callable[[float, float, Any], None]):
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.monotonic()
            result = target(*args, **kwargs)
            record(began, time.monotonic(), result)
            return result

        return wrapper

    def add_envs(began: float, ended: float, envs: dict[Any, Any]) -> None:
        probe.envs += ended - began
        probe.envs_reused += [bool(getattr(env, "reused", False)) for env in envs.values()]

    class Pool(runner.ServerPool):  # type: ignore[name-defined,misc]
        def stop_all(self) -> None:
            probe.server_starts.extend(self.start_seconds)
            super().stop_all()

    runner.run_cell = timed(runner.run_cell, lambda b, e, _r: probe.cells.append((b, e)))
    runner.make_envs = timed(runner.make_envs, add_envs)
    runner.ServerPool = Pool
    report_module.write_reports = timed(
        report_module.write_reports, lambda b, e, _r: setattr(probe, "report", e - b)
    )
    select.make_provider = timed(
        select.make_provider, lambda b, e, _r: setattr(probe, "provider", e - b)
    )
    quiet = cli.console.quiet
    cli.console.quiet = True
    try:
        yield
    finally:
        cli.console.quiet = quiet
        for (module, name), original in originals.items():
            setattr(module, name, original)


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
    workers: int,
    refresh: bool,
    report_dir: Path,
    envdir: Path,
    startup: float,
) -> dict[str, Any]:
    """One real ``streammatrix run`` in this process, timed phase by phase."""
    from streammatrix import cli

    argv = [
        "run", "--config", str(config), "--servers", ",".join(servers),
        "--clients", ",".join(clients), "--provider", provider, "--workers", str(workers),
        "--report-dir", str(report_dir), "--envdir", str(envdir),
    ]  # fmt: skip
    if pythons:
        argv += ["--python", ",".join(pythons)]
    if refresh:
        argv.append("--refresh")
    probe = Probe()
    with _probed(probe):
        began = time.monotonic()
        code = cli.main(argv)
        wall = time.monotonic() - began
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
        "other_seconds": round(
            total - startup - probe.provider - probe.envs - cells_wall - probe.report, 3
        ),
        "overhead_seconds": round(overhead, 3),
        "overhead_share": round(overhead / total, 4) if total else None,
        "report_dir": str(report_dir),
    }
