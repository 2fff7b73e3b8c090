"""report.json: the whole report as versioned JSON, and the base of the next run's baseline.

The shape is described by ``templates/report.schema.json`` (JSON Schema); ``schema`` names its
version. A change that removes or renames a key bumps the version; adding keys does not.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import streammatrix
from streammatrix import files
from streammatrix.report.views import ranges_json as report_ranges
from streammatrix.report.views import headline
from streammatrix.report.views.badge import badge
from streammatrix.report.analysis.grid import group_of
from streammatrix.report.analysis.minimums import DEFINITION
from streammatrix.report.analysis.model import Cause, Cell, Report
from streammatrix.report.views.summary import overview

# /2: facts, overview, history, badge and flaky outcomes; "ranges" (release ranges,
# requirements, bisection steps); bisection cells are not in "cells"/"tests" but in
# "ranges.bisection"
SCHEMA = "streammatrix-report/2"


def json_schema() -> dict[str, Any]:
    """The JSON Schema that every report.json of this version validates against."""
    text = (
        resources.files("streammatrix.report.views").joinpath("templates/report.schema.json").read_text()
    )
    return json.loads(text)


def _cell(cell: Cell) -> dict[str, Any]:
    record, at = cell.record, cell.at
    return {
        "id": cell.id,
        "status": cell.status,
        "reason": cell.note,
        "server": {
            "entry": record.server,
            "name": at.server_family,
            "version": at.server_version,
            "redis_version": record.server_redis_version,
            "measured": bool(record.server_version),
        },
        "client": {
            "entry": record.client,
            "name": at.client_family,
            "version": at.client_version,
            "measured": bool(record.client_version),
        },
        "python": {"entry": record.python, "version": at.python_version},
        "protocol": {"claimed": at.protocol, "resp": at.resp, "label": at.protocol_label},
        "provider": record.provider,
        "seconds": record.seconds,
        "log": cell.log,
        "source": str(record.source),
        "counts": dict(sorted(cell.counts.items())),
    }


def _tests(report: Report) -> list[dict[str, Any]]:
    out = []
    for cell in report.cells:
        for test in cell.record.tests:
            expected = report.expected.get((cell.id, test.id))
            out.append(
                {
                    "cell": cell.id,
                    "id": test.id,
                    "classname": test.classname,
                    "name": test.name,
                    "feature": test.feature,
                    "group": group_of(test),
                    "since": test.since,
                    "outcome": test.outcome,
                    "shown": "expected-failure" if expected else test.outcome,
                    "expected": (expected.reason or expected.outcome) if expected else None,
                    "reason": test.reason,
                    "message": test.message,
                    "seconds": test.seconds,
                    "latency_ms": test.latency_ms,
                    "latency_target_ms": test.latency_target_ms,
                }
            )
    return out


def _features(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "key": row.key,
            "group": row.group,
            "feature": row.feature,
            "since": row.since,
            "classes": list(row.classes),
            "tests": list(row.tests),
            "required": row.required,
            "grid": {cid: e.outcome for cid, e in row.entries.items()},
            "counts": dict(sorted(row.counts.items())),
            "min_server": row.min_server,
            "min_client": row.min_client,
            "non_monotone": row.non_monotone,
            "breaks": [vars(b) for b in row.breaks],
        }
        for row in report.rows
    ]


def _unexpected(report: Report) -> list[dict[str, Any]]:
    """Every unexpected result, with the index of its cause in ``causes``."""
    cause_of = {id(u): i for i, c in enumerate(report.causes) for u in c.results}
    return [{**vars(u), "cause": cause_of.get(id(u))} for u in report.unexpected]


def _cause(cause: Cause) -> dict[str, Any]:
    fields = ("kind", "outcome", "feature", "test", "expected", "message", "shared")
    return {**{name: getattr(cause, name) for name in fields}, "cells": cause.cells}


def to_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (see ``templates/report.schema.json``)."""
    diff = report.baseline
    return {
        "schema": SCHEMA,
        "generator": f"streammatrix {streammatrix.__version__}",
        "generated": report.generated.isoformat() if report.generated else None,
        "matrix": report.matrix_path or None,
        "required": list(report.required),
        "summary": headline.text(report),
        "definition": DEFINITION,
        "minimum": [
            {
                "server_family": m.server_family,
                "client_family": m.client_family,
                "server": m.server,
                "client": m.client,
                "cells": m.cells,
                "alternatives": [{"server": s, "client": c} for s, c in m.alternatives],
                "not_counted": m.not_counted,
                "protocol": m.protocol,
            }
            for m in report.minimums
        ],
        "cells": [_cell(c) for c in report.cells],
        "features": _features(report),
        "tests": _tests(report),
        "latencies": [
            {
                "cell": cid,
                "test": lat.test,
                "feature": lat.feature,
                "latency_ms": ms,
                "target_ms": target,
            }
            for lat in report.latencies
            for cid, (ms, target) in lat.values.items()
        ],
        "unexpected": _unexpected(report),
        "causes": [_cause(c) for c in report.causes],
        "protocol_dependent": [
            {**vars(d), "sides": [vars(s) for s in d.sides]} for d in report.protocol_dependent
        ],
        "baseline": None
        if diff is None
        else {
            "source": diff.source,
            "new_failures": [vars(c) for c in diff.new_failures],
            "new_passes": [vars(c) for c in diff.new_passes],
            "new_cells": diff.new_cells,
            "gone_cells": diff.gone_cells,
        },
        "warnings": report.warnings,
        "facts": [vars(u) for u in report.facts],
        "overview": overview(report).to_dict(),
        "history": report.history,
        "badge": badge(report),
        "ranges": report_ranges.to_dict(report.boundaries),
    }


def write(report: Report, path: str | Path) -> Path:
    text = json.dumps(to_dict(report), indent=2, ensure_ascii=False)
    return files.write_text(path, text + "\n")
