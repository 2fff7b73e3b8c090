"""The big grid for people: rows identical in every cell are folded into one line.

A row whose entries all show the same outcome in every cell that ran ("pass") says nothing a
single line cannot: "41 features pass in every cell" (cells that could not run, were excluded
or skipped show the same in every row, and stay visible as columns). The rows that differ
somewhere stay, in their groups. Markdown and HTML both use this; the HTML page can unfold
them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.model import FeatureRow, Group, Report
from streammatrix.report.analysis.vocabulary import LABELS

PHRASES = {
    "pass": "pass in every cell",
    "fail": "fail in every cell",
    "error": "error in every cell",
    "unsupported-server": "are unsupported by every server",
    "unsupported-client": "are unsupported by every client",
    "excluded": "are excluded in every cell",
    "expected-failure": "fail as expected in every cell",
    "skipped": "are skipped in every cell",
    "flaky": "are flaky in every cell",
    "none": "have no result in any cell",
}


@dataclass
class Fold:
    """Rows with one outcome in every cell."""

    outcome: str
    rows: list[FeatureRow] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return LABELS[self.outcome][0]

    @property
    def sentence(self) -> str:
        noun = "feature" if len(self.rows) == 1 else "features"
        phrase = PHRASES.get(self.outcome, f"are {self.outcome} in every cell")
        if len(self.rows) == 1:
            phrase = phrase.replace("are ", "is ").replace("have ", "has ")
            phrase = phrase.replace("pass ", "passes ").replace("fail ", "fails ")
            phrase = phrase.replace("error ", "errors ")
        return f"{len(self.rows)} {noun} {phrase}"


def uniform(row: FeatureRow, ran: set[str] | None = None) -> str | None:
    """The one outcome every entry of ``row`` shows (in the cells ``ran``), or None."""
    found = {e.outcome for cid, e in row.entries.items() if ran is None or cid in ran}
    return found.pop() if len(found) == 1 else None


def folded(report: Report) -> tuple[list[Group], list[Fold]]:
    """(groups holding only the rows that differ somewhere, folds of the uniform rows).

    With a single cell nothing is folded: every row would be "identical in every cell".
    """
    if len(report.cells) < 2:
        return report.groups, []
    ran = {c.id for c in report.cells if c.status == o.CELL_OK}
    folds: dict[str, Fold] = {}
    groups = []
    for group in report.groups:
        rows = []
        for row in group.rows:
            outcome = uniform(row, ran) if ran else None
            if outcome is None:
                rows.append(row)
            else:
                folds.setdefault(outcome, Fold(outcome)).rows.append(row)
        if rows:
            groups.append(Group(group.name, rows))
    order = list(LABELS)
    return groups, sorted(folds.values(), key=lambda f: order.index(f.outcome))
