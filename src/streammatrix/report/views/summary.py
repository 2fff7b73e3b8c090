"""One look answers the question: a compact server x client table under the headline.

Rows are servers at their exact versions, columns clients; each entry says, for the required
features, "✔ pass", "✘ n failing", "⊘ n unsupported", "! error" (a symbol and a word). It stays
a glance at any scale:

- matrix.yaml rows that resolve to the same release are one row (or column);
- an axis beyond server and client (:mod:`..analysis.axes`: Python, protocol) that changes no
  answer is folded away; one that does makes rows of its own ("Redis 7.2.4 · RESP3");
- consecutive client releases with the same answer in every row are one column
  ("redis-py 5.0.8-8.2.0");
- past ``COLUMN_LIMIT`` columns, neighbouring columns merge where they differ least, the entry
  saying every answer it holds; the grid below has each cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import axes as cell_axes
from streammatrix.report.analysis.model import Cell, Report
from streammatrix.versions import family_rank

COLUMN_LIMIT = 12  # columns of the glance, the server column included


@dataclass(frozen=True)
class Answer:
    symbol: str
    word: str
    kind: str  # css class: pass, fail, unsupported, error, excluded, skipped, expected, flaky

    def __str__(self) -> str:
        return f"{self.symbol} {self.word}"


_RANK = ("error", "fail", "unsupported", "expected", "flaky", "pass", "skipped", "excluded")


@dataclass
class Pair:
    """One entry of the glance: every answer its cells gave (one, unless columns merged)."""

    server: str
    client: str
    parts: list[tuple[str, Answer]] = field(default_factory=list)  # ("", answer), worst first

    @property
    def folded(self) -> bool:
        return len(self.parts) == 1

    def __str__(self) -> str:
        return " / ".join(str(answer) for _, answer in self.parts)


@dataclass
class Column:
    family: str  # e.g. "redis-py"
    releases: list[str]  # labels' versions, oldest first
    keys: list[str]  # the client labels folded into this column

    @property
    def label(self) -> str:
        first, last = self.releases[0], self.releases[-1]
        if not self.family:  # whole labels: merged past the limit, or with no version of their own
            return first if first == last else f"{first.split(' - ')[0]} - {last.split(' - ')[-1]}"
        return f"{self.family} {first}" if first == last else f"{self.family} {first}-{last}"


@dataclass
class Overview:
    servers: list[str]  # row labels: the server, with the axes that matter
    clients: list[str]  # column labels
    pairs: dict[tuple[str, str], Pair]
    folded_axes: list[str] = field(default_factory=list)  # axes that change no answer
    merged: bool = False  # columns merged past the limit: entries hold several answers

    def get(self, server: str, client: str) -> Pair | None:
        return self.pairs.get((server, client))

    @property
    def columns(self) -> int:
        return len(self.clients) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "servers": self.servers,
            "clients": self.clients,
            "folded_axes": self.folded_axes,
            "pairs": [
                {
                    "server": p.server,
                    "client": p.client,
                    "answer": str(p),
                    "parts": [
                        {"axes": axes, "symbol": a.symbol, "word": a.word} for axes, a in p.parts
                    ],
                }
                for p in self.pairs.values()
            ],
        }


def answer(report: Report, cell: Cell) -> Answer:
    """The cell's answer for the required features."""
    if cell.status == o.CELL_EXCLUDED:
        return Answer("\u2013", "excluded", "excluded")
    if cell.status == o.CELL_SKIPPED:
        return Answer("·", "skipped", "skipped")
    if cell.status == o.CELL_ERROR:
        return Answer("!", "error", "error")
    failing = unsupported = expected = flaky = 0
    for row in report.rows:
        entry = row.entries.get(cell.id)
        if not row.required or entry is None:
            continue
        if entry.outcome == o.EXPECTED_FAILURE:
            expected += 1
        elif entry.outcome in (o.FAIL, o.ERROR):
            failing += 1
        elif entry.outcome in (o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT):
            unsupported += 1
        elif entry.outcome == o.FLAKY:
            flaky += 1
    if failing:
        return Answer("✘", f"{failing} failing", "fail")
    if unsupported:
        return Answer("⊘", f"{unsupported} unsupported", "unsupported")
    if expected:
        return Answer("✔?", f"{expected} expected", "expected")
    if flaky:
        return Answer("≈", f"pass, {flaky} flaky", "flaky")
    return Answer("✔", "pass", "pass")


def _folded_axes(found: list[tuple[str, str, tuple[str, ...], Answer]]) -> list[int]:
    """The axes (indexes into AXES) that change no answer: with the others fixed, every value
    of the axis gives the same answer. Checked one after another, a folded one left out."""
    folded: list[int] = []
    for i in range(len(cell_axes.AXES)):
        keep = [j for j in range(len(cell_axes.AXES)) if j != i and j not in folded]
        seen: dict[tuple, set[Answer]] = {}
        for server, client, axes, ans in found:
            seen.setdefault((server, client, *(axes[j] for j in keep)), set()).add(ans)
        if all(len(s) == 1 for s in seen.values()):
            folded.append(i)
    return folded


def overview(report: Report, limit: int = COLUMN_LIMIT) -> Overview:
    """The glance, rows and columns in grid order (report.cells is sorted)."""
    found = [
        (c.at.server_label, c.at.client_label, cell_axes.values(c), answer(report, c))
        for c in report.cells
    ]
    folded = _folded_axes(found)
    shown = [j for j in range(len(cell_axes.AXES)) if j not in folded]
    rows: list[str] = []
    answers: dict[tuple[str, str], list[Answer]] = {}
    for server, client, axes, ans in found:
        label = " · ".join([server, *(axes[j] for j in shown if axes[j])])  # "": none named
        if label not in rows:
            rows.append(label)
        answers.setdefault((label, client), [])
        if ans not in answers[(label, client)]:
            answers[(label, client)].append(ans)
    columns = _columns(report, rows, answers)
    merged = False
    while len(columns) + 1 > limit and len(columns) > 1:
        columns = _merge_closest(columns, rows, answers)
        merged = True
    pairs = {}
    for column in columns:
        for row in rows:
            got: list[Answer] = []
            for key in column.keys:
                got += [a for a in answers.get((row, key), []) if a not in got]
            if got:
                got.sort(key=lambda a: _RANK.index(a.kind) if a.kind in _RANK else 99)
                pairs[(row, column.label)] = Pair(row, column.label, [("", a) for a in got])
    return Overview(
        rows,
        [c.label for c in columns],
        pairs,
        folded_axes=[cell_axes.AXES[i].name for i in folded if len({f[2][i] for f in found}) > 1],
        merged=merged,
    )


def _vector(keys: list[str], rows: list[str], answers: dict) -> tuple:
    return tuple(frozenset(a for k in keys for a in answers.get((row, k), [])) for row in rows)


def _columns(report: Report, rows: list[str], answers: dict) -> list[Column]:
    """One column per client release, consecutive ones with the same answers folded."""
    labels: dict[str, Cell] = {}
    for cell in report.cells:
        labels.setdefault(cell.at.client_label, cell)
    order = sorted(labels, key=lambda label: _client_key(labels[label]))
    columns: list[Column] = []
    for label in order:
        at = labels[label].at
        if at.client_version and label.endswith(f" {at.client_version}"):
            family, release = label[: -len(at.client_version) - 1], at.client_version
        else:  # "redis-py 4.0.0 (not installed)": the whole label, never its family twice
            family, release = "", label
        last = columns[-1] if columns else None
        if (
            last is not None
            and last.family == family
            and _vector(last.keys, rows, answers) == _vector([label], rows, answers)
        ):
            last.releases.append(release)
            last.keys.append(label)
        else:
            columns.append(Column(family, [release], [label]))
    return columns


def _merge_closest(columns: list[Column], rows: list[str], answers: dict) -> list[Column]:
    """Merge the two neighbouring columns (of one family if any) whose answers differ in the
    fewest rows."""

    def cost(i: int) -> tuple[int, int]:
        a, b = columns[i], columns[i + 1]
        va, vb = _vector(a.keys, rows, answers), _vector(b.keys, rows, answers)
        return (a.family != b.family, sum(x != y for x, y in zip(va, vb)))

    i = min(range(len(columns) - 1), key=cost)
    a, b = columns[i], columns[i + 1]
    if a.family == b.family:
        both = Column(a.family, a.releases + b.releases, a.keys + b.keys)
    else:
        both = Column("", [f"{a.label} - {b.label}"], a.keys + b.keys)
    return [*columns[:i], both, *columns[i + 2 :]]


def _client_key(cell: Cell) -> tuple:
    key = cell.at.client_key
    return (family_rank(cell.at.client_family), cell.at.client_family, key is None, key or 0)
