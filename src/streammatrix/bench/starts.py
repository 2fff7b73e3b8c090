"""Server start-to-ready times per provider, the first part of ``streammatrix bench``.

Start-to-ready is the provider's ``start()``: container or process, PING, INFO server. Each server
is started ``starts`` + 1 times; the first may fetch or pull and is reported apart from the
median of the others. With ``topology="cluster"`` each start is a whole cluster (its nodes, the
slots assigned, until every node says cluster_state:ok), timed against its own goal. A provider
that cannot work here (no engine, a missing image) gives rows that say so, with the reason,
rather than an error.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from streammatrix.bench.goals import GOALS
from streammatrix.errors import ProviderError, ServerStartError
from streammatrix.servers import topology as topologies
from streammatrix.servers.select import make_provider


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def time_starts(
    specs: Sequence[Any],
    kinds: Sequence[str],
    starts: int,
    notify: Callable[[str], None],
    topology: str | None = None,
) -> list[dict[str, Any]]:
    """Start and stop each server ``starts`` + 1 times per provider; the first is not timed."""
    rows: list[dict[str, Any]] = []
    goals = GOALS["cluster_ready_seconds" if topology else "ready_seconds"]
    for kind in kinds:
        goal = goals.get(kind)
        try:
            provider = make_provider(kind, notify=lambda _message: None)
        except ProviderError as exc:
            notify(f"{kind}: not available ({exc})")
            rows += [_start_row(kind, spec.name, goal, error=str(exc)) for spec in specs]
            continue
        for spec in specs:
            row = _start_row(kind, spec.name, goal)
            labels = {"io.streammatrix.bench": "start"}
            try:
                for attempt in range(starts + 1):
                    began = time.perf_counter()
                    server = topologies.start(provider, spec, topology, labels)
                    try:
                        seconds = time.perf_counter() - began
                        row["version"] = server.identity.version
                    finally:
                        server.stop()
                    if attempt == 0:
                        row["first_seconds"] = round(seconds, 4)
                    else:
                        row["samples"].append(round(seconds, 4))
            except (ProviderError, ServerStartError) as exc:
                row.update(available=False, error=str(exc).splitlines()[0])
            median = _median(row["samples"])
            row["median_seconds"] = round(median, 4) if median is not None else None
            row["met"] = None if median is None or goal is None else median < goal
            notify(
                f"{kind} {spec.name}{' (' + topology + ')' if topology else ''}: "
                + (f"median {median:.3f}s of {starts}" if median is not None else row["error"])
            )
            rows.append(row)
    return rows


def _start_row(kind: str, server: str, goal: float | None, error: str = "") -> dict[str, Any]:
    return {
        "provider": kind,
        "server": server,
        "version": "",
        "available": not error,
        "error": error,
        "first_seconds": None,
        "samples": [],
        "median_seconds": None,
        "goal_seconds": goal,
        "met": None,
    }
