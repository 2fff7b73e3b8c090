"""What changed since an earlier report.json: newly failing, newly passing, new and gone cells.

Results are compared per (cell id, test id) on the *measured* outcome, so adding or dropping an
expectation in matrix.yaml is not a change. A cell that ran before and could not run now is a
new failure too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema

from streammatrix.errors import ConfigError
from streammatrix.plugin import outcomes as o
from streammatrix.report.model import BaselineDiff, Change, Report, Unexpected
from streammatrix.report.vocabulary import KIND_MINIMUM_RAISED, KIND_NEWLY_FAILING
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
READABLE = {"streammatrix-report/1": _READ, "streammatrix-report/2": _READ}


class BaselineError(ConfigError):
    """The baseline file is not a report.json this version understands (a usage error)."""


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


def diff(report: Report, baseline: dict[str, Any]) -> BaselineDiff:
    """Compare ``report`` with an earlier report.json's data."""
    result = BaselineDiff(source=str(baseline.get("source", "")))
    baseline.setdefault("minimum", [])
    before_cells = {c["id"]: c.get("status", o.CELL_OK) for c in baseline.get("cells", [])}
    before_tests = {(t["cell"], t["id"]): t for t in baseline.get("tests", [])}
    now_cells = {c.id: c for c in report.cells}
    result.new_cells = [cid for cid in now_cells if cid not in before_cells]
    result.gone_cells = [cid for cid in before_cells if cid not in now_cells]
    for cell in report.cells:
        was = before_cells.get(cell.id)
        if was is None:
            continue
        if cell.status == o.CELL_ERROR and was == o.CELL_OK:
            result.new_failures.append(Change(cell.id, "", "", was, o.ERROR, cell.note))
        elif cell.status == o.CELL_OK and was == o.CELL_ERROR:
            result.new_passes.append(Change(cell.id, "", "", was, o.CELL_OK))
        for test in cell.record.tests:
            old = before_tests.get((cell.id, test.id))
            if old is None:
                continue
            before = old.get("outcome", "")
            change = Change(cell.id, test.id, test.feature, before, test.outcome)
            if test.outcome in _FAILING and before not in _FAILING:
                change.message = test.message or test.reason
                result.new_failures.append(change)
            elif test.outcome == o.PASS and before != o.PASS:
                result.new_passes.append(change)
    return result


def _raised(before: str | None, after: str | None) -> bool:
    """A minimum moved up: a newer version, or none at all where there was one."""
    if not before:
        return False
    if not after:
        return True
    old, new = parse(before), parse(after)
    return old is not None and new is not None and new > old


def minimum_raised(report: Report, baseline: dict[str, Any]) -> list[Unexpected]:
    """Each minimum supported version (server or client, per family pair) higher than before."""
    before = {(m.get("server_family"), m.get("client_family")): m for m in baseline["minimum"]}
    found = []
    for m in report.minimums:
        old = before.get((m.server_family, m.client_family))
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
                        message=f"minimum {name} was {old[side]}, now {now or 'none'} "
                        f"(with {m.server_family}/{m.client_family})",
                    )
                )
    return found


def newly_failing(diff: BaselineDiff) -> list[Unexpected]:
    """The diff's new failures as unexpected results."""
    return [
        Unexpected(KIND_NEWLY_FAILING, c.cell, c.after, c.feature, c.test, c.before, c.message)
        for c in diff.new_failures
    ]
