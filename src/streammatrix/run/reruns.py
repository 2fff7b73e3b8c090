"""Flaky is not broken: a cell's failed tests run again, in the same env against the same server.

After the cell's pytest, every test that failed (``fail``/``error``, never an unsupported
result) is run again by a second pytest given only those node ids, up to ``reruns`` times; one
that passes on a rerun becomes ``flaky`` in the cell file, with how many runs it took. A rerun
that cannot finish leaves the first results as they were.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from streammatrix import processes
from streammatrix.junit import flaky
from streammatrix.plugin import outcomes as o


def rerun_failed(
    xml: Path,
    command: Callable[[list[str], Path], list[str]],
    *,
    environ: Mapping[str, str],
    workdir: Path,
    log: TextIO,
    reruns: int,
    deadline: float,
) -> dict[str, int]:
    """Run the failed tests of ``xml`` again; mark those that pass flaky. node id -> tries."""
    pending = flaky.rerunnable(xml) if reruns > 0 else []
    passed: dict[str, int] = {}
    for attempt in range(1, reruns + 1):
        if not pending or processes.interrupted():
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        target = xml.with_name(f"{xml.stem}.rerun{attempt}.xml.tmp")
        log.write(f"\n# rerun {attempt} of {reruns}: {len(pending)} failed test(s)\n")
        log.flush()
        proc = processes.spawn(command(pending, target), env=dict(environ), stdout=log, cwd=workdir)
        processes.track_process(proc)
        try:
            proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if proc.poll() is None:
                processes.stop_group(proc)
            processes.untrack_process(proc)
        try:
            results = flaky.outcomes_by_nodeid(target) if target.exists() else {}
        except Exception:  # a truncated rerun file: the first results stand
            results = {}
        target.unlink(missing_ok=True)
        for nodeid in pending:
            if results.get(nodeid) == o.PASS:
                passed[nodeid] = attempt + 1
        pending = [n for n in pending if n not in passed]
    flaky.mark_flaky(xml, passed)
    return passed
