"""Features that depend on the parser: the same server, client, Python and protocol, and a feature
whose outcome differs between the cells that claim different parsers (python, hiredis).

Each side keeps its measured outcome, the parser classes its connections were measured to use
and the message of the test that decided it. Only cells that ran and proved their parser (at
least one connection measured) take part: a skipped hiredis cell (it did not install) is the
environment, which the grid shows, not a feature. A cell of a row that names no parser takes
part with the one parser its connections were measured to use (a plain row beside its
``redis[hiredis]`` row is the python side).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streammatrix.junit.records import CellRecord
from streammatrix.plugin import outcomes as o
from streammatrix.plugin.parser import family
from streammatrix.report.analysis.model import Cell, FeatureRow, Report
from streammatrix.report.analysis.protocols import deciding_message


@dataclass
class Side:
    """One parser's cell of a parser-dependent feature."""

    cell: str
    parser: str  # e.g. "hiredis 3.1.0", "python"
    classes: str  # the parser classes its connections used, e.g. "_HiredisParser"
    outcome: str  # the measured outcome (not the expectation's)
    message: str = ""  # the first line of the deciding test's failure, "" for a pass


@dataclass
class ParserDependence:
    group: str
    feature: str
    server: str  # labels, e.g. "Redis 7.0.15"
    client: str
    python: str
    protocol: str  # e.g. "RESP3", "default"
    sides: list[Side] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.group}/{self.feature}"


def label(record: CellRecord) -> str:
    """The parser as the grid shows it: "hiredis 3.1.0", "python"; "" without a claim."""
    version = record.prop(o.SUITE_CLIENT_PARSER_VERSION)
    return version if record.parser and version else record.parser


def measured(cell: Cell) -> str:
    """The parser a cell used: its claim, else (a row that names none) the one parser every
    measured connection of it used ("" when none was measured, or they used several)."""
    if cell.record.parser:
        return cell.record.parser
    used = {family(c) for c in cell.record.parser_classes.split()}
    return used.pop() if len(used) == 1 else ""


def _side(cell: Cell, row: FeatureRow) -> Side | None:
    entry = row.entries.get(cell.id)
    if entry is None or entry.measured is None:
        return None
    message = deciding_message(entry)
    shown = cell.at.parser or f"{measured(cell)} (measured, none named)"
    return Side(cell.id, shown, cell.record.parser_classes, entry.measured, message)


def dependences(report: Report) -> list[ParserDependence]:
    """Every (feature, server, client, python, protocol) whose outcome differs between parsers.

    The server, client and Python are the measured releases, not the rows' names: two client
    rows of one release, each with a parser of its own, are that release with each parser."""
    groups: dict[tuple[str, ...], list[Cell]] = {}
    for cell in report.cells:
        rec, at = cell.record, cell.at
        if cell.status == o.CELL_OK and measured(cell) and rec.parser_classes:
            key = (
                at.server_family, at.server_version, at.client_family, at.client_version,
                at.python_version, rec.protocol,
            )  # fmt: skip
            groups.setdefault(key, []).append(cell)
    found = []
    for row in report.rows:
        for cells in groups.values():
            if len({measured(c) for c in cells}) < 2:
                continue
            made = [(measured(c), _side(c, row)) for c in cells]
            sides = [s for _, s in made if s is not None]
            outcomes: dict[str, set[str]] = {}
            for parser, side in made:
                if side is not None:
                    outcomes.setdefault(parser, set()).add(side.outcome)
            # the parser decides: each parser's cells agree, and the parsers do not (cells of
            # one parser that disagree, two rows of one release, differ by something else)
            agree = all(len(each) == 1 for each in outcomes.values())
            if agree and len({frozenset(each) for each in outcomes.values()}) > 1:
                at = cells[0].at
                found.append(
                    ParserDependence(
                        row.group, row.feature, at.server_label, at.client_label,
                        at.python_version, at.protocol_label, sides,
                    )
                )  # fmt: skip
    return found
