"""What the templates show beyond the report itself: the compact overview, folded grid rows,
facts per feature, the history tables, and the Markdown size budget.

report.md stays under its budget whatever the matrix size: when the whole page is too long it
leaves out detail in a stated order, and says what it left out, pointing at report.html:

1. the grid,
2. the per-cell rows (the cells and latency tables),
3. the failure details,
4. the longer lists are cut shorter (facts, history, protocol dependences, breaks),
5. the minimum table's rows that share the most common minimums (no break, same entry in every
   column) fold into one row saying how many features it stands for: every feature's minimum
   is still on the page, the folded names are in report.html.

The headline, the glance, the per-feature minimum table, the requirement and the release
ranges always stay: they are the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import history as report_history
from streammatrix.report.analysis.model import FeatureRow, Report, Unexpected
from streammatrix.report.views import feature_table, headline, ranges_view
from streammatrix.report.views.folding import folded
from streammatrix.report.views.summary import overview

FACT_LIMIT = 8  # cells named per feature among the facts
HISTORY_LIMIT = 20  # rows of each history table

# (what is left out, the template variables that leave it out), applied one after another.
DROP_ORDER: tuple[tuple[str, dict[str, Any]], ...] = (
    ("the grid", {"grid": False}),
    ("the per-cell rows (cells, latency)", {"cells": False}),
    ("the failure details", {"failures": False}),
    ("the longer lists", {"short": True}),
    ("the names of the features that share the most common minimums", {"minimums": False}),
)
FACT_FEATURES_SHORT = 10  # features the facts name once the lists are cut shorter


def _facts_by_feature(facts: list[Unexpected]) -> list[tuple[str, list[Unexpected]]]:
    found: dict[str, list[Unexpected]] = {}
    for fact in facts:
        items = found.setdefault(fact.feature, [])
        if all(u.cell != fact.cell for u in items):
            items.append(fact)
    return sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def _server_starts(report: Report) -> set[str]:
    """The first cell (column) of each server, where the grid draws a group border."""
    starts, last = set(), None
    for cell in report.cells:
        key = (cell.record.server, cell.at.server_label)
        if key != last:
            starts.add(cell.id)
        last = key
    return starts


def _common_minimums(report: Report) -> tuple[list[FeatureRow], dict[str, Any] | None]:
    """(the minimum table's rows without the largest set of rows that have no break and
    the same entries, that set as ``{"count", "required", "entries"}``); None when no two
    rows share their entries."""
    columns = feature_table.columns(report)
    same: dict[tuple[bool, tuple[str, ...]], list[FeatureRow]] = {}
    for row in report.rows:
        if not row.breaks:
            key = (row.required, tuple(feature_table.entry(row, c) for c in columns))
            same.setdefault(key, []).append(row)
    if not same:
        return report.rows, None
    (required, entries), rows = max(same.items(), key=lambda kv: len(kv[1]))
    if len(rows) < 2:
        return report.rows, None
    folded_keys = {row.key for row in rows}
    kept = [row for row in report.rows if row.key not in folded_keys]
    return kept, {"count": len(rows), "required": required, "entries": list(entries)}


def context(report: Report) -> dict[str, Any]:
    groups, folds = folded(report)
    minimum_rows, minimum_fold = _common_minimums(report)
    history = report.history or {}
    return {
        "headline": headline.lines(report),
        **ranges_view.context(report.boundaries),
        "minimum_columns": feature_table.columns(report),
        "minimum_entry": feature_table.entry,
        "minimum_rows": minimum_rows,
        "minimum_fold": minimum_fold,
        "fact_features": None,
        "overview": overview(report),
        "diff_groups": groups,
        "folds": folds,
        "folded_keys": {row.key for fold in folds for row in fold.rows},
        "server_starts": _server_starts(report),
        "facts_by_feature": _facts_by_feature(report.facts),
        "fact_limit": FACT_LIMIT,
        "flaky_count": sum(t.outcome == o.FLAKY for c in report.cells for t in c.record.tests),
        "flaky_tests": [
            (c, t) for c in report.cells for t in c.record.tests if t.outcome == o.FLAKY
        ],
        "flaky_nights": report_history.flaky_across_nights(history) if history else [],
        "flaky_flips": report_history.FLAKY_FLIPS,
        "night_pairs": {
            (key, cid) for key, cid, _, _ in report_history.flaky_across_nights(history)
        }
        if history
        else set(),
        "flipping": [
            x for x in report_history.flipping(history) if x[2] < report_history.FLAKY_FLIPS
        ]
        if history
        else [],
        "history_limit": HISTORY_LIMIT,
        "trail": report_history.trail,
        "budget": {"failures": True, "cells": True, "grid": True, "minimums": True},
        "left_out": [],
        "budget_bytes": 0,
    }


def fit(render: Callable[[dict[str, Any]], str], budget: int) -> str:
    """The page rendered with as much detail as fits in ``budget`` bytes (UTF-8)."""
    extra: dict[str, Any] = {"budget_bytes": budget}
    text = render(extra)
    flags = {"failures": True, "cells": True, "grid": True, "minimums": True}
    left_out: list[str] = []
    for what, drop in DROP_ORDER:
        if len(text.encode()) < budget:
            return text
        left_out.append(what)
        flags.update({k: v for k, v in drop.items() if k in flags})
        extra = {**extra, "budget": dict(flags), "left_out": list(left_out)}
        if drop.get("grid") is False:
            extra["grid"] = ""
        if drop.get("short"):
            extra.update(
                fact_limit=2, history_limit=5, failure_limit=10, fact_features=FACT_FEATURES_SHORT
            )
        text = render(extra)
    if len(text.encode()) < budget:
        return text
    # Still too long (an enormous list of unexpected results): cut at a line, say so.
    # The cut takes the closing note with it: say here what the page had left out already.
    before = f" (it left out {', '.join(left_out)} already)" if left_out else ""
    note = f"\n\n_… cut here to stay under the size budget{before}: report.html has everything._\n"
    room = budget - len(note.encode()) - 1
    cut = text.encode()[:room].decode(errors="ignore")
    return cut[: cut.rfind("\n")] + note
