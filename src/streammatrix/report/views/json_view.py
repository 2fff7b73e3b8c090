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
from streammatrix.report.analysis import axes, stored
from streammatrix.report.analysis.grid import group_of
from streammatrix.report.analysis.minimums import DEFINITION
from streammatrix.report.analysis.model import Cause, Minimum, Report, Unexpected
from streammatrix.report.analysis.protocols import ProtocolDependence
from streammatrix.report.analysis.stored import Messages
from streammatrix.report.views import headline
from streammatrix.report.views import ranges_json as report_ranges
from streammatrix.report.views.badge import badge
from streammatrix.report.views.summary import overview

# /2: facts, overview, history, badge and flaky outcomes; "ranges" (release ranges,
# requirements, bisection steps); bisection cells are not in "cells"/"tests" but in
# "ranges.bisection"
# /3: compact: cells, tests, features, latencies, unexpected and facts as tables (keys once);
# each message once in "messages"; each cell's test outcomes as one code string; history's
# outcomes as code strings per feature; minimums per protocol say what bounds them
SCHEMA = "streammatrix-report/3"


def json_schema() -> dict[str, Any]:
    """The JSON Schema that every report.json of this version validates against."""
    text = (
        resources.files("streammatrix.report.views")
        .joinpath("templates/report.schema.json")
        .read_text()
    )
    return json.loads(text)


def _cell_columns() -> tuple[str, ...]:
    """The cell table's columns: one ``axis_<name>`` per axis (analysis/axes.py)."""
    return (
        "id", "status", "reason", "server_entry", "server_name", "server_version",
        "server_redis_version", "server_measured", "client_entry", "client_name",
        "client_version", "client_measured", "python_entry", "python_version",
        *(f"axis_{a.name}" for a in axes.AXES), "protocol", "resp", "parser", "parser_classes",
        "mode", "provider", "seconds", "log",
        "source", "counts", "tests", "outcomes", "test_seconds", "notes",
    )  # fmt: skip


_TEST_COLUMNS = ("id", "classname", "name", "feature", "group", "since")
_NOTE_COLUMNS = ("test", "reason", "message", "expected")  # per cell: indexes into "messages"


def _cells(report: Report, tests: dict[str, int], text: Messages) -> dict[str, Any]:
    rows = []
    for cell in report.cells:
        record, at = cell.record, cell.at
        notes = []
        for position, test in enumerate(record.tests):
            expected = report.expected.get((cell.id, test.id))
            why = (expected.reason or expected.outcome) if expected else None
            if test.reason or test.message or why:
                notes.append([position, text(test.reason), text(test.message), text(why)])
        rows.append(
            [
                cell.id, cell.status, cell.note, record.server, at.server_family,
                at.server_version, record.server_redis_version, bool(record.server_version),
                record.client, at.client_family, at.client_version, bool(record.client_version),
                record.python, at.python_version, *(a.value(cell) for a in axes.AXES),
                at.protocol, at.resp, record.parser, record.parser_classes, record.mode,
                record.provider, record.seconds, cell.log,
                str(record.source), dict(sorted(cell.counts.items())),
                [tests[t.id] for t in record.tests],
                "".join(stored.code(t.outcome) for t in record.tests),
                [round(t.seconds, 3) for t in record.tests],
                notes,
            ]
        )  # fmt: skip
    return stored.table(_cell_columns(), rows)


def _test_table(report: Report) -> tuple[dict[str, int], dict[str, Any]]:
    """Every distinct test once (its id, class, feature, group, since)."""
    index: dict[str, int] = {}
    rows = []
    for cell in report.cells:
        for test in cell.record.tests:
            if test.id not in index:
                index[test.id] = len(rows)
                rows.append([test.id, test.classname, test.name, test.feature, group_of(test),
                             test.since])  # fmt: skip
    return index, stored.table(_TEST_COLUMNS, rows)


def _at(values: dict[tuple[str, ...], str | None]) -> dict[str, str | None]:
    """family/protocol, and /topology when the cells claim one: "redis/2", "redis/2/cluster"."""
    return {"/".join(key if key[-1] else key[:-1]): v for key, v in values.items()}


def _features(report: Report) -> dict[str, Any]:
    columns = (
        "key", "group", "feature", "since", "classes", "tests", "required", "grid", "counts",
        "min_server", "min_client", "min_server_at", "min_client_at", "bounds",
        "non_monotone", "breaks",
    )  # fmt: skip
    rows = [
        [
            row.key, row.group, row.feature, row.since, list(row.classes), list(row.tests),
            row.required,
            "".join(stored.code(row.entries[c.id].outcome) if c.id in row.entries
                    else stored.NONE_CODE for c in report.cells),
            dict(sorted(row.counts.items())), row.min_server, row.min_client,
            _at(row.min_server_at), _at(row.min_client_at),
            {"/".join(k if k[-1] else k[:-1]): v for k, v in row.bounds.items() if v},
            row.non_monotone, [[b.cell, b.outcome, b.expected] for b in row.breaks],
        ]
        for row in report.rows
    ]  # fmt: skip
    return stored.table(columns, rows)


def _unexpected(items: list[Unexpected], text: Messages, causes: list[Cause]) -> dict:
    cause_of = {id(u): i for i, c in enumerate(causes) for u in c.results}
    columns = ("kind", "cell", "outcome", "feature", "test", "expected", "message", "cause")
    return stored.table(
        columns,
        ([u.kind, u.cell, u.outcome, u.feature, u.test, u.expected, text(u.message),
          cause_of.get(id(u))] for u in items),
    )  # fmt: skip


def _dependence_table(found: list[ProtocolDependence], text: Messages) -> dict[str, Any]:
    """Features whose outcome differs between protocols (or topologies), each side's cell,
    label, measured value, outcome and message."""
    return stored.table(
        ("group", "feature", "server", "client", "python", "sides"),
        (
            [
                d.group, d.feature, d.server, d.client, d.python,
                [[s.cell, s.protocol, s.resp, s.outcome, text(s.message)] for s in d.sides],
            ]
            for d in found
        ),
    )  # fmt: skip


def _cause(cause: Cause, text: Messages) -> dict[str, Any]:
    fields = ("kind", "outcome", "feature", "test", "expected", "shared")
    return {
        **{name: getattr(cause, name) for name in fields},
        "message": text(cause.message),
        "cells": cause.cells,
    }


def _minimum(m: Minimum) -> dict[str, Any]:
    return {
        "server_family": m.server_family,
        "client_family": m.client_family,
        "server": m.server,
        "client": m.client,
        "cells": m.cells,
        "alternatives": [{"server": s, "client": c} for s, c in m.alternatives],
        "not_counted": m.not_counted,
        "protocol": m.protocol,
        "topology": m.topology,
        "server_lowest_tested": m.server_lowest_tested,
        "client_lowest_tested": m.client_lowest_tested,
        "blocker": vars(m.blocker) if m.blocker is not None else None,
    }


def to_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (see ``templates/report.schema.json``)."""
    diff = report.baseline
    text = Messages()
    test_index, tests = _test_table(report)
    cells = _cells(report, test_index, text)
    data = {
        "schema": SCHEMA,
        "generator": f"streammatrix {streammatrix.__version__}",
        "generated": report.generated.isoformat() if report.generated else None,
        "matrix": report.matrix_path or None,
        "required": list(report.required),
        "summary": headline.text(report),
        "definition": DEFINITION,
        "codes": dict(stored.BY_CODE, **{stored.NONE_CODE: None}),
        "axes": [a.name for a in axes.AXES],
        "minimum": [_minimum(m) for m in report.minimums],
        "cells": cells,
        "tests": tests,
        "features": _features(report),
        "latencies": stored.table(
            ("cell", "test", "feature", "latency_ms", "target_ms"),
            (
                [cid, lat.test, lat.feature, ms, target]
                for lat in report.latencies
                for cid, (ms, target) in lat.values.items()
            ),
        ),
        "unexpected": _unexpected(report.unexpected, text, report.causes),
        "causes": [_cause(c, text) for c in report.causes],
        "protocol_dependent": _dependence_table(report.protocol_dependent, text),
        "parser_dependent": stored.table(
            ("group", "feature", "server", "client", "python", "protocol", "sides"),
            (
                [
                    d.group,
                    d.feature,
                    d.server,
                    d.client,
                    d.python,
                    d.protocol,
                    [[s.cell, s.parser, s.classes, s.outcome, text(s.message)] for s in d.sides],
                ]
                for d in report.parser_dependent
            ),
        ),
        # the same table between topologies: each side's topology, and its measured mode
        "topology_dependent": _dependence_table(report.topology_dependent, text),
        "baseline": None
        if diff is None
        else {
            "source": diff.source,
            "new_failures": [vars(c) for c in diff.new_failures],
            "new_passes": [vars(c) for c in diff.new_passes],
            "new_cells": diff.new_cells,
            "gone_cells": diff.gone_cells,
            "not_compared": diff.not_compared,
        },
        "warnings": report.warnings,
        "facts": _unexpected(report.facts, text, []),
        "overview": overview(report).to_dict(),
        "history": stored.pack_history(report.history) if report.history else {},
        "badge": badge(report),
        "ranges": report_ranges.to_dict(report.boundaries),
    }
    data["messages"] = text.texts
    return data


def write(report: Report, path: str | Path) -> Path:
    text = json.dumps(to_dict(report), ensure_ascii=False, separators=(",", ":"))
    return files.write_text(path, text + "\n")
