"""Flaky is not broken: a cell's failed tests run again, in the same env against the same server.

After the cell's pytest, every test that failed (``fail``/``error``, never an unsupported
result) is run again by a second pytest given only those node ids, up to ``reruns`` times; one
that passes on a rerun becomes ``flaky`` in the cell file, with how many runs it took. A rerun
that cannot finish leaves the first results as they were. Each rerun starts as the cell did
(``run``: forked from the cell's fork server, or spawned), its output appended to the cell's log;
its tests' own time is added up, so that what a cell spent beyond its tests can be told.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from streammatrix import processes
from streammatrix.junit import flaky
from streammatrix.plugin import outcomes as o


@dataclass
class Reruns:
    """What the reruns of a cell's failed tests found."""

    flaky: dict[str, int] = field(default_factory=dict)  # node id -> runs it took to pass
    tests_seconds: float = 0.0  # the rerun tests' own time (JUnit), over every rerun


def rerun_failed(
    xml: Path,
    run: Callable[[list[str], Path, float], object],
    *,
    log: Path,
    reruns: int,
    deadline: float,
) -> Reruns:
    """Run the failed tests of ``xml`` again; mark those that pass flaky.

    ``run(node_ids, junit, timeout)`` is one pytest on those tests writing ``junit``."""
    pending = flaky.rerunnable(xml) if reruns > 0 else []
    found = Reruns()
    passed = found.flaky
    for attempt in range(1, reruns + 1):
        if not pending or processes.interrupted():
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        target = xml.with_name(f"{xml.stem}.rerun{attempt}.xml.tmp")
        with log.open("a") as out:
            out.write(f"\n# rerun {attempt} of {reruns}: {len(pending)} failed test(s)\n")
        run(pending, target, left)
        try:
            results, seconds = flaky.rerun_results(target) if target.exists() else ({}, 0.0)
        except Exception:  # a truncated rerun file: the first results stand
            results, seconds = {}, 0.0
        found.tests_seconds += seconds
        target.unlink(missing_ok=True)
        for nodeid in pending:
            if results.get(nodeid) == o.PASS:
                passed[nodeid] = attempt + 1
        pending = [n for n in pending if n not in passed]
    flaky.mark_flaky(xml, passed)
    return found
