"""What a cell costs beyond its tests: its start-up, per run and for a one-feature cell.

A cell's start-up is its wall time (``cell.seconds``: the runner's clock around the cell's
pytest, JUnit file included) minus the time its tests took by pytest's own JUnit clock (the sum
of the testcases' times: set-up, call and teardown, and those of the reruns of its failed
tests). What is left is starting (or forking) the interpreter, imports, collection and pytest's
per-test bookkeeping, once per pytest run: a cell whose failed tests run again starts again.

A one-feature cell is what bisecting one feature costs: one cell narrowed to that feature's
tests (``-k``), run with a warm fork server and spawned, several times each.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streammatrix.junit.read import load_cells
from streammatrix.junit.records import CellRecord
from streammatrix.plan import Cell
from streammatrix.plugin import outcomes as o
from streammatrix.run.cell import plugin_path, run_cell, shared_environ
from streammatrix.run.envs import ensure_env
from streammatrix.run.launch import Launcher
from streammatrix.run.paths import ReportPaths
from streammatrix.servers.base import serve
from streammatrix.servers.select import make_provider


def percentile(values: Sequence[float], share: float) -> float | None:
    """The value below which ``share`` of ``values`` lie (nearest rank); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil, at least the first
    return ordered[int(rank) - 1]


def startup_seconds(record: CellRecord) -> float:
    """A cell's wall time minus its tests' own (theirs and their reruns')."""
    reruns = float(record.prop(o.SUITE_CELL_RERUN_SECONDS) or 0)
    return record.seconds - sum(t.seconds for t in record.tests) - reruns


def cell_startups(cells_dir: Path) -> dict[str, Any]:
    """Median and p90 start-up of the cells that ran in ``cells_dir``, and how they started."""
    records, _warnings = load_cells([cells_dir])
    ran = [r for r in records if r.status == o.CELL_OK and r.prop(o.SUITE_CELL_SECONDS)]
    startups = [startup_seconds(r) for r in ran]
    median = statistics.median(startups) if startups else None
    p90 = percentile(startups, 0.9)
    return {
        "startup_median_seconds": None if median is None else round(median, 3),
        "startup_p90_seconds": None if p90 is None else round(p90, 3),
        "started": dict(Counter(r.prop(o.SUITE_CELL_START) or "unknown" for r in ran)),
    }


def feature_keyword(feature: str) -> str:
    """The ``-k`` expression for a feature id: its tests are named after it (``_`` for ``-``)."""
    return feature.replace("-", "_")


def one_feature_cell(
    cell: Cell,
    feature: str,
    *,
    suite: Path,
    workdir: Path,
    envdir: Path,
    provider: str,
    report_dir: Path,
    repeats: int,
) -> dict[str, Any]:
    """Wall time of ``cell`` narrowed to ``feature``, forked and spawned, ``repeats`` each
    after one untimed run (which starts the fork server and fills the bytecode cache)."""
    env = ensure_env(cell.client, cell.python, envdir)
    plugin_dir = plugin_path(envdir)
    paths = ReportPaths(report_dir)
    paths.prepare(keep=False)
    row: dict[str, Any] = {"cell": cell.id, "feature": feature}
    with serve(make_provider(provider, notify=lambda _m: None), cell.server) as server:
        for how in o.START_METHODS:
            samples, startups, tests = [], [], 0
            with Launcher(shared_environ(plugin_dir), fork=how == o.START_FORK) as launcher:
                for attempt in range(repeats + 1):
                    began = time.perf_counter()
                    result = run_cell(
                        cell, env, server, suite=suite, paths=paths, plugin_dir=plugin_dir,
                        timeout=300, workdir=workdir, launcher=launcher,
                        pytest_args=("-k", feature_keyword(feature)),
                    )  # fmt: skip
                    tests = sum(result.counts.values())
                    (record,), _warnings = load_cells([paths.cell_file(cell)])
                    if attempt:
                        samples.append(round(time.perf_counter() - began, 4))
                        startups.append(startup_seconds(record))
            row[how] = {
                "started": record.prop(o.SUITE_CELL_START),  # fork unless it fell back
                "samples": samples,
                "median_seconds": round(statistics.median(samples), 4) if samples else None,
                # its start-up, as a run's cells are measured: what a cell of few tests costs
                "startup_median_seconds": round(statistics.median(startups), 4)
                if startups
                else None,
                "tests": tests,
                "status": result.status,
            }
    return row
