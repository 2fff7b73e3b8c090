"""The ``ranges`` part of report.json (schema streammatrix-report/3): release ranges per
feature, the supported releases and requirement per line, declared ranges, every bisection
step, what is still open and the server-axis notes."""

from __future__ import annotations

from typing import Any

from streammatrix.report.analysis.boundaries import Boundaries
from streammatrix.report.analysis.ranges import Line
from streammatrix.report.analysis.stored import table

_LINE_COLUMNS = (
    "server", "server_label", "python", "protocol", "client_family", "axis", "releases",
    "not_installable", "measured", "topology",
)  # fmt: skip


class _Lines:
    """Every line once (schema /3): features and supported releases name it by index."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self._index: dict[int, int] = {}

    def __call__(self, line: Line) -> int:
        if id(line) not in self._index:
            self._index[id(line)] = len(self.rows)
            self.rows.append(
                [line.server, line.server_label, line.python, line.protocol, line.family,
                 line.axis, line.releases, line.not_installable,
                 [r for r in line.releases if r in line.measured], line.topology]
            )  # fmt: skip
        return self._index[id(line)]


def to_dict(found: Boundaries | None) -> dict[str, Any]:
    if found is None:
        found = Boundaries()
    lines = _Lines()
    return {
        # spans: [outcome, first release, last release]; a span's releases are the line's
        # between them, its measured ones those of the line's "measured" among them
        "features": table(
            ("line", "feature", "spans", "passes_from", "precision"),
            (
                [
                    lines(fr.line),
                    fr.feature,
                    [[s.outcome, s.first, s.last] for s in fr.spans],
                    fr.passes_from,
                    fr.precision,
                ]
                for fr in found.features
            ),
        ),
        "supported": [
            {
                "line": lines(s.line),
                "features": s.features,
                "first": s.first,
                "first_precision": s.first_precision,
                "since": s.since,
                "since_precision": s.since_precision,
                "requirement": s.requirement,
                "failing": s.failing,
                "sentence": s.sentence,
            }
            for s in found.supported
        ],
        "declared": [
            {
                "declared": d.text,
                "server": d.line.server,
                "python": d.line.python,
                "ok": d.ok,
                "admitted_failing": d.admitted_failing,
                "admitted_open": d.admitted_open,
                "corrected": d.corrected,
                "sentence": d.sentence,
            }
            for d in found.declared
        ],
        "bisection": {
            "bisected": found.bisected,
            "steps": [vars(s) for s in found.steps],
            "open": found.open,
        },
        "server_notes": found.server_notes,
        "lines": table(_LINE_COLUMNS, lines.rows),
    }
