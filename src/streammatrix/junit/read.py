"""Per-cell JUnit files -> cell records.

Every cell of a run leaves one JUnit file (see :mod:`streammatrix.junit.write`); CI shards leave
several directories of them. :func:`load_cells` reads them all and turns whatever is wrong with
one file (truncated, not JUnit, a second file for the same cell, no cell properties) into a
warning that names the file, so one bad artifact never hides the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from xml.etree.ElementTree import ParseError

from junitparser import (
    JUnitXml,
    JUnitXmlError,
    TestCase,
)
from junitparser import TestSuite as JUnitSuite

from streammatrix.errors import MergeError
from streammatrix.junit.format import PLACEHOLDER_CLASSNAME, case_outcome, properties
from streammatrix.junit.records import CellRecord, TestRecord
from streammatrix.plugin import outcomes as o

# Which file wins when two describe the same cell: one that ran beats one that did not.
_STATUS_RANK = {o.CELL_OK: 0, o.CELL_ERROR: 1, o.CELL_SKIPPED: 2, o.CELL_EXCLUDED: 3}
_CELL_PROPERTIES = (o.SUITE_CELL, o.SUITE_SERVER_NAME, o.SUITE_CLIENT_VERSION)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _test_record(case: TestCase, props: dict[str, str], problems: list[str]) -> TestRecord:
    outcome, problem = case_outcome(case, props)
    if problem:
        problems.append(problem)
    result = next(iter(case.result), None)
    return TestRecord(
        classname=case.classname or "",
        name=case.name or "",
        feature=props.get(o.CASE_FEATURE) or _feature_from_name(case.name or ""),
        outcome=outcome,
        since=props.get(o.CASE_SINCE, ""),
        reason=props.get(o.CASE_REASON, ""),
        message=(result.message or "") if result is not None else "",
        text=(result.text or "") if result is not None else "",
        seconds=case.time or 0.0,
        latency_ms=_float(props.get(o.CASE_LATENCY_MS)),
        latency_target_ms=_float(props.get(o.CASE_LATENCY_TARGET_MS)),
        properties=props,
    )


def _feature_from_name(name: str) -> str:
    base = name.split("[", 1)[0]
    return base[len("test_") :] if base.startswith("test_") else base


def _record(suite: JUnitSuite, path: Path, warnings: list[str]) -> CellRecord:
    props = properties(suite)
    cell_id = props.get(o.SUITE_CELL) or (suite.name if suite.name not in (None, "pytest") else "")
    cell_id = cell_id or path.stem
    missing = [name for name in _CELL_PROPERTIES if not props.get(name)]
    if missing and props.get(o.SUITE_CELL_STATUS, o.CELL_OK) == o.CELL_OK:
        warnings.append(
            f"{path}: testsuite {cell_id!r} lacks the cell properties {', '.join(missing)} "
            "(was it written without the streammatrix plugin?); merged with unknown versions"
        )
    record = CellRecord(cell_id, path, props, time=suite.time or 0.0)
    problems: list[str] = []
    unnamed = 0
    for case in suite:
        case_props = properties(case)
        if o.CASE_FEATURE not in case_props and (
            record.status != o.CELL_OK or case.classname == PLACEHOLDER_CLASSNAME
        ):
            # The runner's stand-in for a cell that did not run: its message is the cell's.
            result = next(iter(case.result), None)
            record.detail = case.system_err or (result.text if result is not None else "") or ""
            continue
        unnamed += o.CASE_FEATURE not in case_props
        record.tests.append(_test_record(case, case_props, problems))
    if unnamed:
        problems.append(f"{unnamed} test(s) without a 'feature' property (named after the test)")
    warnings.extend(f"{path}: cell {cell_id!r}: {problem}" for problem in problems)
    return record


def read_file(path: Path) -> tuple[list[CellRecord], list[str]]:
    """The cells of one JUnit file (usually one; a merged file holds many), and its warnings."""
    try:
        xml = JUnitXml.fromfile(str(path))
    except ParseError as exc:
        raise MergeError(f"{path}: not well-formed XML ({exc}); truncated or not JUnit?") from exc
    except JUnitXmlError as exc:
        raise MergeError(
            f"{path}: not a JUnit XML file (no <testsuites>/<testsuite> root)"
        ) from exc
    except OSError as exc:
        raise MergeError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    warnings: list[str] = []
    suites = list(xml)
    if not suites:
        raise MergeError(f"{path}: a JUnit file without any <testsuite>")
    return [_record(suite, path, warnings) for suite in suites], warnings


def _files(paths: Iterable[str | Path], skip: set[Path], warnings: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.xml") if p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            warnings.append(f"{path}: no such file or directory")
    unique: list[Path] = []
    for path in found:
        if path.resolve() not in skip and path not in unique:
            unique.append(path)
    return unique


def load_cells(
    paths: Iterable[str | Path], *, skip: Iterable[Path] = ()
) -> tuple[list[CellRecord], list[str]]:
    """Read every per-cell JUnit file under ``paths`` (a directory: its ``*.xml``, recursively).

    Returns the cells in file order and the warnings, each naming its file. ``skip`` are files
    never to read (e.g. the merged ``junit.xml`` a previous report left inside an input
    directory).
    """
    warnings: list[str] = []
    cells: dict[str, CellRecord] = {}
    skipped = {Path(p).resolve() for p in skip}
    for path in _files(paths, skipped, warnings):
        try:
            records, problems = read_file(path)
        except MergeError as exc:
            warnings.append(f"{exc}; skipped")
            continue
        warnings.extend(problems)
        for record in records:
            kept = cells.get(record.id)
            if kept is None:
                cells[record.id] = record
                continue
            better = _STATUS_RANK.get(record.status, 9) < _STATUS_RANK.get(kept.status, 9)
            winner, loser = (record, kept) if better else (kept, record)
            cells[record.id] = winner
            warnings.append(
                f"{loser.source}: cell {record.id!r} also comes from {winner.source} "
                f"({winner.status}); kept that one, ignored this ({loser.status})"
            )
    if not cells:
        warnings.append("no cell results found in " + ", ".join(str(p) for p in paths))
    return list(cells.values()), warnings
