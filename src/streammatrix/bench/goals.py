"""What the runner aims for, and whether a benchmark result meets it.

The goals are reported, never enforced: ``streammatrix bench`` exits 0 whether or not they are
met, and a goal that could not be measured (a provider that cannot run here) is left unjudged.
"""

from __future__ import annotations

from typing import Any

# What the runner aims for; the report says whether each is met, and nothing fails on them.
GOALS = {
    "warm_overhead_share": 0.25,  # of a warm run's wall time
    "ready_seconds": {"binary": 0.2, "docker": 1.0},  # median start-to-ready
    # a 3-primary cluster: its nodes, slots, cluster_state:ok on each (a primary itself waits 2 s
    # after its start before it says ok)
    "cluster_ready_seconds": {"binary": 3.0, "docker": 4.0},
    "speedup": 1.8,  # wall(--workers 1) / wall(--workers 2): "close to twice as fast"
    "startup_median_seconds": 0.1,  # a warm cell's wall minus its tests' JUnit time
    "loop_ratio": 0.25,  # the runner's warm wall time over a hand-written loop's
    "one_feature_seconds": 0.25,  # wall time of a forked cell narrowed to one feature
    "cold_vs_warm": 2.0,  # a cold run (no client environments) over a warm one
    "floor_ratio": 1.2,  # a warm run's wall over its CPU floor (the fixed matrix, w = cores)
    "default_floor_ratio": 1.3,  # the same for the whole default matrix
    "env_seconds": 0.3,  # one client environment from a warm package cache (median)
    "bisect_step_seconds": 1.0,  # a bisection step: its release's environment and cell (median)
}
PROVIDERS = ("docker", "binary")


def goals_met(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per goal that ``result`` (a bench.json in the making) has something to say about.

    ``met`` is None when nothing was measured: the goal is not missed, only not judged.
    """
    rows = []
    warm = [r for r in result["runs"] if r["envs"] == "reused"]
    if warm:
        worst = max(warm, key=lambda r: r["overhead_share"] or 0)
        share = worst["overhead_share"]
        rows.append(
            {
                "goal": "warm run overhead share",
                "value": share,
                "target": f"< {GOALS['warm_overhead_share']:.0%}",
                "met": share is not None and share < GOALS["warm_overhead_share"],
                "note": f"worst warm run: {worst['label']}",
            }
        )
    for kind, part, goals, what in [
        (kind, part, goals, what)
        for part, goals, what in (
            ("starts", "ready_seconds", "server"),
            ("cluster_starts", "cluster_ready_seconds", "cluster"),
        )
        for kind in PROVIDERS
    ]:
        measured = [r for r in result.get(part, []) if r["provider"] == kind]
        medians = [r["median_seconds"] for r in measured if r["median_seconds"] is not None]
        if not measured:
            continue
        goal = GOALS[goals][kind]
        rows.append(
            {
                "goal": f"{kind} {what} ready",
                "value": max(medians) if medians else None,
                "target": f"< {goal}s",
                "met": max(medians) < goal if medians else None,
                "note": "slowest median" if medians else f"not available: {measured[0]['error']}",
            }
        )
    if result.get("speedup"):
        speedup = result["speedup"]
        rows.append(
            {
                "goal": "--workers 2 vs 1",
                "value": speedup["speedup"],
                "target": f">= {GOALS['speedup']}x",
                "met": speedup["speedup"] >= GOALS["speedup"],
                "note": f"{speedup['w1_seconds']}s -> {speedup['w2_seconds']}s",
            }
        )
    rows += _speed_rows(result, warm)
    return rows


def _row(goal: str, value: float | None, limit: float, target: str, note: str) -> dict[str, Any]:
    met = None if value is None else value <= limit
    return {"goal": goal, "value": value, "target": target, "met": met, "note": note}


def _few_tests(feature: dict[str, Any] | None) -> str:
    """The start-up of a cell of few tests: how much of a full cell's is per test."""
    fork = (feature or {}).get("fork") or {}
    if fork.get("startup_median_seconds") is None:
        return ""
    return f"; a forked cell of {fork['tests']} tests: {fork['startup_median_seconds']}s"


def _floor(loop: dict[str, Any]) -> str:
    """What the run's own CPU time allows: no runner can go below it on these cores."""
    if loop.get("floor_ratio") is None:
        return ""
    return (
        f"; floor {loop['floor_ratio']}x: the run's CPU time {loop['runner_cpu_seconds']}s "
        f"over {loop['cores']} cores"
    )


def _speed_rows(result: dict[str, Any], warm: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    cores = (result.get("machine") or {}).get("cpus") or 1
    measured = [  # more workers than cores measure contention for the CPU, not start-up
        r for r in warm if r.get("startup_median_seconds") is not None and r["workers"] <= cores
    ]
    if measured:
        worst = max(measured, key=lambda r: r["startup_median_seconds"])
        limit = GOALS["startup_median_seconds"]
        rows.append(
            _row(
                "cell start-up median",
                worst["startup_median_seconds"],
                limit,
                f"<= {limit}s",
                f"worst warm run at most {cores} workers: {worst['label']} ("
                + ", ".join(f"{n} {how}" for how, n in worst["started"].items())
                + ")"
                + _few_tests(result.get("one_feature")),
            )
        )
    loop = result.get("loop")
    if loop:
        limit = GOALS["loop_ratio"]
        rows.append(
            _row(
                "ratio to a hand-written loop",
                loop["ratio"],
                limit,
                f"<= {limit}x",
                f"{loop['cells']} cells, w{loop['workers']}: "
                f"{loop['runner_median_seconds']}s vs {loop['loop_median_seconds']}s"
                + _floor(loop),
            )
        )
    feature = result.get("one_feature")
    if feature:
        limit, fork = GOALS["one_feature_seconds"], feature["fork"]
        rows.append(
            _row(
                "one-feature cell",
                fork["median_seconds"],
                limit,
                f"<= {limit}s",
                f"{feature['feature']} on {feature['cell']}, {fork['started']}; "
                f"spawned {feature['spawn']['median_seconds']}s",
            )
        )
    rows += _floor_rows(result)
    cold = result.get("cold_vs_warm")
    if cold:
        limit = GOALS["cold_vs_warm"]
        rows.append(
            _row(
                "cold vs warm ratio",
                cold["ratio"],
                limit,
                f"<= {limit}x",
                f"w{cold['workers']}: {cold['cold_seconds']}s vs {cold['warm_seconds']}s",
            )
        )
    return rows


def _floor_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Wall over CPU floor (fixed or selected matrix, default matrix), one environment, a
    bisection step: medians, with the range in the note."""
    rows = []
    floors = result.get("floor") or {}
    for key, goal in (("selection", "floor_ratio"), ("default", "default_floor_ratio")):
        floor = floors.get(key)
        if not floor:
            continue
        ratio, limit = floor["ratio"], GOALS[goal]
        rows.append(
            _row(
                f"wall / CPU floor, {floor['matrix']} matrix",
                ratio["median"],
                limit,
                f"<= {limit}x",
                f"{len(floor['runs'])} runs, ratio {ratio['min']}-{ratio['max']}; wall "
                f"{floor['wall_seconds']['median']}s, floor {floor['floor_seconds']['median']}s "
                f"on {floor['cores']} cores",
            )
        )
    env = result.get("env")
    if env and env["median_seconds"] is not None:
        limit = GOALS["env_seconds"]
        rows.append(
            _row(
                "one client environment, warm cache",
                env["median_seconds"],
                limit,
                f"<= {limit}s",
                f"{env['client']} {env['release']} ({env['installer']}), "
                f"{len(env['samples'])} made: {env['min_seconds']}-{env['max_seconds']}s",
            )
        )
    bisect = (result.get("bisection") or {}).get("bisect") or {}
    if bisect.get("step_median_seconds") is not None:
        limit = GOALS["bisect_step_seconds"]
        rows.append(
            _row(
                "bisection step",
                bisect["step_median_seconds"],
                limit,
                f"<= {limit}s",
                f"{len(bisect['steps'])} steps: {bisect['step_min_seconds']}-"
                f"{bisect['step_max_seconds']}s",
            )
        )
    return rows
