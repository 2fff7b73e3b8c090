"""One look answers the question: a compact server x client table under the headline.

Rows are servers at their exact versions, columns clients; each entry says, for the required
features, "✔ pass", "✘ n failing", "⊘ n unsupported", "! error" (a symbol and a word). The
other axes of a cell (Python, and whatever else its id carries after server and client) are
folded in where every cell of the pair gives the same answer and split out where they do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streammatrix.plugin import outcomes as o
from streammatrix.report.model import Cell, Report
from streammatrix.versions import family_rank


@dataclass(frozen=True)
class Answer:
    symbol: str
    word: str
    kind: str  # css class: pass, fail, unsupported, error, excluded, skipped, expected, flaky

    def __str__(self) -> str:
        return f"{self.symbol} {self.word}"


@dataclass
class Pair:
    server: str
    client: str
    parts: list[tuple[str, Answer]] = field(default_factory=list)  # (other axes, answer)

    @property
    def folded(self) -> bool:
        return len(self.parts) == 1

    def __str__(self) -> str:
        if self.folded:
            return str(self.parts[0][1])
        return "; ".join(f"{axes} {answer}" for axes, answer in self.parts)


@dataclass
class Overview:
    servers: list[str]
    clients: list[str]
    pairs: dict[tuple[str, str], Pair]

    def get(self, server: str, client: str) -> Pair | None:
        return self.pairs.get((server, client))

    def to_dict(self) -> dict[str, Any]:
        return {
            "servers": self.servers,
            "clients": self.clients,
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


def axes(cell: Cell) -> str:
    """What sets the cell apart within its server x client pair: "py3.11" (and later axes)."""
    parts = cell.id.split("--")[2:]
    return " ".join(parts) or cell.at.python_version


def overview(report: Report) -> Overview:
    """The compact table, rows and columns in grid order (report.cells is sorted)."""
    servers: list[str] = []
    clients: list[str] = []
    cells: dict[tuple[str, str], list[Cell]] = {}
    for cell in report.cells:
        server, client = cell.at.server_label, cell.at.client_label
        if server not in servers:
            servers.append(server)
        if client not in clients:
            clients.append(client)
        cells.setdefault((server, client), []).append(cell)
    clients.sort(key=lambda label: _client_key(report, label))
    pairs = {}
    for (server, client), group in cells.items():
        found = [(axes(c), answer(report, c)) for c in group]
        pair = Pair(server, client)
        if len({a for _, a in found}) == 1:
            pair.parts = [("", found[0][1])]
        else:
            pair.parts = found
        pairs[(server, client)] = pair
    return Overview(servers, clients, pairs)


def _client_key(report: Report, label: str) -> tuple:
    cell = next(c for c in report.cells if c.at.client_label == label)
    key = cell.at.client_key
    return (family_rank(cell.at.client_family), cell.at.client_family, key is None, key or 0)
