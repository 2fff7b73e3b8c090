"""report/badge.json: the minimum supported versions as a shields.io endpoint badge.

``{"schemaVersion": 1, "label": "Redis Streams", "message": "Redis >= 6.2.5 · redis-py >=
4.3.4", "color": ...}``; the colour says the run's status: green when nothing is unexpected,
yellow when only flaky results stand out, red for an unexpected result, grey with no minimum.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.model import Report
from streammatrix.versions import CLIENT_LABELS, SERVER_LABELS

LABEL = "Redis Streams"


def message(report: Report) -> str:
    """ "Redis >= 6.2.5 · redis-py >= 4.3.4" for the first family pair that has a minimum."""
    for m in report.minimums:
        if m.server and m.client:
            server = SERVER_LABELS.get(m.server_family, m.server_family)
            client = CLIENT_LABELS.get(m.client_family, m.client_family)
            return f"{server} >= {m.server} · {client} >= {m.client}"
    return "no supported version"


def colour(report: Report) -> str:
    if report.unexpected:
        return "red"
    if not any(m.server and m.client for m in report.minimums):
        return "lightgrey"
    if any(t.outcome == o.FLAKY for c in report.cells for t in c.record.tests):
        return "yellow"
    return "brightgreen"


def badge(report: Report) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "label": LABEL,
        "message": message(report),
        "color": colour(report),
    }


def write(report: Report, path: str | Path) -> Path:
    target = Path(path)
    target.write_text(json.dumps(badge(report), ensure_ascii=False) + "\n", encoding="utf-8")
    return target
