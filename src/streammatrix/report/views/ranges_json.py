"""The ``ranges`` part of report.json (schema streammatrix-report/2): release ranges per
feature, the supported releases and requirement per line, declared ranges, every bisection
step, what is still open and the server-axis notes."""

from __future__ import annotations

from typing import Any

from streammatrix.report.analysis.boundaries import Boundaries
from streammatrix.report.analysis.ranges import Line


def _line(line: Line) -> dict[str, Any]:
    return {
        "server": line.server,
        "server_label": line.server_label,
        "python": line.python,
        "protocol": line.protocol,
        "client_family": line.family,  # the stepping family (a server family on that axis)
        "axis": line.axis,  # "client": client releases on one server; "server": the reverse
        "releases": line.releases,
        "not_installable": line.not_installable,
    }


def to_dict(found: Boundaries | None) -> dict[str, Any]:
    if found is None:
        found = Boundaries()
    return {
        "features": [
            {
                **_line(fr.line),
                "feature": fr.feature,
                "spans": [
                    {
                        "outcome": s.outcome,
                        "first": s.first,
                        "last": s.last,
                        "releases": s.releases,
                        "measured": s.measured,
                    }
                    for s in fr.spans
                ],
                "passes_from": fr.passes_from,
                "precision": fr.precision,
            }
            for fr in found.features
        ],
        "supported": [
            {
                **_line(s.line),
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
    }
