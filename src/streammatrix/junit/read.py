"""Per-cell JUnit files -> cell records.

Every cell of a run leaves one JUnit file (see :mod:`streammatrix.junit.write`); CI shards leave
several directories of them. :func:`load_cells` reads them all; one bad artifact never hides the
others. A file without cell properties, a foreign XML file or the same results twice is a
warning that names the file; a cell file that cannot be read becomes an error cell (its results
are lost) and two files that disagree about one cell a conflict on it (see
:mod:`~streammatrix.junit.conflicts`), so neither can go unnoticed. So does a cell whose values
cannot be read (``time="abc"``, an unknown ``cell.status``): every number and name the report
reads from a cell file is checked here, once, and such a cell is an error cell naming its file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from xml.etree.ElementTree import ParseError

from junitparser import (
    JUnitXml,
    JUnitXmlError,
    TestCase,
)
from junitparser import TestSuite as JUnitSuite

from streammatrix.errors import MergeError
from streammatrix.junit.conflicts import lost_cell, merge_duplicate
from streammatrix.junit.format import CELL_ID, PLACEHOLDER_CLASSNAME, case_outcome, properties
from streammatrix.junit.records import CellRecord, TestRecord
from streammatrix.plugin import outcomes as o

_CELL_PROPERTIES = (o.SUITE_CELL, o.SUITE_SERVER_NAME, o.SUITE_CLIENT_VERSION)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


# Properties the report reads as numbers or as one of a few names: checked before it reads them.
_SECONDS = (o.SUITE_CELL_SECONDS, o.SUITE_CELL_RERUN_SECONDS)
_CASE_NUMBERS = (o.CASE_LATENCY_MS, o.CASE_LATENCY_TARGET_MS)
_NAMES = {
    o.SUITE_CELL_STATUS: o.CELL_STATUSES,
    o.SUITE_CELL_BISECT_AXIS: o.BISECT_AXES,
    o.SUITE_CELL_START: o.START_METHODS,
}
_COUNTS = (o.SUITE_CELL_BISECT_STEP,)
_COUNT = re.compile(r"[0-9]{1,9}")  # ASCII digits, few enough for int() (at most 4300)


def _number_problem(what: str, read: Callable[[], object]) -> str:
    """Why ``read()`` is not a finite number of at least 0 ("" when it is, or is absent)."""
    try:
        value = read()
        if value in (None, ""):
            return ""
        number = float(value)  # type: ignore[arg-type]
    except (ValueError, TypeError, OverflowError) as exc:
        return f"{what} is not a number ({exc})"
    if not math.isfinite(number) or number < 0:
        return f"{what} is {str(value)[:80]!r}, not a number of at least 0"
    return ""


def unreadable(
    suite: JUnitSuite, props: dict[str, str], cases: list[tuple[TestCase, dict[str, str]]]
) -> str:
    """What in one cell's ``<testsuite>`` (its ``cases``, each with its properties) cannot be
    read as the report reads it ("" if all)."""
    problems = [_number_problem("testsuite time", lambda: suite.time)]
    problems += [_number_problem(f"property {n}", lambda n=n: props.get(n)) for n in _SECONDS]
    for name, allowed in _NAMES.items():
        if props.get(name) and props[name] not in allowed:
            problems.append(
                f"property {name} is {props[name][:80]!r}, not one of {', '.join(allowed)}"
            )
    for name in _COUNTS:
        if props.get(name) and not _COUNT.fullmatch(props[name]):
            problems.append(
                f"property {name} is {props[name][:80]!r}, not a whole number of 1-9 digits"
            )
    for case, case_props in cases:
        label = f"test {(case.name or '')[:80]!r}"
        problems.append(_number_problem(f"{label}: time", lambda case=case: case.time))
        problems += [
            _number_problem(f"{label}: property {n}", lambda n=n, p=case_props: p.get(n))
            for n in _CASE_NUMBERS
        ]
    return next((p for p in problems if p), "")


def _unreadable_cell(cell_id: str, path: Path, props: dict[str, str], problem: str) -> CellRecord:
    """An error cell for a cell whose values cannot be read: its coordinates, no results.

    A bisection cell's becomes a grid cell: the release ranges would not show its error."""
    checked = {*_SECONDS, *_NAMES, *_COUNTS, o.SUITE_CELL_BISECT}
    kept = {k: v for k, v in props.items() if k not in checked}
    kept[o.SUITE_CELL_STATUS] = o.CELL_ERROR
    kept[o.SUITE_CELL_REASON] = f"{path}: {problem}; the cell's results are lost"
    return CellRecord(cell_id, path, kept)


def _test_record(case: TestCase, props: dict[str, str], problems: list[str]) -> TestRecord:
    outcome, problem = case_outcome(case, props)
    if problem:
        problems.append(problem)
    result = next(iter(case.result), None)
    return TestRecord(
        classname=case.classname or "",
        name=case.name or "",
        feature=props.get(o.CASE_FEATURE) or own_feature(props.get(o.CASE_NODEID, ""), case.name),
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


def own_feature(nodeid: str, name: str | None) -> str:
    """The feature of a test without the feature mark: the test itself, as its node id names it
    within its file (``TestGroups::test_ack``, ``test_ack``), without its parameters; from the
    test's name alone when the file has no node id (``ack``)."""
    _, _, inside = nodeid.partition("::")
    if inside:
        return inside.split("[", 1)[0]
    base = (name or "").split("[", 1)[0]
    return base[len("test_") :] if base.startswith("test_") else base


class _ForeignFile(MergeError):
    """Well-formed XML that is not JUnit: another tool's file, unless named like a cell."""


def _record(suite: JUnitSuite, path: Path, warnings: list[str]) -> CellRecord:
    props = properties(suite)
    cell_id = props.get(o.SUITE_CELL) or (suite.name if suite.name not in (None, "pytest") else "")
    cell_id = cell_id or path.stem
    cases = [(case, properties(case)) for case in suite]  # read once: checked, then recorded
    problem = unreadable(suite, props, cases)
    if problem:
        warnings.append(f"{path}: cell {cell_id!r}: {problem}; shown as an error cell")
        return _unreadable_cell(cell_id, path, props, problem)
    missing = [name for name in _CELL_PROPERTIES if not props.get(name)]
    if missing and props.get(o.SUITE_CELL_STATUS, o.CELL_OK) == o.CELL_OK:
        warnings.append(
            f"{path}: testsuite {cell_id!r} lacks the cell properties {', '.join(missing)} "
            "(was it written without the streammatrix plugin?); merged with unknown versions"
        )
    record = CellRecord(cell_id, path, props, time=suite.time or 0.0)
    problems: list[str] = []
    for case, case_props in cases:
        if o.CASE_FEATURE not in case_props and (
            record.status != o.CELL_OK or case.classname == PLACEHOLDER_CLASSNAME
        ):
            # The runner's stand-in for a cell that did not run: its message is the cell's.
            result = next(iter(case.result), None)
            record.detail = case.system_err or (result.text if result is not None else "") or ""
            continue
        record.tests.append(_test_record(case, case_props, problems))
    warnings.extend(f"{path}: cell {cell_id!r}: {problem}" for problem in problems)
    return record


def read_file(path: Path) -> tuple[list[CellRecord], list[str]]:
    """The cells of one JUnit file (usually one; a merged file holds many), and its warnings."""
    return _read(path)


def _read(path: Path) -> tuple[list[CellRecord], list[str]]:
    try:
        xml = JUnitXml.fromfile(str(path))
    except ParseError as exc:
        raise MergeError(f"{path}: not well-formed XML ({exc}); truncated or not JUnit?") from exc
    except JUnitXmlError as exc:
        raise _ForeignFile(
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
    lost: dict[str, tuple[CellRecord, str]] = {}
    skipped = {Path(p).resolve() for p in skip}
    for path in _files(paths, skipped, warnings):
        try:
            records, problems = _read(path)
        except MergeError as exc:
            if isinstance(exc, _ForeignFile) and not CELL_ID.fullmatch(path.stem):
                warnings.append(f"{exc}; skipped")
            else:
                record = lost_cell(path, str(exc).removeprefix(f"{path}: "))
                lost.setdefault(record.id, (record, str(exc)))
            continue
        warnings.extend(problems)
        for record in records:
            kept = cells.get(record.id)
            cells[record.id] = record if kept is None else merge_duplicate(kept, record, warnings)
    for cell_id, (record, problem) in lost.items():
        if cell_id in cells:  # another copy of the same cell was read: nothing is lost
            warnings.append(f"{problem}; skipped, {cells[cell_id].source} has cell {cell_id!r}")
        else:
            cells[cell_id] = record
    if not cells:
        warnings.append("no cell results found in " + ", ".join(str(p) for p in paths))
    return list(cells.values()), warnings
