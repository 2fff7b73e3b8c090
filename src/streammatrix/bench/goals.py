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
    "speedup": 1.8,  # wall(--workers 1) / wall(--workers 2): "close to twice as fast"
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
    for kind in PROVIDERS:
        measured = [r for r in result["starts"] if r["provider"] == kind]
        medians = [r["median_seconds"] for r in measured if r["median_seconds"] is not None]
        if not measured:
            continue
        goal = GOALS["ready_seconds"][kind]
        rows.append(
            {
                "goal": f"{kind} server ready",
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
    return rows
