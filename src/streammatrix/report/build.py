"""The compatibility report: per-cell JUnit files in, junit.xml + report.json + report.md +
report.html out.

:func:`build_report` turns merged cells into a :class:`~.analysis.model.Report` (plain data,
from the analysis); :func:`write_reports` (through the views) is what ``nox -s report`` and
the end of ``nox -s matrix`` call. It returns what the command line needs to pick an exit
code: the unexpected results and the new failures since a baseline. Nothing here decides the
exit code itself.
"""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from streammatrix import files
from streammatrix.config.model import ALL_FEATURES, Matrix
from streammatrix.errors import ConfigError
from streammatrix.junit import read as merge
from streammatrix.junit.write import write_junit
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import baseline as report_baseline
from streammatrix.report.analysis import boundaries as report_boundaries
from streammatrix.report.analysis import causes as report_causes
from streammatrix.report.analysis import expectations as expect
from streammatrix.report.analysis import grid as report_grid
from streammatrix.report.analysis import history as report_history
from streammatrix.report.analysis import minimums as report_versions
from streammatrix.report.analysis import parsers as report_parsers
from streammatrix.report.analysis import protocols as report_protocols
from streammatrix.report.analysis.model import Cell, Change, Report, Unexpected
from streammatrix.report.views import badge as report_badge
from streammatrix.report.views import headline as report_headline
from streammatrix.report.views import json_view as report_json
from streammatrix.report.views import render as report_render

__all__ = ["ReportResult", "build_report", "write_reports"]

OUTPUTS = {
    "junit": "junit.xml",
    "json": "report.json",
    "markdown": "report.md",
    "html": "report.html",
    "badge": "badge.json",
}


def _cells(records: Iterable[merge.CellRecord], matrix: Matrix | None) -> list[Cell]:
    records = list(records)
    cells = []
    for record in records:
        at = report_grid.fill_in(report_grid.coordinates(record, matrix), record, records)
        cell = Cell(record, at, status=record.status, log=record.log)
        cell.note = record.reason or (record.detail.splitlines() or [""])[0]
        # Exclusions are decided once, before a run (plan.py); a cell file says what happened.
        # A rule matching a cell that ran anyway (e.g. on a measured version the plan could
        # not know) must not hide its results.
        rule = expect.exclusion(matrix, cell)
        if cell.status == o.CELL_EXCLUDED and rule is not None and not cell.note:
            cell.note = rule.reason
        cells.append(cell)
    return sorted(cells, key=report_grid.cell_order)


def build_report(
    cells: Iterable[merge.CellRecord],
    matrix: Matrix | None,
    baseline: dict[str, Any] | None,
    *,
    warnings: Sequence[str] = (),
    history: int | None = None,
    partial: bool = False,
) -> Report:
    """Classify, group and summarise merged cells (see the modules this one calls).

    ``partial``: the run was interrupted; it is compared with no baseline and is no night of
    history, but the baseline's history is kept."""
    cells = list(cells)
    # bisection cells ran only some features: they feed the release ranges, not the grid
    bisection = _cells([c for c in cells if c.prop(o.SUITE_CELL_BISECT)], matrix)
    shown = _cells([c for c in cells if not c.prop(o.SUITE_CELL_BISECT)], matrix)
    required = tuple(matrix.required) if matrix else ALL_FEATURES
    expectations = tuple(matrix.expected) if matrix else ()
    groups = report_grid.build_groups(shown, required, expectations)
    report = Report(
        cells=shown,
        groups=groups,
        required=required,
        minimums=[],
        latencies=report_grid.latencies(shown),
        expectations=expectations,
        warnings=list(warnings),
        matrix_path=str(matrix.path) if matrix else "",
        generated=datetime.now(timezone.utc).replace(microsecond=0),
    )
    rows = report.rows
    for row in rows:
        report_versions.feature_minimums(row, shown)
    required_rows = [row for row in rows if row.required]
    if rows:  # with no test results at all (every cell errored) there is nothing to match
        unmatched = [p for p in required if not any(report_grid.is_required(r, [p]) for r in rows)]
        if unmatched and len(unmatched) == len(required):
            # every cell would pass "all required features" vacuously: no minimum from nothing
            raise ConfigError(
                f"{report.matrix_path or 'matrix.yaml'}: required: "
                f"{', '.join(map(repr, unmatched))} match no test in the merged cells, so no "
                "minimum supported version can be stated (a typo? required: takes feature ids, "
                "globs or test class names)"
            )
        for pattern in unmatched:
            report.warnings.append(f"required feature {pattern!r} matches no test")
        features = {row.feature for row in rows}
        for expectation in expectations:
            if expectation.feature != "*" and not fnmatch.filter(features, expectation.feature):
                report.warnings.append(
                    f"expected: feature {expectation.feature!r} matches no test (a typo?)"
                )
    report.minimums = report_versions.minimums(shown, required_rows)
    for cell in shown:
        for test in cell.record.tests:
            hit = expect.covering(expectations, cell, test.feature, test.outcome)
            if hit is not None:
                report.expected[(cell.id, test.id)] = hit
    report.unexpected, report.facts = expect.split(report)
    report.protocol_dependent = report_protocols.dependences(report)
    report.parser_dependent = report_parsers.dependences(report)
    report.topology_dependent = report_protocols.topology_dependences(report)
    report.boundaries = report_boundaries.build(
        shown,
        bisection,
        {row.feature for row in required_rows},
        tuple(matrix.declared) if matrix else (),
    )
    report.bisection_cells = bisection
    report.unexpected += report.boundaries.unexpected()
    before = report_baseline.read(baseline) if baseline is not None else None
    if before is not None and not partial:
        report.baseline = report_baseline.diff(report, before)
        report.baseline.not_compared += report_baseline.minimums_not_compared(report, before)
        report.unexpected += report_baseline.newly_failing(report.baseline)
        report.unexpected += report_baseline.minimum_raised(report, before)
    if history is None and matrix is not None:
        history = matrix.history
    if partial and before is not None:
        report.history = report_history.kept(before, history)
    else:
        report.history = report_history.carry(report, before, history)
    report.causes = report_causes.group(report.unexpected, shown)
    return report


def _log_link(record: merge.CellRecord, out_dir: Path, inputs: Sequence[Path]) -> str:
    """The cell's log as a link relative to ``out_dir``, found beside its JUnit file if moved."""
    if not record.log:
        return ""
    log = Path(record.log)
    if log.is_absolute():
        return log.as_posix()
    bases = [record.source.parent, record.source.parent.parent, out_dir, *inputs]
    for base in bases:
        if (base / log).is_file():
            return Path(os.path.relpath(base / log, out_dir)).as_posix()
    return log.as_posix()


def _counts(counts: Counter[str]) -> str:
    return " (" + ", ".join(f"{n} {k}" for k, n in counts.most_common()) + ")" if counts else ""


@dataclass
class ReportResult:
    """What a report run produced, for the command line to print and pick an exit code."""

    report: Report
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return self.report.warnings

    @property
    def unexpected(self) -> list[Unexpected]:
        return self.report.unexpected

    @property
    def new_failures(self) -> list[Change]:
        return self.report.baseline.new_failures if self.report.baseline else []

    @property
    def ok(self) -> bool:
        """Green: no unexpected result and nothing newly failing since the baseline."""
        return not self.unexpected and not self.new_failures

    def summary_lines(self) -> list[str]:
        """A few lines for the console: counts, the headline, the verdict, where the files are."""
        report = self.report
        statuses = Counter(c.status for c in report.cells)
        tests = Counter(t.outcome for c in report.cells for t in c.record.tests)
        lines = [
            f"{len(report.cells)} cells{_counts(statuses)}, "
            f"{sum(tests.values())} test results{_counts(tests)}",
            *report_headline.lines(report),
            f"{len(self.unexpected)} unexpected result(s)"
            if self.unexpected
            else "no unexpected results",
            f"{len(report.facts)} fail(s) below a feature's minimum (facts, not red), "
            f"{tests.get(o.FLAKY, 0)} flaky",
        ]
        unmarked = [c for c in report.cells if any(not t.marked for t in c.record.tests)]
        if unmarked:
            count = sum(not t.marked for c in unmarked for t in c.record.tests)
            lines.append(
                f"{count} test(s) in {len(unmarked)} cell(s) without a feature mark: each is a "
                "feature of its own, grouped by its class (or module)"
            )
        if report.baseline is not None:
            diff = report.baseline
            lines.append(
                f"since the baseline: {len(diff.new_failures)} newly failing, "
                f"{len(diff.new_passes)} newly passing, {len(diff.new_cells)} new cell(s), "
                f"{len(diff.gone_cells)} not run tonight (not compared)"
            )
        if self.warnings:
            lines.append(f"{len(self.warnings)} warning(s), listed above")
        if self.paths:
            names = ", ".join(p.name for k, p in self.paths.items() if k != "html")
            lines.append(f"report: {self.paths['html']} (and {names} beside it)")
        return lines


def write_reports(
    inputs: Sequence[str | Path],
    out_dir: str | Path,
    matrix: Matrix | None = None,
    baseline: str | Path | dict[str, Any] | None = None,
    history: int | None = None,
    partial: bool = False,
) -> ReportResult:
    """Merge the cell files under ``inputs`` and write the four reports into ``out_dir``.

    ``baseline`` is a report.json's path or its data as
    :func:`~.analysis.baseline.load_baseline` read it. Raises
    :class:`~.analysis.baseline.BaselineError` for an unusable baseline; bad cell files only
    produce warnings and error cells.
    """

    out = files.output_dir(out_dir)
    paths = {kind: out / name for kind, name in OUTPUTS.items()}
    inputs = [Path(p) for p in inputs]
    records, warnings = merge.load_cells(inputs, skip=[paths["junit"]])
    data = (
        report_baseline.load_baseline(baseline) if isinstance(baseline, (str, Path)) else baseline
    )
    report = build_report(
        records, matrix, data, warnings=warnings, history=history, partial=partial
    )
    for cell in report.cells:
        cell.log = _log_link(cell.record, out, inputs)
    expected = {key: e.reason or f"expected {e.outcome}" for key, e in report.expected.items()}
    for cell in report.bisection_cells:
        cell.log = _log_link(cell.record, out, inputs)
    write_junit([c.record for c in report.cells], paths["junit"], expected=expected)
    report_json.write(report, paths["json"])
    report_render.write_markdown(report, paths["markdown"])
    report_render.write_html(report, paths["html"])
    report_badge.write(report, paths["badge"])
    return ReportResult(report, paths)
