"""The bench's bisection part: what finding exact release boundaries costs by bisection
(the first and last release of each minor line, then ``--bisect``) next to running every
release of the same range (``expand: all``). Numbers only: cells, wall seconds, the seconds
the cells' pytest ran, and whether both found the same ranges.

One server (the selection's first), this Python, a range of the client (``--bisect-range``).
Every release's environment is made once before the timed every-release run; the bisecting run
makes its own from the warm package cache, as a nightly run does, and each of its steps is
timed (``BisectStepped``): a step is its release's environment (made ahead while the step
before runs) and a one-feature cell.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from streammatrix.bench.runs import RunCommand
from streammatrix.junit.read import load_cells
from streammatrix.report.analysis.stored import expand
from streammatrix.run.events import BisectStepped


def _matrix(config: Path, server: str, version: str, expand: str, target: Path) -> Path:
    raw = yaml.safe_load(config.read_text())
    row = next(s for s in raw["servers"] if s["name"] == server)
    data = {
        "suite": str((config.parent / raw.get("suite", "tests/streams")).resolve()),
        "timeout": raw.get("timeout", 900),
        "python": [f"{sys.version_info.major}.{sys.version_info.minor}"],
        "servers": [row],
        "clients": [{"name": "bench-range", "version": version, "expand": expand}],
        "required": raw.get("required") or ["*"],
    }
    target.mkdir(parents=True, exist_ok=True)
    path = target / "matrix.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _one(
    label: str, matrix: Path, out: Path, envdir: Path, provider: str, run: RunCommand,
    extra: list[str],
) -> dict[str, Any]:  # fmt: skip
    steps: list[BisectStepped] = []

    def observe(event: Any) -> None:
        if isinstance(event, BisectStepped):
            steps.append(event)

    began = time.monotonic()
    code = run(
        ["run", "--config", str(matrix), "--envdir", str(envdir), "--report-dir", str(out),
         "--provider", provider, "--workers", "2", *extra],
        [observe],
    )  # fmt: skip
    wall = time.monotonic() - began
    grid, _ = load_cells([out / "cells"])
    bisected = [r for r in grid if r.prop("cell.bisect")]
    ranges: dict[str, Any] = {}
    report = out / "report.json"
    if report.is_file():
        data = expand(json.loads(report.read_text()))  # the plain shape, whatever the schema
        for f in data.get("ranges", {}).get("features", []):
            key = f"{f['feature']} on {f['server']}"
            ranges[key] = [(s["outcome"], s["first"], s["last"]) for s in f["spans"]]
    return {
        "label": label,
        "exit_code": code,
        "wall_seconds": round(wall, 3),
        "cells": len(grid),
        "bisection_cells": len(bisected),
        "cell_seconds": round(sum(r.seconds for r in grid), 3),
        "bisection_cell_seconds": round(sum(r.seconds for r in bisected), 3),
        "ranges": ranges,
        "steps": [
            {"step": e.step, "cells": e.cells, "seconds": round(e.seconds, 3)} for e in steps
        ],
        "step_median_seconds": (
            round(statistics.median(e.seconds for e in steps), 3) if steps else None
        ),
        "step_min_seconds": round(min(e.seconds for e in steps), 3) if steps else None,
        "step_max_seconds": round(max(e.seconds for e in steps), 3) if steps else None,
    }


def bisection_cost(
    config: Path,
    server: str,
    version: str,
    provider: str,
    report_dir: Path,
    envdir: Path,
    say: Callable[[str], None],
    run: RunCommand,
) -> dict[str, Any]:
    """Run both ways (after a warm-up that makes every environment); return the numbers."""
    root = report_dir / "bench" / "bisection"
    every = _matrix(config, server, version, "all", root / "every")
    minor = _matrix(config, server, version, "minor", root / "bisect")
    say(f"bench: bisection over {version} on {server}: making the environments ...")
    _one("warm-up", every, root / "warm-up", envdir, provider, run, [])
    say("bench: bisection: every release ...")
    all_releases = _one("every release", every, root / "every", envdir, provider, run, [])
    say("bench: bisection: first and last of each minor line, then --bisect ...")
    # its own environments, made anew from the warm package cache: each step makes its
    # release's environment (ahead of the step, while the one before runs), as a real one does
    fresh = envdir / "bisect-fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    bisection = _one("bisect", minor, root / "bisect", fresh, provider, run, ["--bisect"])
    result = {
        "server": server,
        "range": version,
        "every_release": all_releases,
        "bisect": bisection,
        "same_ranges": all_releases["ranges"] == bisection["ranges"],
    }
    say(
        f"bench: bisection: {bisection['cells']} cells ({bisection['bisection_cells']} "
        f"bisecting) in {bisection['wall_seconds']:.1f}s vs every release: "
        f"{all_releases['cells']} cells in {all_releases['wall_seconds']:.1f}s; "
        f"same ranges: {result['same_ranges']}; step median {bisection['step_median_seconds']}s"
    )
    return result
