"""The axes of a cell beyond its server and client: Python, protocol, parser and topology.

Each axis is one entry: its name and the value a cell has on it. The glance folds an axis that
changes no answer, the grid's header shows one row per axis, and report.json's cell table has
one column per axis; a new axis (a topology, a parser) is one more entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streammatrix.report.analysis.model import Cell


@dataclass(frozen=True)
class Axis:
    name: str  # "python", "protocol": report.json's column, the grid's header row
    value: Callable[[Cell], str]  # short, as the glance shows it: "py3.11", "RESP3"
    label: Callable[[Cell], str]  # as the grid's header row shows it: "3.11.7", "RESP3"
    title: Callable[[Cell], str] = lambda cell: cell.id  # the header's hover text
    shown: Callable[[list[Cell]], bool] = lambda cells: True  # has a grid header row


AXES: tuple[Axis, ...] = (
    Axis(
        "python",
        value=lambda cell: f"py{cell.record.python or cell.at.python_version}",
        label=lambda cell: cell.at.python_version,
    ),
    Axis(
        "protocol",
        value=lambda cell: cell.at.protocol_label,
        label=lambda cell: cell.at.protocol_label,
        title=lambda cell: f"measured: RESP{cell.at.resp or '?'}",
        shown=lambda cells: any(c.at.protocol or c.at.resp for c in cells),
    ),
    Axis(
        "parser",
        value=lambda cell: cell.at.parser,  # "python", "hiredis 3.1.0"; "" where none is named
        label=lambda cell: cell.at.parser or "none named",
        title=lambda cell: f"measured: {cell.record.parser_classes or '?'}",
        shown=lambda cells: any(c.at.parser for c in cells),
    ),
    Axis(
        "topology",
        value=lambda cell: cell.at.topology or "standalone",
        label=lambda cell: cell.at.topology or "standalone",
        title=lambda cell: f"measured: {cell.record.mode or '?'}",
        shown=lambda cells: any(c.at.topology for c in cells),
    ),
)


def values(cell: Cell) -> tuple[str, ...]:
    """The cell's value on every axis, in AXES order."""
    return tuple(axis.value(cell) for axis in AXES)
