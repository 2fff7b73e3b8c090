"""Per-cell JUnit files -> cell records, and cell records -> one merged JUnit file.

Every cell of a run leaves one JUnit file (see :mod:`streammatrix.cellfile`); CI shards leave
several directories of them. :func:`load_cells` reads them all and turns whatever is wrong with
one file (truncated, not JUnit, a second file for the same cell, no cell properties) into a
warning that names the file, so one bad artifact never hides the others. :func:`write_junit`
writes the merged file, one ``<testsuite>`` per cell, for CI test reporters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

from junitparser import (
    Error,
    Failure,
    JUnitXml,
    JUnitXmlError,
    Properties,
    Property,
    Skipped,
    TestCase,
)
from junitparser import TestSuite as JUnitSuite

from streammatrix import outcomes as o

__all__ = ["CellRecord", "MergeError", "TestRecord", "load_cells", "read_file", "write_junit"]

PLACEHOLDER_CLASSNAME = "streammatrix.cell"  # the runner's stand-in test of a cell that did not run
EXPECTED_PROPERTY = "expected"  # written on merged test cases that matrix.yaml expects to fail
# Which file wins when two describe the same cell: one that ran beats one that did not.
_STATUS_RANK = {o.CELL_OK: 0, o.CELL_ERROR: 1, o.CELL_SKIPPED: 2, o.CELL_EXCLUDED: 3}
_CELL_PROPERTIES = (o.SUITE_CELL, o.SUITE_SERVER_NAME, o.SUITE_CLIENT_VERSION)


class MergeError(ValueError):
    """A file cannot be merged; the message names the file and what is wrong with it."""


@dataclass
class TestRecord:
    """One test of one cell, as the plugin classified it."""

    __test__ = False  # not a pytest class

    classname: str
    name: str
    feature: str
    outcome: str
    since: str = ""
    reason: str = ""
    message: str = ""  # the failure/error/skip message (an assertion's first line)
    text: str = ""  # the failure/error body (traceback)
    seconds: float = 0.0
    latency_ms: float | None = None
    latency_target_ms: float | None = None
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.classname}::{self.name}"

    @property
    def class_name(self) -> str:
        """The test class without its module, e.g. ``TestSyncStreamsBasics``."""
        return self.classname.rsplit(".", 1)[-1]


@dataclass
class CellRecord:
    """One cell: its coordinates and measured versions (suite properties) and its tests."""

    id: str
    source: Path
    properties: dict[str, str]
    tests: list[TestRecord] = field(default_factory=list)
    detail: str = ""  # what the runner recorded for a cell that could not run
    time: float = 0.0

    def prop(self, name: str) -> str:
        return self.properties.get(name, "")

    server = property(lambda self: self.prop(o.SUITE_CELL_SERVER))
    client = property(lambda self: self.prop(o.SUITE_CELL_CLIENT))
    python = property(lambda self: self.prop(o.SUITE_CELL_PYTHON))
    server_name = property(lambda self: self.prop(o.SUITE_SERVER_NAME))
    server_version = property(lambda self: self.prop(o.SUITE_SERVER_VERSION))
    server_redis_version = property(lambda self: self.prop(o.SUITE_SERVER_REDIS_VERSION))
    client_name = property(lambda self: self.prop(o.SUITE_CLIENT_NAME))
    client_version = property(lambda self: self.prop(o.SUITE_CLIENT_VERSION))
    python_version = property(lambda self: self.prop(o.SUITE_PYTHON_VERSION))
    reason = property(lambda self: self.prop(o.SUITE_CELL_REASON))
    log = property(lambda self: self.prop(o.SUITE_CELL_LOG))
    provider = property(lambda self: self.prop(o.SUITE_CELL_PROVIDER))

    @property
    def status(self) -> str:
        """ok, error, excluded or skipped; a file without ``cell.status`` came from pytest: ok."""
        return self.prop(o.SUITE_CELL_STATUS) or o.CELL_OK

    @property
    def seconds(self) -> float:
        try:
            return float(self.prop(o.SUITE_CELL_SECONDS))
        except ValueError:
            return self.time


def _props(element: JUnitSuite | TestCase) -> dict[str, str]:
    props = element.child(Properties)
    return {p.name: p.value or "" for p in (props or ()) if p.name}


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _measured_outcome(case: TestCase) -> str:
    """The outcome of a test case that carries no ``outcome`` property (plain pytest JUnit)."""
    results = case.result
    if not results:
        return o.PASS
    first = results[0]
    if isinstance(first, Skipped):
        message = (first.message or "").strip()
        for outcome in (o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT):
            if message.startswith(outcome):
                return outcome
        return o.SKIPPED
    return o.ERROR if isinstance(first, Error) else o.FAIL


def _test_record(case: TestCase, props: dict[str, str], problems: list[str]) -> TestRecord:
    outcome = props.get(o.CASE_OUTCOME, "")
    if outcome not in o.TEST_OUTCOMES:
        if outcome:
            problems.append(f"test {case.name!r} has an unknown outcome {outcome!r}")
        outcome = _measured_outcome(case)
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
    props = _props(suite)
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
        case_props = _props(case)
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


def _case(test: TestRecord, expected: str | None) -> TestCase:
    case = TestCase(test.name, classname=test.classname, time=test.seconds)
    props = Properties()
    for name, value in {**test.properties, o.CASE_OUTCOME: test.outcome}.items():
        props.add_property(Property(name, value))
    if expected is not None:
        props.add_property(Property(EXPECTED_PROPERTY, expected))
    case.append(props)
    message = test.message or test.reason
    if expected is not None and test.outcome != o.PASS:
        case.result = [Skipped(f"expected-failure: {expected} ({test.outcome}: {message})")]
    elif test.outcome == o.FAIL:
        case.result = [Failure(message)]
    elif test.outcome == o.ERROR:
        case.result = [Error(message)]
    elif test.outcome in (o.UNSUPPORTED_SERVER, o.UNSUPPORTED_CLIENT):
        reason = test.message or f"{test.outcome}: {test.reason}"
        case.result = [Skipped(reason)]
    elif test.outcome == o.SKIPPED:
        case.result = [Skipped(message)]
    if test.text and case.result:
        case.result[0].text = test.text
    return case


def write_junit(
    cells: Iterable[CellRecord],
    path: str | Path,
    *,
    expected: Mapping[tuple[str, str], str] | None = None,
) -> Path:
    """Write one JUnit file: one ``<testsuite>`` per cell, named by the cell id.

    Every suite keeps its cell's properties. A cell that did not run gets one stand-in test case
    (an ``<error>`` for an error cell, a ``<skipped>`` otherwise), so CI reporters show it.
    ``expected`` maps (cell id, test id) to the reason matrix.yaml gives for an expected
    failure: such a test is written as skipped ("expected-failure: ..."), not failed.
    """
    expected = expected or {}
    xml = JUnitXml("streammatrix")
    for cell in cells:
        suite = JUnitSuite(cell.id)
        for name, value in cell.properties.items():
            suite.add_property(name, value)
        cases = [_case(t, expected.get((cell.id, t.id))) for t in cell.tests]
        if cell.status != o.CELL_OK:
            stand_in = TestCase("cell", classname=PLACEHOLDER_CLASSNAME, time=0.0)
            message = f"{cell.status}: {cell.reason}" if cell.reason else cell.status
            result = Error(message) if cell.status == o.CELL_ERROR else Skipped(message)
            stand_in.result = [result]
            if cell.detail:
                stand_in.system_err = cell.detail
            cases.append(stand_in)
        suite.add_testcases(cases)
        xml.add_testsuite(suite)
    xml.update_statistics()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    xml.write(str(target), pretty=True)
    return target
