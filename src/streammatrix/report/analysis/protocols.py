"""Features that depend on the protocol (or the topology): the same server, client and Python, and
a feature whose outcome differs between the cells that claim different protocols (RESP2, RESP3,
...), or different topologies (standalone, cluster: :func:`topology_dependences`).

Each side keeps its measured outcome and the message of the test that decided it, so the report
says not only *that* XREAD breaks under RESP3 but how. A cell that claims a protocol its client or
server cannot speak at all (no connection of it was measured: every test unsupported) is left
out: that is the client or server as a whole, which the grid shows, not a feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis.model import Cell, Entry, FeatureRow, Report


@dataclass
class Side:
    """One protocol's cell of a protocol-dependent feature."""

    cell: str
    protocol: str  # e.g. "RESP3", "RESP2 (default)"
    resp: str  # what the cell's connections were measured to speak
    outcome: str  # the measured outcome (not the expectation's)
    message: str = ""  # the first line of the deciding test's failure, "" for a pass


@dataclass
class ProtocolDependence:
    group: str
    feature: str
    server: str  # labels, e.g. "Redis 7.0.15"
    client: str
    python: str
    sides: list[Side] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.group}/{self.feature}"


def deciding_message(entry: Entry) -> str:
    """The first line of the message of the test that decided ``entry``'s measured outcome
    ("" for a pass): what each side of a dependence shows."""
    if entry.measured == o.PASS:
        return ""
    texts = [t.message or t.reason for t in entry.tests if t.outcome == entry.measured]
    text = next((t for t in texts if t), "")
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _side(cell: Cell, row: FeatureRow) -> Side | None:
    entry = row.entries.get(cell.id)
    if entry is None or entry.measured is None:
        return None
    message = deciding_message(entry)
    return Side(cell.id, cell.at.protocol_label, cell.at.resp, entry.measured, message)


def dependences(report: Report) -> list[ProtocolDependence]:
    """Every (feature, server, client, python) whose outcome differs between protocols, with
    the other axes fixed: cells of different parsers are compared only with their own parser's
    (a feature of hiredis is not a feature of the protocol), and likewise topologies."""
    return _dependences(
        report,
        lambda c: c.at.protocol,
        lambda c: bool(c.at.resp or not c.at.protocol),
        lambda c: (c.record.parser, c.at.topology),
        lambda side, _: side,
    )


def topology_dependences(report: Report) -> list[ProtocolDependence]:
    """Every (feature, server, client, python) whose outcome differs between topologies; each
    side is labelled with its topology (and the connections' measured mode)."""

    def label(side: Side, cell: Cell) -> Side:
        return Side(side.cell, cell.at.topology, cell.record.mode, side.outcome, side.message)

    return _dependences(
        report, lambda c: c.at.topology, lambda c: bool(c.at.topology and c.record.mode),
        lambda c: (c.at.protocol, c.record.parser),
        label,
    )  # fmt: skip


def _dependences(report: Report, axis, usable, other, label) -> list[ProtocolDependence]:
    """Per (server, client, python and the other axes' claims), the features whose outcome
    differs between the values of ``axis``."""
    trios: dict[tuple[str, ...], list[Cell]] = {}
    for cell in report.cells:
        if cell.status == o.CELL_OK and usable(cell):
            key = (cell.record.server, cell.record.client, cell.record.python, *other(cell))
            trios.setdefault(key, []).append(cell)
    found = []
    for row in report.rows:
        for cells in trios.values():
            if len({axis(c) for c in cells}) < 2:
                continue
            sides = [label(s, c) for c in cells if (s := _side(c, row)) is not None]
            if len({s.outcome for s in sides}) > 1:
                at = cells[0].at
                found.append(
                    ProtocolDependence(
                        row.group,
                        row.feature,
                        at.server_label,
                        at.client_label,
                        at.python_version,
                        sides,
                    )
                )
    return found
