"""The speed parts of ``streammatrix bench``, from the matrix runs and beside them.

* **cold vs warm**: the cold run's wall time over the warm run's at the same worker count.
* **workers over cores**: each warm run's wall time against the one at as many workers as the
  machine has cores: whether cells that wait (blocking reads, sleeps in the suite) leave room
  for more workers than cores.
* **against a hand-written loop** (:mod:`.loop`): the runner's warm run and the loop a user
  would write, in turns, on the same cells.
* **one-feature cell** (:mod:`.startup`): a cell narrowed to one feature, forked and spawned.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streammatrix.bench.loop import against_loop, hand_loop
from streammatrix.bench.runs import RunCommand, matrix_run
from streammatrix.bench.startup import one_feature_cell
from streammatrix.config.load import load
from streammatrix.plan import plan


def from_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """cold_vs_warm and workers_over_cores, from the matrix runs already made."""
    warm = {r["workers"]: r for r in runs if r["envs"] == "reused"}
    cold = next((r for r in runs if r["label"] == "cold"), None)
    same = warm.get(cold["workers"]) if cold else None
    cores = os.cpu_count() or 1
    base = warm.get(cores)
    over = [
        {
            "workers": w,
            "total_seconds": r["total_seconds"],
            "vs_cores": round(r["total_seconds"] / base["total_seconds"], 3) if base else None,
        }
        for w, r in sorted(warm.items())
    ]
    return {
        "cold_vs_warm": {
            "workers": cold["workers"],
            "cold_seconds": cold["total_seconds"],
            "warm_seconds": same["total_seconds"],
            "ratio": round(cold["total_seconds"] / same["total_seconds"], 3),
        }
        if cold and same
        else None,
        "workers_over_cores": {"cores": cores, "runs": over} if base else None,
    }


def beside_runs(
    result: dict[str, Any],
    args: argparse.Namespace,
    envdir: Path,
    say: Callable[[str], None],
    run: RunCommand,
) -> None:
    """The hand-written loop comparison and the one-feature cell; fills result in place."""
    selection = result["selection"]
    matrix = load(args.config)
    cells = plan(
        matrix,
        servers=selection["servers"],
        clients=selection["clients"],
        pythons=selection["python"],
        protocols=selection.get("protocols"),
        parsers=selection.get("parsers"),
        topologies=selection.get("topologies"),
    )
    runnable = [c for c in cells if c.excluded is None]
    if not runnable:
        return
    workers = os.cpu_count() or 1
    base = args.report_dir / "bench"
    if args.rounds > 0:
        say(f"bench: {len(runnable)} cells, runner (w{workers}) and a hand-written loop ...")

        def runner(turn: int) -> dict[str, Any]:
            return matrix_run(
                f"vs loop {turn + 1}", config=args.config, servers=selection["servers"],
                clients=selection["clients"], pythons=selection["python"],
                protocols=selection.get("protocols"), parsers=selection.get("parsers"),
                topologies=selection.get("topologies"),
                provider=args.provider, workers=workers, refresh=False,
                report_dir=base / f"vs-loop-{turn + 1}", envdir=envdir,
                startup=result["runs"][0]["startup_seconds"] if result["runs"] else 0.0, run=run,
            )  # fmt: skip

        def loop(turn: int) -> dict[str, Any]:
            return hand_loop(matrix, runnable, envdir, base / f"loop-{turn + 1}")

        result["loop"] = against_loop(args.rounds, runner, loop)
        loop_result = result["loop"]
        say(
            f"bench: runner {loop_result['runner_median_seconds']:.2f}s, loop "
            f"{loop_result['loop_median_seconds']:.2f}s; the runner's CPU time "
            f"{loop_result['runner_cpu_seconds']:.2f}s (floor {loop_result['floor_ratio']}x)"
        )
    if args.repeats > 0:
        workdir = matrix.path.parent.resolve()
        say(f"bench: one-feature cell ({args.feature}) ...")
        result["one_feature"] = one_feature_cell(
            runnable[0], args.feature, suite=(workdir / matrix.suite).resolve(),
            workdir=workdir, envdir=envdir, provider=args.provider,
            report_dir=base / "one-feature", repeats=args.repeats,
        )  # fmt: skip
