"""What ``streammatrix bench`` reads back from a matrix run's cell files.

The cells' own pytest time, their outcomes, and the stream suite's ``latency_ms`` /
``latency_target_ms`` testcase properties, all through :func:`streammatrix.load_cells`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from streammatrix.junit.read import load_cells


def pytest_seconds(cells_dir: Path) -> float:
    """The cells' own pytest time: the sum of each cell file's <testsuite time>."""

    records, _warnings = load_cells([cells_dir])
    return sum(record.time for record in records)


def statuses(cells_dir: Path) -> dict[str, int]:
    """How many cells in ``cells_dir`` ended with each status."""

    records, _warnings = load_cells([cells_dir])
    return dict(Counter(record.status for record in records))


def latencies(cells_dir: Path, server: str) -> list[dict[str, Any]]:
    """The suite's recorded latencies of every cell of ``server`` in ``cells_dir``."""

    records, _warnings = load_cells([cells_dir])
    rows = []
    for record in records:
        if record.server != server:
            continue
        for test in record.tests:
            if test.latency_ms is None:
                continue
            target = test.latency_target_ms
            rows.append(
                {
                    "cell": record.id,
                    "server": record.server,
                    "client": record.client,
                    "client_version": record.client_version,
                    "test": test.id,
                    "feature": test.feature,
                    "latency_ms": test.latency_ms,
                    "target_ms": target,
                    "within": None if target is None else test.latency_ms <= target,
                }
            )
    return rows
