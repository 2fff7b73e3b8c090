"""A run against its CPU floor, and where the difference goes.

The floor is the run's CPU time (this process and every process it waited for: environments,
servers, fork servers and their cells) over the cores: no runner can take less wall time on
them. The difference ``wall - floor`` is idle core time over the cores; each part of it below
is core-seconds over the cores, so the parts are seconds of the wall and add up to it:

* **start**: importing the runner and setting up the provider (no cell can run yet; one core
  works, the others idle);
* **environments**, **servers**, **fork-server warm-up**: what cells' workers waited for
  after their turn came (their client environment, their server, their fork server);
* **idle cores**: cores no worker held, from the first turn to the last cell's end (fewer
  cells left than cores, or fewer workers than cores);
* **report**: merging and writing the report after the last cell (one core works);
* **other processes**: CPU time the machine's other processes took on these cores meanwhile
  (a shared machine: the run waited for the cores they held), from ``/proc/stat``;
* **in cells off the CPU**: the rest: what a running cell waits for (its server's replies,
  the suite's sleeps and blocking reads), less the CPU time spent beside the cells (making
  environments while cells run); negative when that work overlapped more than cells waited,
  and on a loaded machine, where other processes also ran while the run waited.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def machine_busy_seconds() -> float | None:
    """CPU time every process has spent on the cores this process may use, since boot
    (``/proc/stat``); None where it cannot be read."""
    affinity = getattr(os, "sched_getaffinity", None)
    cores = {f"cpu{n}" for n in affinity(0)} if affinity else None
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    busy = 0
    for line in lines:
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu" or (cores and name not in cores):
            continue
        numbers = [int(v) for v in values[:8]]
        busy += sum(numbers) - numbers[3] - numbers[4]  # all but idle and iowait
    return busy / ticks


@dataclass(frozen=True)
class Slot:
    """One cell's worker: when its turn came, what it waited for, when the cell ended."""

    turn: float
    waited_env: float
    waited_server: float
    waited_fork: float
    ended: float


def held_core_seconds(slots: Sequence[Slot], begin: float, end: float, cores: int) -> float:
    """Core-seconds of [begin, end] that a worker held (from its cell's turn to its end), at
    most ``cores`` at a time."""
    points = sorted([(s.turn, 1) for s in slots] + [(s.ended, -1) for s in slots])
    held, last, total = 0, begin, 0.0
    for at, step in points:
        at = min(max(at, begin), end)
        total += min(held, cores) * (at - last)
        held, last = held + step, at
    return total


def against_floor(
    *,
    wall: float,
    cpu: float,
    cores: int,
    start: float,
    report: float,
    slots: Sequence[Slot],
    machine: float | None = None,
) -> dict[str, Any]:
    """``wall`` (seconds, import included) against ``cpu`` over ``cores``, and where the
    difference goes (:data:`__doc__`); ``start`` is import and provider time, ``report`` the
    report's, ``machine`` the CPU time of every process on these cores meanwhile."""
    floor = cpu / cores if cores else 0.0
    busy = (cores - 1) / cores if cores else 0.0  # one core works in these, the others idle
    parts: dict[str, float] = {"start": start * busy}
    if slots:
        first, last = min(s.turn for s in slots), max(s.ended for s in slots)
        span = last - first
        parts["environments"] = sum(s.waited_env for s in slots) / cores
        parts["servers"] = sum(s.waited_server for s in slots) / cores
        parts["fork_warm_up"] = sum(s.waited_fork for s in slots) / cores
        parts["idle_cores"] = span - held_core_seconds(slots, first, last, cores) / cores
    parts["report"] = report * busy
    if machine is not None:  # the machine's CPU time meanwhile, ours included
        parts["other_processes"] = max(0.0, machine - cpu) / cores
    parts["in_cells_off_cpu"] = (wall - floor) - sum(parts.values())
    return {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "cores": cores,
        "floor_seconds": round(floor, 3),
        "ratio": round(wall / floor, 3) if floor else None,
        "gap_seconds": round(wall - floor, 3),
        "gap": {name: round(value, 3) for name, value in parts.items()},
    }


def summary(measured: Sequence[tuple[str, dict[str, Any]]], matrix: str) -> dict[str, Any] | None:
    """The median and range over runs (each a label and the floor of :func:`against_floor`) of
    the wall, the floor, their ratio and each part of the difference."""
    floors = [(label, f) for label, f in measured if f and f["ratio"] is not None]
    if not floors:
        return None

    def spread(values: list[float]) -> dict[str, float]:
        return {
            "median": round(statistics.median(values), 3),
            "min": round(min(values), 3),
            "max": round(max(values), 3),
        }

    first = floors[0][1]
    return {
        "matrix": matrix,
        "runs": [label for label, _ in floors],
        "cores": first["cores"],
        "wall_seconds": spread([f["wall_seconds"] for _, f in floors]),
        "floor_seconds": spread([f["floor_seconds"] for _, f in floors]),
        "ratio": spread([f["ratio"] for _, f in floors]),
        "gap": {
            part: spread([f["gap"][part] for _, f in floors])
            for part in first["gap"]
            if all(part in f["gap"] for _, f in floors)
        },
    }
