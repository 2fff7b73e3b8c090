"""The compact shape report.json stores a run in (schema ``streammatrix-report/3``): what the
JSON view writes and the baseline reads back, so its format has this one home.

- a *table* is ``{"columns": [...], "rows": [[...], ...]}``: keys once, not once per row;
- an outcome is one character (``vocabulary.OUTCOME_CODES``): a cell's test outcomes and a
  feature's grid are each one string, in the order of the cell / test tables;
- history keeps its cell ids once and one string per feature and run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from streammatrix.report.analysis.vocabulary import OUTCOME_CODES

NONE_CODE = "."  # no result in that run / cell
BY_CODE = {code: outcome for outcome, code in OUTCOME_CODES.items()}


def code(outcome: str | None) -> str:
    return NONE_CODE if outcome is None else OUTCOME_CODES.get(outcome, "?")


def outcome(value: str) -> str | None:
    return None if value == NONE_CODE else BY_CODE.get(value, value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    return {"columns": list(columns), "rows": [list(r) for r in rows]}


def rows_of(data: Any) -> list[dict[str, Any]]:
    """A table as one dict per row (a list of dicts, as schema /2 stored it, passes through)."""
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return []
    columns = data.get("columns", [])
    return [dict(zip(columns, row)) for row in data.get("rows", [])]


class Messages:
    """Every message text once: an index stands for it."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: str | None) -> int | None:
        if not text:
            return None
        if text not in self._index:
            self._index[text] = len(self.texts)
            self.texts.append(text)
        return self._index[text]


def pack_history(history: dict[str, Any]) -> dict[str, Any]:
    """History with its outcomes as ``{"cells": [ids], "features": {key: ["PPF.", ...]}}``:
    per feature one string per cell (in "cells" order), one character per run."""
    outcomes = history.get("outcomes", {})
    cells = sorted({cid for per in outcomes.values() for cid in per})
    index = {cid: i for i, cid in enumerate(cells)}
    packed = {}
    for key, per in outcomes.items():
        strings = [""] * len(cells)
        for cid, seq in per.items():
            strings[index[cid]] = "".join(code(x) for x in seq)
        packed[key] = strings
    return {**history, "outcomes": {"cells": cells, "features": packed}}


def unpack_history(history: dict[str, Any]) -> dict[str, Any]:
    """:func:`pack_history` undone (a history of schema /2 passes through)."""
    outcomes = history.get("outcomes", {})
    if not (isinstance(outcomes, dict) and "cells" in outcomes and "features" in outcomes):
        return history
    cells = outcomes["cells"]
    return {
        **history,
        "outcomes": {
            key: {cid: [outcome(c) for c in s] for cid, s in zip(cells, strings) if s}
            for key, strings in outcomes["features"].items()
        },
    }
