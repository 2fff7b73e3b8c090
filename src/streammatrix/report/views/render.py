"""report.md and report.html, rendered with jinja2 from templates shipped in the package.

The HTML page is one self-contained file: inline CSS, no script, no font, image or any other
request. The Markdown fits a CI job summary or a pull-request comment: the full grid is folded
away and left out when it would make the comment too long.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from streammatrix import files
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import axes
from streammatrix.report.analysis.minimums import DEFINITION
from streammatrix.report.analysis.model import Cell, Entry, Report
from streammatrix.report.analysis.vocabulary import DESCRIPTIONS, GRID_OUTCOMES, LABELS
from streammatrix.report.views import budget as page
from streammatrix.report.views import markdown
from streammatrix.versions import CLIENT_LABELS, SERVER_LABELS

MARKDOWN_GRID_LIMIT = 40_000  # characters; a PR comment holds 65,536 in all
MARKDOWN_FAILURE_LIMIT = 50
MARKDOWN_BUDGET = 60_000  # bytes report.md stays under, whatever the matrix size


@dataclass
class Failure:
    """One not-passing test (or a cell that could not run), with what explains it."""

    anchor: str
    cell: Cell
    test: str
    feature: str
    shown: str  # outcome as the grid shows it
    measured: str
    message: str
    text: str
    note: str = ""

    @property
    def first_line(self) -> str:
        return next((line for line in self.message.splitlines() if line.strip()), self.measured)


def failures(report: Report) -> list[Failure]:
    """Every fail/error result and every cell that could not run, in grid order."""
    found = []
    counter = itertools.count(1)
    for cell in report.cells:
        if cell.status == o.CELL_ERROR:
            found.append(
                Failure(
                    f"f{next(counter)}",
                    cell,
                    "",
                    "",
                    o.ERROR,
                    o.ERROR,
                    cell.note,
                    cell.record.detail,
                )
            )
        for test in cell.record.tests:
            if test.outcome not in (o.FAIL, o.ERROR):
                continue
            expected = report.expected.get((cell.id, test.id))
            shown = o.EXPECTED_FAILURE if expected else test.outcome
            note = (expected.reason or f"expected {expected.outcome}") if expected else ""
            found.append(
                Failure(
                    f"f{next(counter)}",
                    cell,
                    test.id,
                    test.feature,
                    shown,
                    test.outcome,
                    test.message or test.reason,
                    test.text,
                    note,
                )
            )
    return found


def _anchors(items: list[Failure]) -> dict[tuple[str, str], str]:
    """(cell id, test id or "") -> anchor of its failure details."""
    return {(f.cell.id, f.test): f.anchor for f in items}


def entry_anchor(anchors: dict[tuple[str, str], str], cell: Cell, entry: Entry) -> str:
    for test in entry.tests:
        if (cell.id, test.id) in anchors:
            return anchors[(cell.id, test.id)]
    if entry.outcome == o.ERROR and not entry.tests:
        return anchors.get((cell.id, ""), "")
    return ""


def server_spans(cells: list[Cell]) -> Iterator[tuple[str, int]]:
    """Consecutive columns with the same server: (label, how many columns)."""
    for label, group in itertools.groupby(
        cells, key=lambda c: (c.record.server, c.at.server_label)
    ):
        yield label[1], len(list(group))


def _families(report: Report) -> tuple[list[str], list[str]]:
    servers = list(dict.fromkeys(f for r in report.rows for f in r.min_server))
    clients = list(dict.fromkeys(f for r in report.rows for f in r.min_client))
    return servers, clients


def _ms(value: float | None) -> str:
    if value is None:
        return "\u2013"  # en dash
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("streammatrix.report.views", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2.html")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    # report.md: untrusted text never becomes markup (see streammatrix.report.views.markdown)
    env.filters["md"] = markdown.text
    env.filters["code"] = markdown.code
    env.filters["code_cell"] = markdown.code_cell
    env.filters["url"] = markdown.url
    env.filters["ms"] = _ms
    return env


def context(report: Report) -> dict[str, Any]:
    items = failures(report)
    server_families, client_families = _families(report)
    return {
        "report": report,
        "o": o,
        "labels": LABELS,
        "legend": [(k, *LABELS[k], DESCRIPTIONS[k]) for k in GRID_OUTCOMES],
        "definition": DEFINITION,
        "failures": items,
        "anchors": _anchors(items),
        "entry_anchor": entry_anchor,
        "server_spans": list(server_spans(report.cells)),
        "server_families": server_families,
        "client_families": client_families,
        "server_labels": SERVER_LABELS,
        "client_labels": CLIENT_LABELS,
        "protocols_shown": any(c.at.protocol or c.at.resp for c in report.cells),
        "grid_axes": [axis for axis in axes.AXES if axis.shown(report.cells)],
        "parsers_shown": any(c.at.parser for c in report.cells),
        "latency_cells": [
            c for c in report.cells if any(c.id in lat.values for lat in report.latencies)
        ],
        **page.context(report),
    }


def render_markdown(report: Report, budget: int = MARKDOWN_BUDGET) -> str:
    env = environment()
    ctx = context(report)
    grid = env.get_template("report_grid.md.j2").render(ctx)
    ctx["grid"] = grid if len(grid) <= MARKDOWN_GRID_LIMIT else ""
    ctx["failure_limit"] = MARKDOWN_FAILURE_LIMIT
    template = env.get_template("report.md.j2")
    return page.fit(lambda extra: template.render({**ctx, **extra}), budget)


def render_html(report: Report) -> str:
    return environment().get_template("report.html").render(context(report))


def write_markdown(report: Report, path: str | Path) -> Path:
    return files.write_text(path, render_markdown(report))


def write_html(report: Report, path: str | Path) -> Path:
    return files.write_text(path, render_html(report))
