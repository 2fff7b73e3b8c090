"""What changed since an earlier report.json: newly failing, newly passing, new cells, raised
minimums, and what tonight's run could not compare.

Reading a baseline lives here and only here: :func:`load_baseline` reads the file,
:func:`validate_baseline` checks it has the shape the reader reads (a compact ``/3`` file
expanded first), :func:`read` turns any schema this version understands
(``streammatrix-report/1``, ``/2`` and ``/3``) into one :class:`Baseline`, which the diff and
the history use.

Results are compared per (cell id, test id) on the *measured* outcome, so adding or dropping an
expectation in matrix.yaml is not a change. A cell that ran before and could not run now is a
new failure too. A baseline cell that did not run tonight is not "gone": tonight's run (a
shard, a narrower selection) could not compare it, and the diff says which lines those are.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from streammatrix.errors import ConfigError
from streammatrix.plugin import outcomes as o
from streammatrix.report.analysis import stored
from streammatrix.report.analysis.model import BaselineDiff, Change, Report, Unexpected
from streammatrix.report.analysis.vocabulary import KIND_MINIMUM_RAISED, KIND_NEWLY_FAILING
from streammatrix.versions import CLIENT_LABELS, SERVER_LABELS, parse

SCHEMA_PREFIX = "streammatrix-report/"
_FAILING = (o.FAIL, o.ERROR)
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,60}")

# What the baseline reader reads of a report.json, and nothing more: report.schema.json
# describes what this version *writes* (every key required, one version only), so it would
# refuse a /1 file and a /2 file written before a key was added. An outcome or status this
# version does not know is only compared as text, so it is a string here, not an enum.
_TEXT = {"type": "string"}
_VERSION = {"type": ["string", "null"]}
_OUTCOMES = {"type": "array", "items": {"type": ["string", "null"]}}
_READ = {
    "type": "object",
    "required": ["schema", "cells", "tests", "minimum", "features"],
    "properties": {
        "generated": {"type": ["string", "null"]},
        "cells": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": _TEXT, "status": _TEXT},
            },
        },
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["cell", "id"],
                "properties": {"cell": _TEXT, "id": _TEXT, "outcome": _TEXT},
            },
        },
        "minimum": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["server_family", "client_family"],
                "properties": {
                    "server_family": _TEXT,
                    "client_family": _TEXT,
                    "server": _VERSION,
                    "client": _VERSION,
                },
            },
        },
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key"],
                "properties": {
                    "key": _TEXT,
                    "grid": {"type": "object", "additionalProperties": _VERSION},
                    "min_server": {"type": "object", "additionalProperties": _VERSION},
                    "min_client": {"type": "object", "additionalProperties": _VERSION},
                },
            },
        },
        "history": {  # /2 on (absent in early /1 files: history.py builds one run from them)
            "type": "object",
            "required": ["runs", "outcomes", "minimums", "feature_minimums"],
            "properties": {
                "runs": {"type": "array", "items": _TEXT},
                "outcomes": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "additionalProperties": _OUTCOMES},
                },
                "minimums": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"server": _VERSION, "client": _VERSION, "changed": _TEXT},
                    },
                },
                "feature_minimums": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "min_server": {"type": "object"},
                            "min_client": {"type": "object"},
                            "changed": _TEXT,
                        },
                    },
                },
            },
        },
    },
}
# Each report.json version this reader understands -> the shape it reads. A new version plugs
# in here (with a conversion in validate_baseline if the reader's keys moved).
# /3 is compact (tables, codes): validate_baseline expands it to the plain shape first.
READABLE = {
    "streammatrix-report/1": _READ,
    "streammatrix-report/2": _READ,
    "streammatrix-report/3": _READ,
}


class BaselineError(ConfigError):
    """The baseline file is not a report.json this version understands (a usage error)."""


@dataclass
class BaselineCell:
    status: str
    server: str = ""  # the matrix.yaml entries, to name what could not be compared
    client: str = ""
    protocol: str = ""  # the protocol claim ("" = none)


@dataclass
class Baseline:
    """An earlier report.json, whatever its schema: what the diff and the history need."""

    source: str = ""
    generated: str | None = None
    cells: dict[str, BaselineCell] = field(default_factory=dict)
    tests: dict[tuple[str, str], str] = field(default_factory=dict)  # (cell, test) -> outcome
    minimums: list[dict[str, Any]] = field(default_factory=list)  # as report.json's "minimum"
    features: list[dict[str, Any]] = field(default_factory=list)  # key, grid, min_server, ...
    history: dict[str, Any] | None = None


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read an earlier report.json; a clear :class:`BaselineError` if it is not one."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a directory, /dev/zero, a pipe
        raise BaselineError(f"baseline {path}: not a file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"baseline {path}: cannot be read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise BaselineError(f"baseline {path}: not JSON ({exc})") from exc
    except RecursionError:
        raise BaselineError(f"baseline {path}: not JSON (nested too deeply)") from None
    data = validate_baseline(data, path)
    data.setdefault("source", str(path))
    return data


def validate_baseline(data: Any, path: str | Path) -> dict[str, Any]:
    """``data`` if it is a report.json of a version this reader knows, in the shape the
    comparison and the history read; else one :class:`BaselineError` naming the file, the key
    and what is wrong with it."""
    schema = data.get("schema", "") if isinstance(data, dict) else ""
    if not str(schema).startswith(SCHEMA_PREFIX):
        raise BaselineError(
            f"baseline {path}: not a streammatrix report.json (schema {schema!r}, "
            f"expected {SCHEMA_PREFIX}N)"
        )
    shape = READABLE.get(schema)
    if shape is None:
        raise BaselineError(
            f"baseline {path}: schema {schema!r} is not one this version reads "
            f"({', '.join(READABLE)}); a newer streammatrix wrote it?"
        )
    try:
        data = stored.expand(data)  # /3: the plain shape the reader reads
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise BaselineError(
            f"baseline {path}: not the shape of a {schema} file ({type(exc).__name__}: {exc})"
        ) from exc
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(shape).iter_errors(data)
    )
    if error is not None:
        raise BaselineError(f"baseline {path}: {_where(error)}{_problem(error)}")
    return data


def _where(error: jsonschema.ValidationError) -> str:
    """``cells[0].id: `` for the value at fault ("" for the top level)."""
    out = ""
    for key in error.absolute_path:
        if isinstance(key, int) or not _PLAIN.fullmatch(key):  # a hostile key stays one line
            out += f"[{key!r}]"
        else:
            out += f".{key}" if out else key
    return f"{out}: " if out else ""


def _problem(error: jsonschema.ValidationError) -> str:
    value = error.instance
    if error.validator == "required":
        return f"{error.message.split(' is a required', 1)[0]} is missing (a truncated file?)"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        shown = json.dumps(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return f"expected {expected}, got {shown}"
    return error.message[:200]


def read(data: dict[str, Any]) -> Baseline:
    """Any report.json this version understands as one :class:`Baseline`; a clear
    :class:`BaselineError` for one whose parts are not the shape its schema says."""
    try:
        return _read(data)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise BaselineError(
            f"baseline {data.get('source') or 'report.json'}: not the shape of a "
            f"{data.get('schema', 'streammatrix-report')} file ({type(exc).__name__}: {exc})"
        ) from exc


def _read(data: dict[str, Any]) -> Baseline:
    data = stored.expand(data)  # schema /3 in the plain shape of /2: one reader for all
    found = Baseline(source=str(data.get("source", "")), generated=data.get("generated"))
    found.minimums = list(data.get("minimum") or [])
    history = data.get("history")
    if isinstance(history, dict) and isinstance(history.get("runs"), list):
        found.history = stored.unpack_history(history)
    for cell in data.get("cells") or []:
        found.cells[cell["id"]] = BaselineCell(
            cell.get("status", o.CELL_OK),
            (cell.get("server") or {}).get("entry", ""),
            (cell.get("client") or {}).get("entry", ""),
            (cell.get("protocol") or {}).get("claimed", ""),
        )
    for test in data.get("tests") or []:
        found.tests[(test["cell"], test["id"])] = test.get("outcome", "")
    found.features = list(data.get("features") or [])
    return found


def diff(report: Report, baseline: Baseline) -> BaselineDiff:
    """Compare ``report`` with an earlier report.json's data."""
    result = BaselineDiff(source=baseline.source)
    before_cells = baseline.cells
    now_cells = {c.id: c for c in report.cells}
    result.new_cells = [cid for cid in now_cells if cid not in before_cells]
    result.gone_cells = [cid for cid in before_cells if cid not in now_cells]
    result.not_compared = not_compared(baseline, set(now_cells))
    for cell in report.cells:
        was = before_cells[cell.id].status if cell.id in before_cells else None
        if was is None:
            continue
        if cell.status == o.CELL_ERROR and was == o.CELL_OK:
            result.new_failures.append(Change(cell.id, "", "", was, o.ERROR, cell.note))
        elif cell.status == o.CELL_OK and was == o.CELL_ERROR:
            result.new_passes.append(Change(cell.id, "", "", was, o.CELL_OK))
        for test in cell.record.tests:
            before = baseline.tests.get((cell.id, test.id))
            if before is None:
                continue
            change = Change(cell.id, test.id, test.feature, before, test.outcome)
            if test.outcome in _FAILING and before not in _FAILING:
                change.message = test.message or test.reason
                result.new_failures.append(change)
            elif test.outcome == o.PASS and before != o.PASS:
                result.new_passes.append(change)
    return result


def not_compared(baseline: Baseline, now: set[str]) -> list[str]:
    """The baseline's lines tonight did not run, in words: a whole server entry, client entry
    or protocol ("server redis-7.2: 12 cell(s)", "protocol RESP3: 96 cell(s)"), else the cells
    one by one."""
    gone = {cid: c for cid, c in baseline.cells.items() if cid not in now}
    if not gone:
        return []
    out: list[str] = []
    sides = (
        ("server", lambda c: c.server),
        ("client", lambda c: c.client),
        ("protocol", lambda c: f"RESP{c.protocol}" if c.protocol else ""),
    )
    whole = []  # (side, value, its cells) where tonight ran none of the value's cells
    for side, value in sides:
        every: dict[str, list[str]] = defaultdict(list)
        for cid, cell in baseline.cells.items():
            every[value(cell)].append(cid)
        whole += [(side, v, ids) for v, ids in every.items() if v and all(i in gone for i in ids)]
    for side, entry, ids in sorted(whole, key=lambda w: (-len(w[2]), w[0], w[1])):
        if all(i in gone for i in ids):  # the largest first: none named twice
            out.append(f"{side} {entry}: {len(ids)} cell(s)")
            for cid in ids:
                gone.pop(cid)
    out.extend(f"cell {cid}" for cid in gone)
    return out


def _raised(before: str | None, after: str | None) -> bool:
    """A minimum moved up: a newer version, or none at all where there was one."""
    if not before:
        return False
    if not after:
        return True
    old, new = parse(before), parse(after)
    return old is not None and new is not None and new > old


def minimum_key(server_family: str, client_family: str, protocol: str = "") -> str:
    """The key of one minimum in history and baseline: ``redis/redis`` + ``/RESP3``."""
    key = f"{server_family}/{client_family}"
    return f"{key}/RESP{protocol}" if protocol else key


def _key_of(m: dict[str, Any]) -> str:
    return minimum_key(m.get("server_family", ""), m.get("client_family", ""),
                       m.get("protocol") or "")  # fmt: skip


def minimum_raised(report: Report, baseline: Baseline) -> list[Unexpected]:
    """Each minimum supported version (server or client, per family pair and protocol) higher
    than before, red with the old and the new value."""
    before = {_key_of(m): m for m in baseline.minimums}
    found = []
    for m in report.minimums:
        key = minimum_key(m.server_family, m.client_family, m.protocol)
        old = before.get(key)
        if old is None:
            continue
        for side, labels, family, now in (
            ("server", SERVER_LABELS, m.server_family, m.server),
            ("client", CLIENT_LABELS, m.client_family, m.client),
        ):
            if _raised(old.get(side), now):
                name = labels.get(family, family)
                found.append(
                    Unexpected(
                        KIND_MINIMUM_RAISED,
                        "",
                        o.FAIL,
                        expected=old[side],
                        message=f"minimum {name} {old[side]} -> {now or 'none'} (with {key})",
                    )
                )
    return found


def minimums_not_compared(report: Report, baseline: Baseline) -> list[str]:
    """The baseline's minimums (family pair and protocol) no cell of tonight's run measured."""
    now = {minimum_key(m.server_family, m.client_family, m.protocol) for m in report.minimums}
    return [f"minimum {k}" for k in dict.fromkeys(_key_of(m) for m in baseline.minimums)
            if k not in now]  # fmt: skip


def newly_failing(diff: BaselineDiff) -> list[Unexpected]:
    """The diff's new failures as unexpected results."""
    return [
        Unexpected(KIND_NEWLY_FAILING, c.cell, c.after, c.feature, c.test, c.before, c.message)
        for c in diff.new_failures
    ]


__all__ = ["Baseline", "BaselineError", "diff", "load_baseline", "read"]
