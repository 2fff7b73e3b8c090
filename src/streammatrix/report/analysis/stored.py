"""The compact shape report.json stores a run in (schema ``streammatrix-report/3``): what the
JSON view writes and the baseline reads back, so its format has this one home.

- a *table* is ``{"columns": [...], "rows": [[...], ...]}``: keys once, not once per row;
- an outcome is one character (``vocabulary.OUTCOME_CODES``): a cell's test outcomes and a
  feature's grid are each one string, in the order of the cell / test tables;
- history keeps its cell ids once and one string per feature and run.

Reading it back (:func:`expand`) is strict: a row that is not as long as its columns, a code
that is no outcome's, an index past its table, a code string not as long as what it stands
for is a ``ValueError`` saying where, never a silently shorter or shifted baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from streammatrix.report.analysis.vocabulary import OUTCOME_CODES

NONE_CODE = "."  # no result in that run / cell
BY_CODE = {code: outcome for outcome, code in OUTCOME_CODES.items()}


def code(outcome: str | None) -> str:
    return NONE_CODE if outcome is None else OUTCOME_CODES.get(outcome, "?")


UNKNOWN_CODE = "?"  # an outcome this version has no code for (written as it is read)


def outcome(value: str) -> str | None:
    if value == NONE_CODE:
        return None
    if value in BY_CODE:
        return BY_CODE[value]
    if value == UNKNOWN_CODE:
        return value
    raise ValueError(f"outcome code {value!r} is none of {''.join(BY_CODE)}{NONE_CODE}")


def _codes(text: Any, length: int, where: str) -> str:
    """A code string of ``length`` codes (one per cell / test / run)."""
    if not isinstance(text, str) or len(text) != length:
        raise ValueError(f"{where}: {length} outcome code(s) expected, got {text!r:.60}")
    return text


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    return {"columns": list(columns), "rows": [list(r) for r in rows]}


def rows_of(data: Any, name: str = "table") -> list[dict[str, Any]]:
    """A table as one dict per row (a list of dicts, as schema /2 stored it, passes through;
    no table is no rows). A row not as long as the columns is a ``ValueError``."""
    if isinstance(data, list):
        return data
    if data is None:
        return []
    columns, rows = (data.get("columns"), data.get("rows")) if isinstance(data, dict) else (0, 0)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ValueError(f"{name}: not a table (no list of column names)")
    if not isinstance(rows, list):
        raise ValueError(f"{name}: not a table (no list of rows)")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise ValueError(f"{name}: row {i} is not {len(columns)} values, one per column")
    return [dict(zip(columns, row)) for row in rows]


def _at(items: Sequence[Any], index: Any, where: str) -> Any:
    """``items[index]`` for an index that is one (no bool, no negative, none past the end)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(items):
        raise ValueError(f"{where}: index {index!r:.20} is not one of its {len(items)} entries")
    return items[index]


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
    if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
        raise ValueError("history: its cells are not a list of cell ids")
    for key, strings in outcomes["features"].items():
        if not isinstance(strings, list) or len(strings) != len(cells):
            raise ValueError(f"history: {key!r:.60}: not one code string per cell")
    return {
        **history,
        "outcomes": {
            key: {cid: [outcome(c) for c in s] for cid, s in zip(cells, strings) if s}
            for key, strings in outcomes["features"].items()
        },
    }


def _text(messages: list[str], index: Any) -> str:
    return "" if index is None else _at(messages, index, "messages")


def _cell(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "status": row.get("status", "ok"),
        "reason": row.get("reason", ""),
        "server": {
            "entry": row.get("server_entry", ""),
            "name": row.get("server_name", ""),
            "version": row.get("server_version", ""),
            "redis_version": row.get("server_redis_version", ""),
            "measured": row.get("server_measured", False),
        },
        "client": {
            "entry": row.get("client_entry", ""),
            "name": row.get("client_name", ""),
            "version": row.get("client_version", ""),
            "measured": row.get("client_measured", False),
        },
        "python": {"entry": row.get("python_entry", ""), "version": row.get("python_version", "")},
        "protocol": {
            "claimed": row.get("protocol", ""),
            "resp": row.get("resp", ""),
            "label": row.get("axis_protocol", ""),
        },
        "parser": {
            "claimed": row.get("parser", ""),
            "classes": row.get("parser_classes", ""),
            "label": row.get("axis_parser", ""),
        },
        **{k: row.get(k) for k in ("provider", "seconds", "log", "source", "counts")},
    }


def _tests(cells: list[dict[str, Any]], tests: list[dict[str, Any]], messages: list[str]):
    out = []
    for cell in cells:
        where = f"cells: {cell['id']!r:.60}"
        indexes = cell.get("tests") or []
        letters = _codes(cell.get("outcomes") or "", len(indexes), where)
        notes = {}
        for n in cell.get("notes") or []:
            if not isinstance(n, list) or len(n) != len(_NOTE):
                raise ValueError(f"{where}: a note is not {len(_NOTE)} values ({', '.join(_NOTE)})")
            notes[_at(range(len(indexes)), n[0], f"{where}: note")] = n
        seconds = cell.get("test_seconds") or []
        for position, (index, letter) in enumerate(zip(indexes, letters)):
            note = notes.get(position, [position, None, None, None])
            expected = _text(messages, note[3]) or None
            outcome_ = outcome(letter) or ""
            out.append(
                {
                    "cell": cell["id"],
                    **_at(tests, index, f"{where}: tests"),
                    "outcome": outcome_,
                    "shown": "expected-failure" if expected else outcome_,
                    "expected": expected,
                    "reason": _text(messages, note[1]),
                    "message": _text(messages, note[2]),
                    "seconds": seconds[position] if position < len(seconds) else 0.0,
                }
            )
    return out


_NOTE = ("test", "reason", "message", "expected")


def _with_message(rows: list[dict[str, Any]], messages: list[str]) -> list[dict[str, Any]]:
    return [{**row, "message": _text(messages, row.get("message"))} for row in rows]


def expand(data: dict[str, Any]) -> dict[str, Any]:
    """A schema /3 report.json in the plain shape of schema /2 (one dict per cell, test,
    feature, result, line; outcomes and messages spelled out), for the baseline reader and
    for scripts; any other schema is returned as it is."""
    if not str(data.get("schema", "")).endswith("/3") or isinstance(data.get("cells"), list):
        return data  # another schema, or expanded already
    messages = data.get("messages") or []
    if not isinstance(messages, list):
        raise ValueError("messages: not a list")
    rows = rows_of(data.get("cells"), "cells")
    cells = [_cell(row) for row in rows]
    features = []
    for feature in rows_of(data.get("features"), "features"):
        grid = _codes(feature.get("grid") or "", len(rows), f"features: {feature.get('key')!r:.60}")
        features.append(
            {
                **feature,
                "grid": {c["id"]: outcome(x) for c, x in zip(rows, grid) if x != NONE_CODE},
                "breaks": [
                    {"cell": b[0], "outcome": b[1], "expected": b[2]}
                    for b in feature.get("breaks") or []
                ],
            }
        )
    ranges = dict(data.get("ranges") or {})
    lines = rows_of(ranges.get("lines"), "ranges.lines")
    if lines or "features" in ranges:
        ranges["features"] = [
            _range(f, _at(lines, f["line"], "ranges.features: line"))
            for f in rows_of(ranges.get("features"), "ranges.features")
        ]
        ranges["supported"] = [
            {**_line(_at(lines, s["line"], "ranges.supported: line")), **s}
            for s in ranges.get("supported") or []
        ]
    return {
        **data,
        "cells": cells,
        "tests": _tests(rows, rows_of(data.get("tests"), "tests"), messages),
        "features": features,
        "latencies": rows_of(data.get("latencies"), "latencies"),
        "unexpected": _with_message(rows_of(data.get("unexpected"), "unexpected"), messages),
        "facts": _with_message(rows_of(data.get("facts"), "facts"), messages),
        "causes": _with_message(data.get("causes") or [], messages),
        "protocol_dependent": [
            {
                **d,
                "sides": [
                    {
                        "cell": s[0],
                        "protocol": s[1],
                        "resp": s[2],
                        "outcome": s[3],
                        "message": _text(messages, s[4]),
                    }
                    for s in d.get("sides") or []
                ],
            }
            for d in rows_of(data.get("protocol_dependent"), "protocol_dependent")
        ],
        "parser_dependent": [
            {
                **d,
                "sides": [
                    {
                        "cell": s[0],
                        "parser": s[1],
                        "classes": s[2],
                        "outcome": s[3],
                        "message": _text(messages, s[4]),
                    }
                    for s in d.get("sides") or []
                ],
            }
            for d in rows_of(data.get("parser_dependent"))
        ],
        "history": unpack_history(data["history"]) if data.get("history") else {},
        "ranges": ranges,
    }


def _line(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k != "measured"}


def _range(feature: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    releases, measured = line.get("releases") or [], set(line.get("measured") or [])
    spans = []
    for outcome_, first, last in feature.get("spans") or []:
        inside = releases[releases.index(first) : releases.index(last) + 1]
        spans.append({"outcome": outcome_, "first": first, "last": last, "releases": inside,
                      "measured": [r for r in inside if r in measured]})  # fmt: skip
    return {**_line(line), **{k: v for k, v in feature.items() if k != "line"}, "spans": spans}
